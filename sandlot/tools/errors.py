"""Errors raised by and about tools."""

from __future__ import annotations

__all__ = ["ToolError", "ToolDefinitionError"]


class ToolError(Exception):
    """Raised by a tool to refuse or fail; the message goes back to the model as data.

    Business-rule refusals ("order 1001 is already shipped and cannot be cancelled")
    are ToolErrors: the model reads them and may act on them. They never end an episode.
    """


class ToolDefinitionError(TypeError):
    """A function cannot become a tool. ``problems`` lists every problem found."""

    def __init__(self, func_name: str, problems: list[str]) -> None:
        self.func_name = func_name
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"cannot make a tool of {func_name!r}:\n{lines}")
