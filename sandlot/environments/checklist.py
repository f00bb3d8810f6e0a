"""Scoring an episode against its task's checklist.

Rules (docs/tasks.md, "Scoring"):

* score = weight of the items that passed / weight of the items that were checked;
* success = every required item that was checked passed;
* an item that cannot be checked here (no judge model, no stored state) is *skipped*:
  ``passed`` is None, the reason is recorded, and it counts neither way;
* nothing checkable (an empty checklist, every item skipped): score 1.0 and success —
  there is nothing the agent got wrong — and the summary says "nothing to check";
* checked items whose weights sum to 0 (all informational): score 1.0 if they all
  passed, else 0.0;
* a check that itself breaks (a SQL error, a bad regex) fails its item with the error as
  evidence and never stops the scoring of the others.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sandlot.environments.checklist_checks import (
    CheckSkipped,
    check_answer,
    check_called,
    check_max_steps,
    check_not_called,
    check_order,
)
from sandlot.environments.checklist_judge import check_judge
from sandlot.environments.tasks import (
    AnswerCheck,
    CalledCheck,
    ChecklistItem,
    JudgeCheck,
    MaxStepsCheck,
    NotCalledCheck,
    OrderCheck,
    StateCheck,
    Task,
)

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.agents.models.base import Model
    from sandlot.environments.base import Environment

__all__ = [
    "SUBMIT_TOOL",
    "ScoreReport",
    "ToolCallRecord",
    "Trajectory",
    "Verdict",
    "score_episode",
    "trajectory_from_events",
]

# The built-in tool that ends an episode with the answer. It is the answer, not a tool
# use, so trajectory checks never see it. (sandlot.agents.models.oracle has the same
# constant; environments may not import agents.)
SUBMIT_TOOL = "submit_answer"


@dataclass
class ToolCallRecord:
    """One tool call as the checklist sees it."""

    name: str
    arguments: dict[str, Any] | None  # None when the arguments could not be parsed
    ok: bool
    error_kind: str | None = None
    content: str = ""  # what the model saw


@dataclass
class Trajectory:
    """What an episode did: its tool calls in order (without submit_answer), how many
    model calls it made, and its final answer (None when it gave none)."""

    tool_calls: list[ToolCallRecord] = field(default_factory=list)
    model_calls: int = 0
    answer: str | None = None


@dataclass
class Verdict:
    """The outcome of one checklist item. ``passed`` is None when it was skipped."""

    item_id: str
    description: str
    kind: str
    passed: bool | None
    weight: float
    required: bool
    evidence: Any = None
    skipped_reason: str | None = None

    def as_row(self) -> dict[str, Any]:
        """The row ``TraceStore.add_checks`` takes."""
        return {
            "item_id": self.item_id,
            "description": self.description,
            "kind": self.kind,
            "passed": self.passed,
            "weight": self.weight,
            "required": self.required,
            "evidence": self.evidence,
            "skipped_reason": self.skipped_reason,
        }


@dataclass
class ScoreReport:
    """Every item's verdict, the weighted score and whether the episode succeeded."""

    verdicts: list[Verdict]
    score: float
    success: bool

    @property
    def checked(self) -> list[Verdict]:
        """The verdicts that were not skipped."""
        return [v for v in self.verdicts if v.passed is not None]

    def summary(self) -> str:
        """One line, e.g. ``3/4 items passed, 1 skipped; score 0.750; failure (failed: x)``."""
        checked = self.checked
        skipped = len(self.verdicts) - len(checked)
        tail = f", {skipped} skipped" if skipped else ""
        if not checked:
            why = f"all {skipped} items skipped" if skipped else "empty checklist"
            return f"nothing to check ({why}); score 1.000; success"
        passed = sum(1 for v in checked if v.passed)
        failed = [v.item_id for v in checked if not v.passed]
        outcome = "success" if self.success else "failure"
        if failed:
            outcome += f" (failed: {', '.join(failed)})"
        return f"{passed}/{len(checked)} items passed{tail}; score {self.score:.3f}; {outcome}"


async def _check_state(
    check: StateCheck,
    environment: Environment | None,
    snapshot: dict[str, Any] | None,
    environment_class: type[Environment] | None,
) -> tuple[bool, Any]:
    if environment is not None:
        return await environment.check_state(check)
    if snapshot is not None and environment_class is not None:
        try:
            return environment_class.check_snapshot(snapshot, check)
        except NotImplementedError as exc:
            raise CheckSkipped(
                str(exc) or f"environment {environment_class.name!r} cannot check snapshots"
            ) from exc
    raise CheckSkipped("no environment state available")


async def _evaluate(
    item: ChecklistItem,
    task: Task,
    trajectory: Trajectory,
    environment: Environment | None,
    snapshot: dict[str, Any] | None,
    environment_class: type[Environment] | None,
    judge: Model | None,
) -> tuple[bool, Any]:
    check = item.check
    calls = trajectory.tool_calls
    if isinstance(check, StateCheck):
        return await _check_state(check, environment, snapshot, environment_class)
    if isinstance(check, CalledCheck):
        return check_called(check, calls)
    if isinstance(check, NotCalledCheck):
        return check_not_called(check, calls)
    if isinstance(check, OrderCheck):
        return check_order(check, calls)
    if isinstance(check, MaxStepsCheck):
        return check_max_steps(check, calls, trajectory.model_calls)
    if isinstance(check, AnswerCheck):
        return check_answer(check, trajectory.answer)
    if isinstance(check, JudgeCheck):
        return await check_judge(check, task, trajectory, judge)
    raise TypeError(f"unknown check type {type(check).__name__}")


def _score(verdicts: list[Verdict]) -> tuple[float, bool]:
    checked = [v for v in verdicts if v.passed is not None]
    success = all(v.passed for v in checked if v.required)
    if not checked:
        return 1.0, success
    total = sum(v.weight for v in checked)
    if total <= 0:
        return (1.0 if all(v.passed for v in checked) else 0.0), success
    return sum(v.weight for v in checked if v.passed) / total, success


async def score_episode(
    task: Task,
    trajectory: Trajectory,
    *,
    environment: Environment | None = None,
    snapshot: dict[str, Any] | None = None,
    environment_class: type[Environment] | None = None,
    judge: Model | None = None,
) -> ScoreReport:
    """Check every item of ``task.checklist`` against an episode; never raises for a check.

    Args:
        task: The task whose checklist applies.
        trajectory: What the episode did (see :func:`trajectory_from_events` for a stored one).
        environment: The live world after the episode; state items ask it.
        snapshot: A stored ``Environment.snapshot()``; with ``environment_class``, state
            items are answered by ``environment_class.check_snapshot`` instead.
        environment_class: The world's class, for snapshot checks.
        judge: The model that answers judge items; without one they are skipped.

    Returns:
        The verdicts in checklist order, the weighted score and success.
    """
    verdicts: list[Verdict] = []
    for item in task.checklist:
        verdict = Verdict(
            item_id=item.id,
            description=item.description,
            kind=item.check.type,
            passed=None,
            weight=item.weight,
            required=item.required,
        )
        try:
            passed, verdict.evidence = await _evaluate(
                item, task, trajectory, environment, snapshot, environment_class, judge
            )
            verdict.passed = bool(passed)
        except CheckSkipped as skip:
            verdict.skipped_reason = str(skip)
        except Exception as exc:  # a broken check fails its own item, and only it
            verdict.passed = False
            verdict.evidence = {"error": f"{type(exc).__name__}: {exc}"}
        verdicts.append(verdict)
    score, success = _score(verdicts)
    return ScoreReport(verdicts, score, success)


def _payload(event: dict[str, Any]) -> dict[str, Any]:
    payload = event.get("payload")
    if isinstance(payload, str):  # a raw row from the events table
        try:
            payload = json.loads(payload)
        except ValueError:
            return {}
    return payload if isinstance(payload, dict) else {}


def trajectory_from_events(events: list[dict[str, Any]], answer: str | None) -> Trajectory:
    """The trajectory a stored episode's events describe (for re-scoring).

    Args:
        events: Event dicts as the trace store returns them (``seq``, ``kind``, ``name``,
            ``payload``...), in any order; only ``tool_call`` and ``model_call`` matter.
        answer: The episode's final answer, or None.
    """
    trajectory = Trajectory(answer=answer)
    for event in sorted(events, key=lambda e: e["seq"]):
        if event["kind"] == "model_call":
            trajectory.model_calls += 1
        elif event["kind"] == "tool_call" and event["name"] != SUBMIT_TOOL:
            payload = _payload(event)
            arguments = payload.get("arguments")
            trajectory.tool_calls.append(
                ToolCallRecord(
                    name=event["name"],
                    arguments=arguments if isinstance(arguments, dict) else None,
                    ok=bool(payload.get("ok")),
                    error_kind=payload.get("error_kind"),
                    content=str(payload.get("content") or ""),
                )
            )
    return trajectory
