"""Tools: typed, documented functions a model can call."""

from sandlot.tools.calls import ErrorKind, ToolCall, ToolOutcome
from sandlot.tools.context import ToolContext
from sandlot.tools.decorator import Tool, tool
from sandlot.tools.errors import ToolDefinitionError, ToolError
from sandlot.tools.invoke import invoke_tool, render_result
from sandlot.tools.toolset import Toolset

__all__ = [
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
