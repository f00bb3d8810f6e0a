"""The error every part raises for a trace path it cannot use."""

from __future__ import annotations

from sandlot.errors import TraceFileError

__all__ = ["TraceFileError"]
