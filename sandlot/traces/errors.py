"""The error every part raises for a trace path it cannot use."""

from __future__ import annotations

__all__ = ["TraceFileError"]


class TraceFileError(ValueError):
    """The file is missing (where one must exist), not SQLite, or not a sandlot trace;
    the message says which and what to give instead."""
