"""The public surface is a decision: the exported names are pinned here."""

import sandlot


def test_exported_names_are_pinned():
    assert sorted(sandlot.__all__) == sorted(
        [
            "AgentConfig",
            "Environment",
            "EpisodeResult",
            "ExecResult",
            "Model",
            "ModelCallRecord",
            "ModelError",
            "ModelRequest",
            "ModelResponse",
            "NullModel",
            "OpenAIModel",
            "OracleModel",
            "ReplayModel",
            "RunResult",
            "Sandbox",
            "SandboxLimits",
            "ScoreReport",
            "ScriptedModel",
            "Task",
            "TaskFileError",
            "Tool",
            "ToolCall",
            "ToolCallRecord",
            "ToolContext",
            "ToolError",
            "ToolOutcome",
            "Toolset",
            "TraceStore",
            "Trajectory",
            "__version__",
            "decide_outcome",
            "invoke_tool",
            "load_tasks",
            "make_environment",
            "make_model",
            "register_environment",
            "replay_episode",
            "rescore",
            "resume_run",
            "run",
            "run_episode",
            "score_episode",
            "tool",
        ]
    )


def test_every_exported_name_resolves():
    for name in sandlot.__all__:
        assert getattr(sandlot, name) is not None, name


def test_every_module_declares_all():
    import pkgutil

    import sandlot as pkg

    missing = []
    for info in pkgutil.walk_packages(pkg.__path__, "sandlot."):
        if info.name.endswith("agent") and "sandbox" in info.name:
            continue  # runs inside the container, not part of the API
        module = __import__(info.name, fromlist=["_"])
        if not hasattr(module, "__all__"):
            missing.append(info.name)
    assert not missing, f"modules without __all__: {missing}"


def test_importing_the_package_and_its_command_line_loads_no_heavy_library():
    """`sandlot --help` and usage errors answer at once: the public names load on first
    use, so importing the package or the CLI loads neither LangGraph nor the SDKs."""
    import subprocess
    import sys

    code = (
        "import sys, sandlot, sandlot.cli; "
        "print(sorted(m for m in ('langgraph', 'openai', 'pydantic', 'numpy', 'yaml') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
