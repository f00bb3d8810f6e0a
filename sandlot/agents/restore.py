"""Rebuilding an interrupted episode's world from its last checkpoint.

A checkpoint holds the conversation, not the world: the environment's state lived in the
killed process. The conversation names every tool call that completed before the
checkpoint, with its arguments and result, so a fresh world gets the same state by
running those calls again, in order. Each re-run result is compared with the one in the
checkpoint and any difference is recorded.
"""

from __future__ import annotations

from typing import Any

from sandlot.agents.executor import SUBMIT_TOOL
from sandlot.agents.runtime import EpisodeRuntime
from sandlot.tools.calls import ToolCall

__all__ = ["restore_world"]


async def restore_world(
    graph: Any, run_config: dict[str, Any], rt: EpisodeRuntime
) -> tuple[Any, dict[str, Any] | None]:
    """Re-run the checkpointed tool calls on ``rt``'s fresh world.

    Returns ``(graph_input, final)``: the input that continues the episode (None resumes
    from the checkpoint; a fresh state restarts when nothing was saved), and the final
    state when the graph had already finished (then nothing is left to run).
    """
    from sandlot.agents.state import initial_state

    saved = await graph.aget_state(run_config)
    values = saved.values or {}
    # What the lost attempt recorded after the checkpoint (or, with none, after the root
    # event) is about to be done again: mark it, so nothing counts twice.
    rt.recorder.supersede(int(values.get("trace_seq") or 0) or (rt.root or 0) + 1)
    if not values:
        rt.recorder.event(
            "replay", "resume", {"restored": 0, "note": "no checkpoint; restarting"}, parent=rt.root
        )
        return initial_state(rt.task.id), None
    messages = values.get("messages", [])
    results = {m.get("tool_call_id"): m.get("content") for m in messages if m.get("role") == "tool"}
    restored, diverged = 0, []
    for message in messages:
        for raw in message.get("tool_calls") or () if message.get("role") == "assistant" else ():
            call = ToolCall(raw["id"], raw["function"]["name"], raw["function"]["arguments"])
            if call.name == SUBMIT_TOOL or call.id not in results:
                continue
            outcome = await rt.call_tool(call, values.get("step", 0), rt.root, record=False)
            restored += 1
            if outcome.content != results[call.id]:
                diverged.append(
                    {"tool": call.name, "recorded": results[call.id], "new": outcome.content}
                )
    rt.recorder.event(
        "replay",
        "resume",
        {"restored": restored, "diverged": diverged[:20], "next": list(saved.next)},
        parent=rt.root,
    )
    rt.offered_now = frozenset(values.get("offered") or ())
    return None, (None if saved.next else values)
