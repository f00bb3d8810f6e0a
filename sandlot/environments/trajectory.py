"""The one record of what an episode did, and the one rule that turns it into an outcome.

Every model call and every tool call is one record; the graph state accumulates them
(through reducers), the checklist scores them, the episodes row, the run summary, replay,
re-scoring and the viewer read them. A stored episode's record is rebuilt from its trace
events by :func:`trajectory_from_events` (``sandlot.traces`` knows nothing of this module;
it hands over plain event dicts).

Outcomes (the same words in the database, the CLI and the viewer):

========== =========================================================================
passed     the episode ended by itself (answered, finished its plan, a tool or the
           simulated user ended it) and every required checklist item passed
failed     it ended by itself and a required item failed
gave_up    a step failed and no re-plan was left
budget     a model-call or tool-call budget ran out
error      a model call failed, or the episode raised
interrupted the process was stopped (cancelled, killed) before the episode ended
========== =========================================================================

Only ``passed`` is a success; :func:`decide_outcome` is the only place that says so.

A tool can end the episode (it raises ``EndEpisode``, e.g. a transfer to a human agent):
end reason ``tool_ended``. That is the world's own way to end, not a cut-short episode,
so the checklist decides ``passed`` or ``failed``, as for an answer.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

__all__ = [
    "END_REASONS",
    "OUTCOMES",
    "STEP_DONE",
    "STEP_FAILED",
    "SUBMIT_TOOL",
    "EndReason",
    "ModelCallRecord",
    "Outcome",
    "ToolCallRecord",
    "Trajectory",
    "UserTurnRecord",
    "decide_outcome",
    "is_success",
    "trajectory_from_events",
]

# The built-in tool that ends an episode with the answer. It is the answer, not a tool
# use, so trajectory checks never see it. Defined once, here; the agents import it.
SUBMIT_TOOL = "submit_answer"
# A reply starting with this fails the current plan step (the executor's protocol).
STEP_FAILED = "STEP FAILED"
# In a task with a simulated user, a reply starting with this ends the current plan step
# (any other reply without a tool call is a message to the user).
STEP_DONE = "STEP DONE"

EndReason = Literal[
    "answered",  # submit_answer was called with an answer
    "plan_finished",  # the last plan step ended with a reply (or the single agent replied)
    "tool_ended",  # a tool ended the episode (it raised EndEpisode: a transfer to a human)
    "user_ended",  # the simulated user ended the conversation (multi-turn tasks)
    "budget",  # a model-call or tool-call budget ran out
    "gave_up",  # a step failed and no re-plan was left
    "model_error",  # a model call failed (after its retries) or timed out
    "error",  # the episode raised (environment, sandbox, a bug)
    "interrupted",  # cancelled or killed before it ended
]
Outcome = Literal["passed", "failed", "gave_up", "budget", "error", "interrupted"]
END_REASONS: tuple[str, ...] = get_args(EndReason)
OUTCOMES: tuple[str, ...] = get_args(Outcome)


def _fields(record: Any) -> dict[str, Any]:
    """A record's fields, shallow. LangGraph's checkpoint serializer writes an object with
    ``_asdict`` as its constructor's keyword arguments; without it a dataclass takes its
    slow path (``dataclasses.asdict``, about 9x the time), on every checkpoint."""
    return dict(record.__dict__)


@dataclass
class ToolCallRecord:
    """One tool call: what the model asked for and what it got back.

    ``arguments`` are the arguments as the tool got them after validation (None when they
    could not be parsed); ``arguments_raw`` the JSON text the model sent.
    """

    name: str
    arguments: dict[str, Any] | None
    ok: bool
    error_kind: str | None = None
    content: str = ""  # what the model saw
    call_id: str = ""
    arguments_raw: str = ""
    step_index: int | None = None
    offered: bool = True  # among the tools offered for the step
    duration: float = 0.0
    seq: int | None = None  # its tool_call event in the trace
    ends_episode: str | None = None  # the tool's message when it ended the episode
    # What the call changed in the world, when the world can tell cheaply:
    # {"rows": {table: [key, ...]}} (the store), {"files": [path, ...]} (the workspace).
    changed: dict[str, Any] | None = None
    # Why the call was refused without running (the tool was not available in the
    # world's state then: Environment.unavailable_tools); None when it ran.
    refused: str | None = None

    @property
    def submit(self) -> bool:
        return self.name == SUBMIT_TOOL

    def _asdict(self) -> dict[str, Any]:
        return _fields(self)


@dataclass
class ModelCallRecord:
    """One model call: what it was for, what the model replied, what it cost."""

    purpose: str  # plan / execute / judge
    step_index: int | None = None
    content: str | None = None
    tool_calls: list[dict[str, Any]] = field(default_factory=list)  # {id, name, arguments}
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0  # of the prompt tokens, those the provider's cache served
    latency: float = 0.0
    error: str | None = None  # the call failed: why
    model: str = ""
    seq: int | None = None  # its model_call event in the trace
    cost_usd: float | None = None  # what it cost, when the model has a price

    @property
    def ok(self) -> bool:
        return self.error is None

    def _asdict(self) -> dict[str, Any]:
        return _fields(self)


@dataclass
class UserTurnRecord:
    """One turn of a task's simulated user: the agent's message it answered
    (``prompt``), its reply, and whether the reply ended the conversation."""

    turn: int  # 0 for the user's first answer (the instruction is the opening message)
    prompt: str
    text: str
    stop: bool = False
    step_index: int | None = None
    seq: int | None = None  # its user_turn event in the trace

    def _asdict(self) -> dict[str, Any]:
        return _fields(self)


@dataclass
class Trajectory:
    """What an episode did: every model call and tool call in order, the plan it
    followed, its answer and how it ended.

    ``tool_calls`` holds submit_answer calls too (they are recorded as tool calls);
    checks read :attr:`tools_used`, which leaves them out.
    """

    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    model_calls: list[ModelCallRecord] = field(default_factory=list)
    answer: str | None = None
    ended: EndReason | None = None
    error: str | None = None
    steps: int = 0  # plan steps
    user_turns: list[UserTurnRecord] = field(default_factory=list)  # a simulated user's

    @property
    def tools_used(self) -> list[ToolCallRecord]:
        """The tool calls a checklist sees: every call but submit_answer."""
        return [c for c in self.tool_calls if not c.submit]

    @property
    def n_model_calls(self) -> int:
        return len(self.model_calls)

    @property
    def n_tool_calls(self) -> int:
        return len(self.tools_used)

    @property
    def tool_errors(self) -> int:
        return sum(not c.ok for c in self.tools_used)

    @property
    def prompt_tokens(self) -> int:
        return sum(m.prompt_tokens for m in self.model_calls)

    @property
    def completion_tokens(self) -> int:
        return sum(m.completion_tokens for m in self.model_calls)

    @property
    def cost(self) -> float | None:
        """What the model calls cost in USD, or None when no call had a price."""
        costs = [m.cost_usd for m in self.model_calls if m.cost_usd is not None]
        return sum(costs) if costs else None

    @property
    def replies(self) -> list[str]:
        """Every text the agent wrote to the user (executor replies and the submitted
        answers), in order."""
        out: list[str] = []
        for m in self.model_calls:
            if m.purpose == "execute" and m.content and m.content.strip():
                out.append(m.content)
        out += [_submitted(c) for c in self.tool_calls if c.submit and c.ok]
        return [r for r in out if r]

    @property
    def conversation(self) -> list[str]:
        """What the agent told the simulated user (each message it answered), then the
        submitted answer when it is not one of them."""
        out = [t.prompt for t in self.user_turns if t.prompt.strip()]
        if self.answer and self.answer.strip() and self.answer not in out:
            out.append(self.answer)
        return out

    @property
    def acted(self) -> bool:
        """Whether the episode did anything a checklist can credit: a tool call (any
        outcome; submit_answer is not one) or an answer that is not blank."""
        answered = self.answer is not None and self.answer.strip() != ""
        return bool(self.tools_used) or answered


def _submitted(call: ToolCallRecord) -> str:
    if isinstance(call.arguments, dict) and isinstance(call.arguments.get("answer"), str):
        return call.arguments["answer"]
    return ""


def decide_outcome(ended: EndReason | str | None, checklist_passed: bool | None) -> Outcome:
    """The episode's outcome from how it ended and whether its checklist passed.

    This is the only success rule: an episode that did not end by itself (budget, gave
    up, error, interrupted) is never ``passed``, whatever its checklist says; one that
    did (answered, finished its plan, a tool or the simulated user ended it) is
    ``passed`` exactly when
    every required item passed (``checklist_passed``; None, never scored, is ``failed``).
    """
    if ended in ("answered", "plan_finished", "tool_ended", "user_ended"):
        return "passed" if checklist_passed else "failed"
    if ended in ("budget", "gave_up", "interrupted"):
        return ended  # type: ignore[return-value]
    return "error"  # model_error, error, or an end nobody recorded


def is_success(outcome: str | None) -> bool:
    return outcome == "passed"


def _payload(event: dict[str, Any]) -> dict[str, Any]:
    payload = event.get("payload")
    if isinstance(payload, str):  # a raw row from the events table
        try:
            payload = json.loads(payload)
        except ValueError:
            return {}
    return payload if isinstance(payload, dict) else {}


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _cost(value: Any) -> float | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


def trajectory_from_events(
    events: list[dict[str, Any]],
    answer: str | None = None,
    *,
    ended: EndReason | str | None = None,
    error: str | None = None,
) -> Trajectory:
    """The record a stored episode's events describe (re-scoring, resume, replay).

    Args:
        events: Event dicts as the trace store returns them (``seq``, ``kind``, ``name``,
            ``payload``...), in any order; ``tool_call``, ``model_call`` and ``plan``
            events matter.
        answer: The episode's final answer, or None.
        ended: How it ended (the episodes row's ``ended``), when known.
        error: Why it ended early, when it did.
    """
    trajectory = Trajectory(answer=answer, ended=ended, error=error)  # type: ignore[arg-type]
    for event in sorted(events, key=lambda e: e["seq"]):
        kind = event["kind"]
        payload = _payload(event)
        if kind == "model_call":
            response = payload.get("response") if isinstance(payload.get("response"), dict) else {}
            usage = payload.get("usage")
            if not isinstance(usage, dict):
                usage = {}
            calls = response.get("tool_calls") if isinstance(response, dict) else None
            trajectory.model_calls.append(
                ModelCallRecord(
                    purpose=str(payload.get("purpose") or event.get("name") or ""),
                    step_index=payload.get("step_index"),
                    content=response.get("content") if isinstance(response, dict) else None,
                    tool_calls=calls if isinstance(calls, list) else [],
                    prompt_tokens=_int(usage.get("prompt_tokens")),
                    completion_tokens=_int(usage.get("completion_tokens")),
                    cached_tokens=_int(usage.get("cached_tokens")),
                    latency=float(payload.get("latency") or 0.0),
                    error=payload.get("error"),
                    model=str(payload.get("model") or ""),
                    seq=event["seq"],
                    cost_usd=_cost(payload.get("cost_usd")),
                )
            )
        elif kind == "tool_call":
            arguments = payload.get("arguments")
            raw = payload.get("arguments_raw")
            changed = payload.get("changed")
            trajectory.tool_calls.append(
                ToolCallRecord(
                    name=str(event["name"]),
                    arguments=arguments if isinstance(arguments, dict) else None,
                    ok=bool(payload.get("ok")),
                    error_kind=payload.get("error_kind"),
                    content=str(payload.get("content") or ""),
                    call_id=str(payload.get("call_id") or ""),
                    arguments_raw=raw if isinstance(raw, str) else "",
                    step_index=payload.get("step_index"),
                    offered=bool(payload.get("offered", True)),
                    duration=float(event.get("duration") or 0.0),
                    seq=event["seq"],
                    ends_episode=payload.get("ends_episode"),
                    changed=changed if isinstance(changed, dict) else None,
                    refused=_str_or_none(payload.get("refused")),
                )
            )
        elif kind == "user_turn":
            trajectory.user_turns.append(
                UserTurnRecord(
                    turn=_int(payload.get("turn")),
                    prompt=str(payload.get("prompt") or ""),
                    text=str(payload.get("text") or ""),
                    stop=bool(payload.get("stop")),
                    step_index=payload.get("step_index"),
                    seq=event["seq"],
                )
            )
        elif kind == "plan":
            steps = payload.get("steps")
            if isinstance(steps, list):
                trajectory.steps = len(steps)
    return trajectory
