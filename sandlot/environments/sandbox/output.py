"""Turning a command server's raw result into an ExecResult (shared by both backends)."""

from __future__ import annotations

import base64
from typing import Any

from sandlot.environments.sandbox.base import ExecResult

__all__ = ["CUT_MARKER", "to_exec_result"]

CUT_MARKER = "\n[... {n} bytes cut ...]"


def _text(b64: str, cut: int) -> str:
    text = base64.b64decode(b64).decode("utf-8", errors="replace")
    return text + CUT_MARKER.format(n=cut) if cut else text


def to_exec_result(raw: dict[str, Any]) -> ExecResult:
    cut_out, cut_err = raw.get("cut") or (0, 0)
    return ExecResult(
        exit_code=int(raw["exit_code"]),
        stdout=_text(raw.get("stdout", ""), cut_out),
        stderr=_text(raw.get("stderr", ""), cut_err),
        duration=float(raw.get("duration", 0.0)),
        timed_out=bool(raw.get("timed_out")),
        truncated=bool(cut_out or cut_err),
    )
