"""Talking to a task's simulated user: the executor's reply without a tool call goes to
the user, whose answer comes back as the next user message (docs/users.md)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandlot.environments.trajectory import STEP_DONE, STEP_FAILED, UserTurnRecord
from sandlot.errors import ModelError

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.agents.graph.runtime import EpisodeRuntime
    from sandlot.agents.graph.state import EpisodeState

__all__ = ["for_the_user", "talk_to_user", "user_prompt", "user_turn_payload"]


def user_prompt(single: bool) -> str:
    """What the executor is told in a task with a simulated user."""
    said = (
        "You are in a conversation with the user: a reply without a tool call is sent to "
        "the user, and their answer comes back. Ask the user for any information you "
        "need that you cannot look up, and ask for their confirmation before you change "
        "anything."
    )
    if single:
        return said
    return f"{said} When the current step is done, reply '{STEP_DONE}:' and its result."


def for_the_user(rt: EpisodeRuntime, content: str) -> bool:
    """Whether a reply without a tool call is a message to the user: in a task with one,
    every reply of the single agent, and a plan step's reply that does not start with
    ``STEP DONE`` or ``STEP FAILED`` (those end the step)."""
    if rt.user is None:
        return False
    if rt.single:
        return True
    head = content.strip().upper()
    return not (head.startswith(STEP_DONE) or head.startswith(STEP_FAILED))


def user_turn_payload(turn: UserTurnRecord) -> dict[str, Any]:
    """A user turn's trace payload (``trajectory_from_events`` reads it back)."""
    return {
        "turn": turn.turn,
        "prompt": turn.prompt,
        "text": turn.text,
        "stop": turn.stop,
        "step_index": turn.step_index,
    }


async def talk_to_user(
    state: EpisodeState,
    rt: EpisodeRuntime,
    content: str,
    messages: list[dict[str, Any]],
    parent: int | None,
) -> dict[str, Any]:
    """Send ``content`` to the user and route on the answer: appended to ``messages`` as
    a user message (the same step goes on), or the episode ends — the user stopped
    (``user_ended``; the message is the answer unless one was submitted), the user-turn
    budget is spent (``budget``), or the model playing the user failed."""
    assert rt.user is not None and rt.task.user is not None
    turns = list(state.get("user_log") or ())
    limit = rt.task.user.max_user_turns
    if len(turns) >= limit:
        spent = f"user-turn budget spent: {len(turns)} of {limit}"
        return {"ended": "budget", "error": spent, "route": "finish"}
    try:
        reply = await rt.user.reply(rt.task, turns, content)
    except (ModelError, ValueError) as exc:
        return {
            "ended": "model_error",
            "error": f"the simulated user failed: {exc}",
            "route": "finish",
        }
    turn = UserTurnRecord(
        turn=len(turns), prompt=content, text=reply.text, stop=reply.stop, step_index=state["step"]
    )
    payload = user_turn_payload(turn)
    payload["player"] = reply.model or rt.user.name
    turn.seq = rt.recorder.event("user_turn", "user", payload, parent=parent)
    if reply.stop:
        answer = state.get("answer")
        return {
            "user_log": [turn],
            "answer": answer if answer is not None else content,
            "ended": "user_ended",
            "route": "finish",
        }
    messages.append({"role": "user", "content": reply.text})
    return {"user_log": [turn], "route": "executor"}
