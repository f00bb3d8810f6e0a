"""The typed state of one episode as it moves through the graph.

The state is the episode's one record: the plan, the conversation, and every model call
and tool call as a typed record (:mod:`sandlot.environments.trajectory`), accumulated by
reducers, with how the episode ended. LangGraph checkpoints it whole, so a resume, the
episodes row, scoring and the summary all read the same facts. Live objects — the model,
the environment, the recorder — live in the immutable
:class:`~sandlot.agents.graph.runtime.EpisodeRuntime` handed to the nodes.
"""

from __future__ import annotations

import operator
from typing import Annotated, Any, Literal, NotRequired, TypedDict

from sandlot.environments.trajectory import (
    EndReason,
    ModelCallRecord,
    ToolCallRecord,
    Trajectory,
    UserTurnRecord,
)

__all__ = [
    "EpisodeState",
    "Halt",
    "PlanStep",
    "Route",
    "StepStatus",
    "initial_state",
    "merge_plan",
    "trajectory_of",
]

StepStatus = Literal["pending", "active", "done", "failed"]
Route = Literal["planner", "retriever", "executor", "finish", "join", "branch"]


class PlanStep(TypedDict):
    text: str
    status: StepStatus
    result: str | None
    # the plan indices of the steps it needs done first (parallel steps only; absent:
    # the step before it)
    after: NotRequired[list[int]]


class Halt(TypedDict):
    """A parallel branch that ended the episode (an answer, a tool's end, a spent budget,
    a failed model call): the join that follows ends it the same way."""

    step: int
    ended: EndReason
    error: str | None
    answer: str | None


def merge_plan(old: list[PlanStep], new: list[PlanStep] | dict[int, dict[str, Any]]) -> Any:
    """The plan's reducer: a list replaces the plan; a mapping of step index to fields
    updates those steps (what each parallel branch returns for its own step, merged by
    index whatever order the branches end in)."""
    if not isinstance(new, dict):
        return new
    plan = [PlanStep(**s) for s in old or ()]  # type: ignore[typeddict-item]
    for index, fields in new.items():
        plan[int(index)].update(fields)  # type: ignore[typeddict-item]
    return plan


class EpisodeState(TypedDict, total=False):
    task_id: str
    plan: Annotated[list[PlanStep], merge_plan]
    step: int  # index of the current plan step
    messages: Annotated[list[dict[str, Any]], operator.add]  # the conversation, appended to
    offered: list[str]  # tool names offered for the current step
    step_calls: int  # tool calls made within the current step
    replans: int
    # the record: every model call and tool call (submit_answer included), appended to
    model_log: Annotated[list[ModelCallRecord], operator.add]
    tool_log: Annotated[list[ToolCallRecord], operator.add]
    user_log: Annotated[list[UserTurnRecord], operator.add]  # a simulated user's turns
    node_runs: Annotated[int, operator.add]  # graph node executions
    answer: str | None
    ended: EndReason | None  # None while the episode runs
    error: str | None  # why it ended early
    route: Route
    trace_seq: int  # the trace's next event seq when this state was reached (for resume)
    # parallel steps: the steps of the wave being fanned out, the seq of the join that
    # fanned them out, and what ended the episode in a branch
    wave: list[int]
    wave_id: int
    halts: Annotated[list[Halt], operator.add]


def initial_state(task_id: str) -> EpisodeState:
    return EpisodeState(
        task_id=task_id,
        plan=[],
        step=0,
        messages=[],
        offered=[],
        step_calls=0,
        replans=0,
        model_log=[],
        tool_log=[],
        user_log=[],
        node_runs=0,
        answer=None,
        ended=None,
        error=None,
        route="planner",
        trace_seq=0,
    )


def trajectory_of(state: dict[str, Any]) -> Trajectory:
    """The episode record a graph state holds."""
    return Trajectory(
        tool_calls=list(state.get("tool_log") or ()),
        model_calls=list(state.get("model_log") or ()),
        answer=state.get("answer"),
        ended=state.get("ended"),
        error=state.get("error"),
        steps=len(state.get("plan") or ()),
        user_turns=list(state.get("user_log") or ()),
    )
