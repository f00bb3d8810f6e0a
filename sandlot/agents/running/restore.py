"""Rebuilding an interrupted episode's world from its last checkpoint.

A checkpoint holds the episode's record, not the world: the environment's state lived in
the killed process. The record holds every tool call that completed before the
checkpoint, with its arguments and result, so a fresh world gets the same state by
running those calls again, in order. Each re-run result is compared with the one in the
checkpoint and any difference is recorded.
"""

from __future__ import annotations

import time
from typing import Any

from sandlot.agents.graph.runtime import EpisodeRuntime, model_call_payload, tool_call_payload
from sandlot.agents.graph.state import initial_state
from sandlot.tools.calls import ToolCall

__all__ = ["restore_world"]


async def restore_world(
    saved: Any, rt: EpisodeRuntime
) -> tuple[Any, dict[str, Any] | None, dict[str, Any]]:
    """Re-run the checkpointed tool calls (``saved``, LangGraph's StateSnapshot of the
    episode's thread) on ``rt``'s fresh world, and write again the record's events that
    the trace lost.

    Returns ``(graph_input, final, state)``: the input that continues the episode (None
    resumes from the checkpoint; a fresh state restarts when nothing was saved), the
    final state when the graph had already finished (then nothing is left to run), and
    the checkpointed state (the record so far).
    """
    values = dict(saved.values or {})
    covered = int(values.get("trace_seq") or 0)
    # What the lost attempt recorded after the checkpoint (or, with none, after the root
    # event) is about to be done again: mark it, so nothing counts twice.
    rt.recorder.supersede(covered or (rt.root or 0) + 1)
    if not values:
        rt.recorder.event(
            "replay", "resume", {"restored": 0, "note": "no checkpoint; restarting"}, parent=rt.root
        )
        fresh = initial_state(rt.task.id)
        return fresh, None, dict(fresh)
    restored, diverged = 0, []
    for made in values.get("tool_log") or ():
        if made.submit or made.refused is not None:
            continue  # the answer, or a call refused without running: nothing to re-run
        call = ToolCall(made.call_id, made.name, made.arguments_raw)
        again = await rt.call_tool(call, made.step_index or 0, rt.root, record=False)
        restored += 1
        if again.content != made.content:
            diverged.append({"tool": call.name, "recorded": made.content, "new": again.content})
    rewritten, lost = _mend_trace(values, covered, rt)
    rt.recorder.event(
        "replay",
        "resume",
        {
            "restored": restored,
            "diverged": diverged[:20],
            "next": list(saved.next),
            "rewritten": rewritten,
        },
        parent=rt.root,
    )
    if lost:
        rt.recorder.event(
            "gap",
            "lost",
            {
                "missing": _ranges(lost),
                "count": len(lost),
                "note": (
                    f"{len(lost)} events were lost when the process was killed and the "
                    "checkpoint does not hold them (node spans, plans, retrievals); the "
                    "model and tool calls it holds were written again"
                ),
            },
            parent=rt.root,
        )
    return None, (None if saved.next else values), values


def _mend_trace(values: dict[str, Any], covered: int, rt: EpisodeRuntime) -> tuple[int, list[int]]:
    """Write again, under their own numbers, the model and tool calls the checkpoint
    holds but the trace lost in a kill; (how many were written, the numbers still lost)."""
    stored = rt.recorder.stored_seqs()
    if stored is None:  # a recorder that keeps nothing has lost nothing
        return 0, []
    missing = lambda seq: seq is not None and seq not in stored  # noqa: E731
    lost_calls = [
        ("model_call", m.purpose, model_call_payload(m), m.latency, m.seq)
        for m in values.get("model_log") or ()
        if missing(m.seq)
    ] + [
        ("tool_call", t.name, tool_call_payload(t), t.duration, t.seq)
        for t in values.get("tool_log") or ()
        if missing(t.seq)
    ]
    for kind, name, payload, duration, seq in lost_calls:
        payload["restored"] = "from the checkpoint"
        rt.recorder.emit(seq, rt.root, time.time(), kind, name, payload, duration)
    rewritten = {call[4] for call in lost_calls}
    lost = sorted(set(range(covered)) - stored - rewritten)
    return len(rewritten), lost


def _ranges(numbers: list[int]) -> list[list[int]]:
    """[1, 2, 3, 7] -> [[1, 3], [7, 7]]"""
    out: list[list[int]] = []
    for n in numbers:
        if out and out[-1][1] == n - 1:
            out[-1][1] = n
        else:
            out.append([n, n])
    return out
