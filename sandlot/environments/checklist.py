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
  evidence and never stops the scoring of the others;
* an episode that did nothing earns nothing (:func:`no_credit_reason`): with no tool call
  and no answer, every item that passed fails instead, with the reason as evidence, and
  even "nothing to check" scores 0.0 and fails — items that only forbid something
  (not_called, max_steps, a state the untouched world already satisfies) would otherwise
  reward an agent for not trying. A check kind that is a ported benchmark's own checker
  decides that itself (``credits_idle = True`` on the kind; docs/guides/check-kind.md):
  a checklist of only such items is scored as its kinds say.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sandlot.environments.check_kinds import CheckContext, evaluate_kind
from sandlot.environments.checklist_checks import (
    CheckSkipped,
)
from sandlot.environments.tasks import (
    ChecklistItem,
    ReferenceStateCheck,
    StateCheck,
    Task,
)
from sandlot.environments.trajectory import (
    SUBMIT_TOOL,
    ToolCallRecord,
    Trajectory,
    trajectory_from_events,
)
from sandlot.registry import CHECKS

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.environments.base import Environment
    from sandlot.environments.model import Model

__all__ = [
    "NO_CREDIT",
    "SUBMIT_TOOL",
    "ScoreReport",
    "ToolCallRecord",
    "Trajectory",
    "Verdict",
    "no_credit_reason",
    "score_episode",
    "trajectory_from_events",
]

NO_CREDIT = "no credit: the episode made no tool call and gave no answer"


def no_credit_reason(trajectory: Trajectory) -> str | None:
    """Why the episode earns nothing, or None when it acted.

    The one rule for episodes that did nothing: an episode acted when it made a tool call
    (whatever its outcome; submit_answer is not one) or gave an answer that is not blank.
    One that did not act gets no credit for any item.
    """
    return None if trajectory.acted else NO_CREDIT


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
    no_credit: str | None = None  # why the episode earned nothing (it did nothing)

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
            if self.no_credit:
                return f"nothing to check ({why}) and {self.no_credit}; score 0.000; failure"
            return f"nothing to check ({why}); score 1.000; success"
        passed = sum(1 for v in checked if v.passed)
        failed = [v.item_id for v in checked if not v.passed]
        outcome = "success" if self.success else "failure"
        if failed:
            outcome += f" (failed: {', '.join(failed)})"
        if self.no_credit:
            outcome += f"; {self.no_credit}"
        return f"{passed}/{len(checked)} items passed{tail}; score {self.score:.3f}; {outcome}"


async def _check_state(
    check: StateCheck,
    environment: Environment[Any, Any, Any] | None,
    snapshot: dict[str, Any] | None,
    environment_class: type[Environment[Any, Any, Any]] | None,
) -> tuple[bool, Any]:
    # The world reads the check in its own language first; a check it refuses fails
    # with the reason (the loader reports the same at load time).
    if environment is not None:
        return await environment.check_state(environment.validate_state_check(check))
    if snapshot is not None and environment_class is not None:
        typed = environment_class.validate_state_check(check)
        try:
            return environment_class.check_snapshot(snapshot, typed)
        except NotImplementedError as exc:
            raise CheckSkipped(
                str(exc) or f"environment {environment_class.name!r} cannot check snapshots"
            ) from exc
    raise CheckSkipped("no environment state available")


# Options of a live world that must not be shared by the reference run's fresh copy.
_NOT_SHARED = ("pool",)


async def _check_reference_state(
    check: ReferenceStateCheck,
    task: Task,
    environment: Environment[Any, Any, Any] | None,
    snapshot: dict[str, Any] | None,
    environment_class: type[Environment[Any, Any, Any]] | None,
) -> tuple[bool, Any]:
    """The episode's final state against the one the reference solution leaves."""
    if environment is not None:
        cls: type[Environment[Any, Any, Any]] = type(environment)
        actual = await environment.snapshot_async()
        options = {k: v for k, v in environment.options.items() if k not in _NOT_SHARED}
    elif snapshot is not None and environment_class is not None:
        cls, actual, options = environment_class, snapshot, {}
    else:
        raise CheckSkipped("no environment state available")
    if task.reference is None:
        raise CheckSkipped(f"task {task.id!r} has no reference solution to compare with")
    expected = await cls.reference_snapshot(task, **options)
    return cls.compare_snapshots(actual, expected, check.ignore)


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
    if isinstance(check, StateCheck):
        return await _check_state(check, environment, snapshot, environment_class)
    if isinstance(check, ReferenceStateCheck):
        return await _check_reference_state(check, task, environment, snapshot, environment_class)
    # every other kind, built in or registered, is found the same way
    kind = CHECKS.get(check.type)
    context = CheckContext(task, trajectory, environment, snapshot, judge)
    passed, evidence = await evaluate_kind(kind, check, context)
    return bool(passed), evidence


def _withhold_credit(verdicts: list[Verdict], reason: str) -> None:
    """Turn every passed item into a failure that says why (see :func:`no_credit_reason`)."""
    for verdict in verdicts:
        if verdict.passed:
            verdict.passed = False
            verdict.evidence = {"no_credit": reason, "as_checked": verdict.evidence}


def _score(verdicts: list[Verdict], no_credit: str | None) -> tuple[float, bool]:
    if no_credit is not None:
        return 0.0, False
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
        The verdicts in checklist order, the weighted score and success; an episode
        that did nothing (:func:`no_credit_reason`) scores 0.0 and fails, its passed
        items turned into failures that say why.
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
    no_credit = None if _judges_idle(task) else no_credit_reason(trajectory)
    if no_credit is not None:
        _withhold_credit(verdicts, no_credit)
    score, success = _score(verdicts, no_credit)
    return ScoreReport(verdicts, score, success, no_credit)


def _judges_idle(task: Task) -> bool:
    """Whether every item's kind decides for itself what an episode that did nothing
    earns (a ported benchmark's own checker, which sandlot must not overrule: the kind
    sets ``credits_idle = True``); then the no-credit rule does not apply."""
    if not task.checklist:
        return False
    for item in task.checklist:
        try:
            kind = CHECKS.get(item.check.type) if item.check.type in CHECKS else None
        except Exception:  # a kind that fails to load is reported by its own item
            return False
        if not getattr(kind, "credits_idle", False):
            return False
    return True
