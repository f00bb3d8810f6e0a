"""The tools package's public names are a decision, pinned here."""

import sandlot.tools


def test_the_tools_package_exports_exactly_these_names():
    assert sorted(sandlot.tools.__all__) == [
        "ErrorKind",
        "Tool",
        "ToolCall",
        "ToolContext",
        "ToolDefinitionError",
        "ToolError",
        "ToolOutcome",
        "Toolset",
        "invoke_tool",
        "render_result",
        "tool",
    ]
    for name in sandlot.tools.__all__:
        assert getattr(sandlot.tools, name) is not None
