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
from typing import Annotated, Any, Literal, TypedDict

from sandlot.environments.trajectory import (
    EndReason,
    ModelCallRecord,
    ToolCallRecord,
    Trajectory,
    UserTurnRecord,
)

__all__ = ["EpisodeState", "PlanStep", "Route", "StepStatus", "initial_state", "trajectory_of"]

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
