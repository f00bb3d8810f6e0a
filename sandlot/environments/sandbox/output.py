"""Turning a command server's raw result into an ExecResult (shared by both backends)."""

from __future__ import annotations

import base64
from typing import Any

from sandlot.environments.sandbox.base import ExecResult

__all__ = ["CUT_MARKER", "to_exec_result"]

CUT_MARKER = "\n[... {n} bytes cut ...]"


def _text(b64: str, cut: int, cap: int | None) -> tuple[str, int]:
    data = base64.b64decode(b64)
    if cap is not None and len(data) > cap:  # more than the server may send: cut here
        cut, data = cut + len(data) - cap, data[:cap]
    text = data.decode("utf-8", errors="replace")
    return (text + CUT_MARKER.format(n=cut) if cut else text), cut


def to_exec_result(raw: dict[str, Any], cap: int | None = None) -> ExecResult:
    """The command server's answer to an ``exec`` as an ExecResult. With ``cap`` (the
    output cap the request asked for), each stream keeps at most ``cap`` bytes here too,
    whatever the answer holds, and the marker counts what was cut."""
    cut_out, cut_err = raw.get("cut") or (0, 0)
    stdout, cut_out = _text(raw.get("stdout", ""), int(cut_out), cap)
    stderr, cut_err = _text(raw.get("stderr", ""), int(cut_err), cap)
    return ExecResult(
        exit_code=int(raw["exit_code"]),
        stdout=stdout,
        stderr=stderr,
        duration=float(raw.get("duration", 0.0)),
        timed_out=bool(raw.get("timed_out")),
        truncated=bool(cut_out or cut_err),
    )
