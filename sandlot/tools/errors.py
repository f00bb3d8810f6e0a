"""Errors raised by and about tools."""

from __future__ import annotations

from sandlot.errors import ToolDefinitionError, ToolError

__all__ = ["ToolError", "ToolDefinitionError"]
