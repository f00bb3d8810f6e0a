"""Check kinds: how a checklist item of each ``type`` is read and evaluated.

A check kind is an object with

* ``model`` — the pydantic model of the item's ``check:`` mapping (its ``type`` field
  names the kind), which the loader validates task files against, and
* ``evaluate(check, context)`` — sync or async, returning ``(passed, evidence)``; raise
  :class:`~sandlot.environments.checklist_checks.CheckSkipped` when the item cannot be
  checked here (it is then skipped, with the reason).

Every kind is found through ``sandlot.registry.CHECKS``: the built-in ones below, kinds
registered in code (``CHECKS.register("mine", MyKind())``) and the ``sandlot.checks``
entry points. State items (``state``, ``reference_state``) are the world's own and are
answered by the world. See docs/guides/check-kind.md.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from pydantic import BaseModel

from sandlot.environments.checklist_answers import check_answer
from sandlot.environments.checklist_checks import (
    check_called,
    check_max_steps,
    check_not_called,
    check_order,
)
from sandlot.environments.checklist_judge import check_judge
from sandlot.environments.tasks import (
    AnswerCheck,
    CalledCheck,
    JudgeCheck,
    MaxStepsCheck,
    NotCalledCheck,
    OrderCheck,
    Task,
)
from sandlot.environments.trajectory import Trajectory

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.environments.base import Environment
    from sandlot.environments.model import Model

__all__ = [
    "ANSWER",
    "CALLED",
    "JUDGE",
    "MAX_STEPS",
    "NOT_CALLED",
    "ORDER",
    "CheckContext",
    "CheckKind",
    "evaluate_kind",
]


@dataclass(frozen=True)
class CheckContext:
    """What a check kind may look at: the task, what the episode did, the world after it
    (live, or its stored snapshot when re-scoring), and the judge model if any."""

    task: Task
    trajectory: Trajectory
    environment: Environment[Any, Any, Any] | None = None
    snapshot: dict[str, Any] | None = None
    judge: Model | None = None


class CheckKind(Protocol):
    model: type[BaseModel]

    def evaluate(self, check: Any, context: CheckContext) -> Any:
        """``(passed, evidence)``, or an awaitable of it."""
        ...


async def evaluate_kind(kind: CheckKind, check: BaseModel, context: CheckContext) -> Any:
    """Run ``kind`` on ``check`` (re-read with the kind's model when it is not yet one)."""
    if not isinstance(check, kind.model):
        check = kind.model.model_validate(check.model_dump())
    result = kind.evaluate(check, context)
    return await result if inspect.isawaitable(result) else result


class _Called:
    model: ClassVar[type[BaseModel]] = CalledCheck

    def evaluate(self, check: CalledCheck, context: CheckContext) -> tuple[bool, Any]:
        return check_called(check, context.trajectory.tools_used)


class _NotCalled:
    model: ClassVar[type[BaseModel]] = NotCalledCheck

    def evaluate(self, check: NotCalledCheck, context: CheckContext) -> tuple[bool, Any]:
        return check_not_called(check, context.trajectory.tools_used)


class _Order:
    model: ClassVar[type[BaseModel]] = OrderCheck

    def evaluate(self, check: OrderCheck, context: CheckContext) -> tuple[bool, Any]:
        return check_order(check, context.trajectory.tools_used)


class _MaxSteps:
    model: ClassVar[type[BaseModel]] = MaxStepsCheck

    def evaluate(self, check: MaxStepsCheck, context: CheckContext) -> tuple[bool, Any]:
        trajectory = context.trajectory
        # the agent's calls: a judge's (recorded with the episode) are not its steps
        agent_calls = sum(1 for m in trajectory.model_calls if m.purpose != "judge")
        return check_max_steps(check, trajectory.tools_used, agent_calls)


class _Answer:
    model: ClassVar[type[BaseModel]] = AnswerCheck

    def evaluate(self, check: AnswerCheck, context: CheckContext) -> tuple[bool, Any]:
        trajectory = context.trajectory
        # scope conversation: what the agent told the simulated user (docs/users.md)
        texts = trajectory.conversation if check.scope == "conversation" else trajectory.replies
        return check_answer(check, trajectory.answer, texts)


class _Judge:
    model: ClassVar[type[BaseModel]] = JudgeCheck

    async def evaluate(self, check: JudgeCheck, context: CheckContext) -> tuple[bool, Any]:
        return await check_judge(check, context.task, context.trajectory, context.judge)


CALLED = _Called()
NOT_CALLED = _NotCalled()
ORDER = _Order()
MAX_STEPS = _MaxSteps()
ANSWER = _Answer()
JUDGE = _Judge()
