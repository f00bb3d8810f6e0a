"""The bfcl world: BFCL's multi-turn backends (a file system, a messaging app, a trading
bot, a vehicle...) as a sandlot world."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sandlot.environments.base import Environment
from sandlot.environments.tasks import StrictStateCheck, Task
from sandlot.environments.worlds.bfcl.backends import Instances, load_instances, plain
from sandlot.environments.worlds.bfcl.source import CLASS_DOCS
from sandlot.environments.worlds.bfcl.tools import bfcl_toolset, tool_classes
from sandlot.tools import Toolset

__all__ = ["BfclEnvironment", "BfclStart"]

POLICY = (
    "You act for the user through the tools of the applications below. Each user message "
    "is a request: carry it out with tool calls, then reply to the user without a tool "
    "call; their next request comes back. Use only values the user gave or the tools "
    "returned."
)
_NO_STATE = (
    "the bfcl world answers no `state` items: score with the `bfcl` check kind, which "
    "compares the world's state after each turn with the ground truth's"
)


class BfclStart(BaseModel):
    """A bfcl task's initial state: the backend classes it involves (their tools are the
    task's tools), each one's initial configuration (BFCL's ``initial_config``), and
    whether the long-context data is loaded (BFCL's long_context subset)."""

    model_config = ConfigDict(extra="forbid")
    classes: list[str] = Field(min_length=1)
    config: dict[str, Any] = Field(default_factory=dict)
    long_context: bool = False

    @field_validator("classes")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = [c for c in value if c not in CLASS_DOCS]
        if unknown:
            raise ValueError(f"unknown backend class(es) {unknown}; known: {sorted(CLASS_DOCS)}")
        return value


class BfclEnvironment(Environment[Instances, BfclStart, StrictStateCheck]):
    """BFCL's multi-turn backends (the ``bfcl-eval`` package): the state is one instance
    of each class the task involves, loaded from its initial configuration by BFCL's own
    code; the tools are those classes' documented functions, run on the instances.
    Tasks come from the ``bfcl`` task set (``bfcl:multi_turn_base``) and are scored by
    the ``bfcl`` check kind."""

    name = "bfcl"
    description = (
        "BFCL's multi-turn backends (file system, messages, posts, tickets, trading, "
        "travel, vehicle, math) from bfcl-eval; a task offers its classes' tools."
    )
    policy = POLICY
    initial_state_model = BfclStart

    @classmethod
    def default_toolset(cls) -> Toolset:
        return bfcl_toolset()

    @property
    def toolset(self) -> Toolset:
        """The tools of the task's classes (every class's before a task is set), with
        any tools added to the world."""
        if self.task is None:
            return super().toolset
        cached: Toolset | None = self.__dict__.get("_task_toolset")
        if cached is None:
            cached = self.__dict__["_task_toolset"] = self.toolset_for(self.task)
        return cached

    def toolset_for(self, task: Task) -> Toolset:
        """The tools of ``task``'s classes, with any tools added to the world."""
        full = super().toolset
        start = self.check_initial_state(task)
        owners = tool_classes()
        keep = [t for t in full if owners.get(t.name, None) in (*start.classes, None)]
        return Toolset(full.name, keep, worlds=full.worlds)

    async def reset(self, task: Task) -> None:
        start = self.check_initial_state(task)
        self.task = task
        self.__dict__.pop("_task_toolset", None)
        self.state = load_instances(start.classes, start.config, long_context=start.long_context)

    def snapshot(self) -> dict[str, Any]:
        state = self.state or {}
        return {name: plain(instance) for name, instance in state.items()}

    async def check_state(self, check: StrictStateCheck) -> tuple[bool, Any]:
        return False, {"error": _NO_STATE}

    @classmethod
    def check_snapshot(cls, snapshot: dict[str, Any], check: StrictStateCheck) -> tuple[bool, Any]:
        return False, {"error": _NO_STATE}
