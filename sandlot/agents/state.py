"""The typed state of one episode as it moves through the graph.

Only plain data lives here (LangGraph checkpoints it); live objects — the model, the
environment, the recorder — live in the :class:`~sandlot.agents.runtime.EpisodeRuntime`
handed to the nodes through the run config.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, TypedDict

__all__ = ["EpisodeState", "PlanStep", "Route", "StepStatus", "initial_state"]

StepStatus = Literal["pending", "active", "done", "failed"]
Route = Literal["planner", "retriever", "executor", "finish"]


class PlanStep(TypedDict):
    text: str
    status: StepStatus
    result: str | None


class EpisodeState(TypedDict, total=False):
    task_id: str
    plan: list[PlanStep]
    step: int  # index of the current plan step
    messages: Annotated[list[dict[str, Any]], operator.add]  # the conversation, appended to
    offered: list[str]  # tool names offered for the current step
    step_calls: int  # tool calls made within the current step
    replans: int
    model_calls: int
    tool_calls: int
    tool_errors: int
    prompt_tokens: int
    completion_tokens: int
    answer: str | None
    # running, then: done (answered or finished its plan), budget (a call budget ran out),
    # gave_up (a step failed and no re-plan was left), error (a model call failed)
    status: Literal["running", "done", "budget", "gave_up", "error"]
    error: str | None
    route: Route
    trace_seq: int  # the trace's next event seq when this state was reached (for resume)


def initial_state(task_id: str) -> EpisodeState:
    return EpisodeState(
        task_id=task_id,
        plan=[],
        step=0,
        messages=[],
        offered=[],
        step_calls=0,
        replans=0,
        model_calls=0,
        tool_calls=0,
        tool_errors=0,
        prompt_tokens=0,
        completion_tokens=0,
        answer=None,
        status="running",
        error=None,
        route="planner",
        trace_seq=0,
    )
