"""The Environment interface and the registry of environments by name."""

from __future__ import annotations

import abc
import json
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, ClassVar, Generic, TypeVar, cast

from pydantic import BaseModel, ConfigDict, ValidationError

from sandlot.environments.snapshots import compare_states
from sandlot.environments.tasks import StateCheck, StrictStateCheck
from sandlot.environments.tool_states import ToolStates, merge_tool_states, unavailable_after
from sandlot.errors import UnknownEnvironmentError
from sandlot.registry import WORLDS
from sandlot.tools.calls import ToolCall
from sandlot.tools.context import StateT, ToolContext
from sandlot.tools.invoke import invoke_tool
from sandlot.tools.sources import tools_for

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.environments.sandbox.base import Sandbox
    from sandlot.environments.tasks import Task
    from sandlot.environments.trajectory import ToolCallRecord
    from sandlot.tools.toolset import Toolset

__all__ = [
    "AnyInitialState",
    "CheckT",
    "Environment",
    "InitialT",
    "StateT",
    "UnknownEnvironmentError",
    "environment_names",
    "get_environment_class",
    "make_environment",
    "register_environment",
]


# StateT (from tools.context): the world's per-episode state, what tools see as ctx.state
InitialT = TypeVar("InitialT", bound=BaseModel)  # the world's initial_state model
CheckT = TypeVar("CheckT", bound=BaseModel)  # the world's state-check model


class AnyInitialState(BaseModel):
    """The initial-state model of a world that declares none: any keys, unchecked."""

    model_config = ConfigDict(extra="allow")


class Environment(abc.ABC, Generic[StateT, InitialT, CheckT]):
    """A world the agent acts in: its tools, its state, a fresh isolated copy per episode.

    One instance serves one episode at a time: the runner makes an instance per episode
    with :func:`make_environment`, calls ``await reset(task)``, hands the tools
    ``context()``, checks the final state with ``check_state``, stores ``snapshot()``
    and calls ``close()``.

    A world is a contract, generic over its own models: ``StateT`` (what its tools see
    as ``ctx.state``), ``InitialT`` (a task's ``initial_state``, declared as
    ``initial_state_model``) and ``CheckT`` (its state-check language, declared as
    ``state_check_model``). The loader and the runner reach a world only through the
    methods declared here: ``validate_initial_state`` and ``validate_state_check`` (what
    ``sandlot tasks validate`` checks), ``reset``, ``check_state``, ``check_snapshot``,
    ``snapshot``, and — for ``reference_state`` checks, which every world has —
    ``reference_snapshot`` and ``compare_snapshots``.

    Trusted tool code (the environment author's) runs in-process over ``self.state``;
    untrusted code (the model's) runs in ``self.sandbox``.
    """

    name: ClassVar[str] = "abstract"
    description: ClassVar[str] = ""
    uses_sandbox: ClassVar[bool] = False  # the runner pools Docker sandboxes for these
    # The world's policy: its rules for the agent, sent after the generic prompts (see
    # system_prompt). The generic prompts say nothing about any world.
    policy: ClassVar[str] = ""
    # Which tools are available when, declared as a graph (see tool_states.py): e.g.
    # ToolStates(after={"cancel_order_item": ["get_order"]}). A task adds to it.
    tool_states: ClassVar[ToolStates | None] = None

    # The world's pydantic models (ClassVars cannot name the type variables; the
    # classmethods below return InitialT and CheckT).
    initial_state_model: ClassVar[type[BaseModel]] = AnyInitialState
    state_check_model: ClassVar[type[BaseModel]] = StrictStateCheck

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.state: StateT = cast("StateT", None)  # set by reset()
        self.sandbox: Sandbox | None = None
        self.task: Task | None = None

    @classmethod
    @abc.abstractmethod
    def default_toolset(cls) -> Toolset:
        """The world's own tools (what ``sandlot tools list --env NAME`` prints)."""

    @property
    def toolset(self) -> Toolset:
        """The tools the agent may call: the world's own plus ``extra_tools`` given as an
        option (Tools, and Toolsets whose ``worlds`` include this one), which is how a
        user adds a tool to a world."""
        cached = getattr(self, "_toolset", None)
        if cached is None:
            cached = self.default_toolset().copy()
            for extra in tools_for(self.name, self.options.get("extra_tools") or ()):
                cached.add(extra)
            self._toolset = cached
        return cached

    def toolset_for(self, task: Task) -> Toolset:
        """The tools the world offers for ``task``, known before ``reset(task)`` (what an
        episode's record lists as offered). A world whose tools depend on the task
        overrides it; by default the task changes nothing: :attr:`toolset`."""
        return self.toolset

    @classmethod
    def validate_initial_state(cls, task: Task) -> InitialT:
        """``task.initial_state`` as the world's ``initial_state_model``.

        Raises:
            pydantic.ValidationError: an unknown key or a value of the wrong shape; each
                error's location is under ``initial_state`` (the loader reports it as a
                TaskFileError naming the file, the task and the field).
        """
        return cast("InitialT", cls.initial_state_model.model_validate(task.initial_state))

    @classmethod
    def validate_state_check(cls, check: StateCheck | BaseModel) -> CheckT:
        """A task's state check read as the world's ``state_check_model`` (a check that
        already is one is returned as is).

        Raises:
            pydantic.ValidationError: a key the world's language does not have, or a
                check of the wrong shape for this world (e.g. ``file`` in the store).
        """
        if isinstance(check, cls.state_check_model):
            return cast("CheckT", check)
        data = check.model_dump(exclude_unset=True) if isinstance(check, BaseModel) else check
        return cast("CheckT", cls.state_check_model.model_validate(data))

    @classmethod
    def check_initial_state(cls, task: Task) -> InitialT:
        """``validate_initial_state`` for ``reset``.

        Raises:
            ValueError: naming the task and each problem (an unknown key, with the keys
                the world takes; a value of the wrong shape, with its field).
        """
        try:
            return cls.validate_initial_state(task)
        except ValidationError as exc:
            raise ValueError(f"task {task.id!r}: {cls._initial_problems(exc)}") from exc

    @classmethod
    def _initial_problems(cls, exc: ValidationError) -> str:
        unknown = [e for e in exc.errors() if e["type"] == "extra_forbidden"]
        parts = []
        if unknown:
            keys = sorted(str(e["loc"][-1]) for e in unknown)
            parts.append(
                f"unknown initial_state key(s) {keys}; the {cls.name} world takes "
                f"{sorted(cls.initial_state_model.model_fields)}"
            )
        for err in exc.errors():
            if err["type"] == "extra_forbidden":
                continue
            where = "initial_state" + "".join(
                f"[{p!r}]" if isinstance(p, str) and i > 0 else f".{p}"
                for i, p in enumerate(err["loc"])
            )
            said = str(err.get("ctx", {}).get("error") or err["msg"])
            parts.append(said if said.startswith("initial_state") else f"{where}: {said}")
        return "; ".join(parts)

    @abc.abstractmethod
    async def reset(self, task: Task) -> None:
        """Build a fresh, private copy of the world for ``task`` (its initial_state)."""

    @abc.abstractmethod
    async def check_state(self, check: CheckT) -> tuple[bool, Any]:
        """Evaluate a state check (already read by ``validate_state_check``) on the
        current state: (passed, evidence)."""

    @classmethod
    def check_snapshot(cls, snapshot: dict[str, Any], check: CheckT) -> tuple[bool, Any]:
        """Evaluate a state check on a stored ``snapshot()`` instead of a live world (for
        re-scoring stored episodes). Raise NotImplementedError when the check cannot be
        answered from a snapshot (e.g. a command that must run in a sandbox)."""
        raise NotImplementedError(f"environment {cls.name!r} cannot check stored snapshots")

    def call_changes(self, call: ToolCallRecord) -> dict[str, Any] | None:
        """What the tool call that just returned changed, when the world can tell cheaply
        (the runner asks after every call, recorded or not, in order): ``{"rows": {table:
        [key, ...]}}`` for rows inserted, updated or deleted, ``{"files": [path, ...]}``
        for files written (relative to the world's top folder); None when nothing
        changed or the world cannot tell. A failed check links to the calls that changed
        what it looked at. Defaults to None."""
        return None

    @classmethod
    def declared_tool_states(cls, task: Task | None) -> ToolStates:
        """The world's ``tool_states`` graph with ``task``'s added to it."""
        return merge_tool_states(cls.tool_states, task.tool_states if task else None)

    def unavailable_tools(self, calls: Sequence[ToolCallRecord]) -> dict[str, str]:
        """The tools not available now, each with the reason the model is told; the
        others are. ``calls`` are the episode's tool calls so far, in order.

        The agent is offered only the available tools, and a call to one that is not is
        refused without running (recorded with ``refused``). Asked before every model
        call and every tool call, so it must be cheap, and a function of the world's
        state and ``calls`` alone: a replay or a resume asks again and gets the same
        answer. Defaults to the declared graph (``declared_tool_states``) over the
        calls that succeeded; a world whose rule reads its own data overrides it (and
        usually keeps the graph's answer too).
        """
        graph = self.declared_tool_states(self.task)
        if not graph.after:
            return {}
        return unavailable_after(graph, (c.name for c in calls if c.ok and not c.submit))

    def snapshot(self) -> dict[str, Any]:
        """The current state as JSON-able data (stored in the trace for re-scoring)."""
        return {}

    async def snapshot_async(self) -> dict[str, Any]:
        """The snapshot, for worlds whose state must be read asynchronously (a sandbox's
        files); the runner stores what this returns. Defaults to ``snapshot()``."""
        return self.snapshot()

    @property
    def sandbox_backend(self) -> str | None:
        """Which sandbox backend this episode used, if any (recorded in the trace)."""
        return None if self.sandbox is None else self.sandbox.backend

    @classmethod
    async def reference_snapshot(cls, task: Task, **options: Any) -> dict[str, Any]:
        """The snapshot the task's reference solution leaves: its calls run, in order,
        through ``invoke_tool`` on a fresh instance made with ``options`` (no model; a
        call that fails is left failed, as it would be for the oracle).

        Raises:
            ValueError: the task has no reference solution.
        """
        if task.reference is None:
            raise ValueError(f"task {task.id!r} has no reference solution to compare with")
        env = cls(**options)
        try:
            await env.reset(task)
            ctx = env.context(task_id=task.id)
            for i, call in enumerate(task.reference.calls):
                made = ToolCall(
                    id=f"reference-{i}", name=call.tool, arguments=json.dumps(call.args)
                )
                await invoke_tool(env.toolset, made, ctx)
            return await env.snapshot_async()
        finally:
            await env.close()

    @classmethod
    def comparable_state(cls, snapshot: dict[str, Any]) -> Any:
        """A snapshot as ``compare_snapshots`` compares it, and as ``ignore`` paths of a
        ``reference_state`` check address it. Defaults to the snapshot itself."""
        return snapshot

    @classmethod
    def compare_snapshots(
        cls, actual: dict[str, Any], expected: dict[str, Any], ignore: list[str]
    ) -> tuple[bool, Any]:
        """Whether two snapshots hold the same state, leaving out the ``ignore`` paths:
        (passed, evidence listing the first differences by path)."""
        return compare_states(cls.comparable_state(actual), cls.comparable_state(expected), ignore)

    def system_prompt(self, task: Task) -> str:
        """The world's policy for ``task``: ``policy`` with the task's ``policy_addition``
        after it ("" when neither says anything). The agent's planner and executor send
        it after their generic prompts; the trace records it with the episode."""
        parts = (self.policy.strip(), task.policy_addition.strip())
        return "\n\n".join(part for part in parts if part)

    def context(self, *, episode_id: str = "", task_id: str = "") -> ToolContext[StateT]:
        return ToolContext(
            state=self.state,
            sandbox=self.sandbox,
            environment=self,
            episode_id=episode_id,
            task_id=task_id,
        )

    async def close(self) -> None:
        """Release the episode's state and sandbox; safe to call twice."""
        if self.sandbox is not None:
            await self.sandbox.close()
            self.sandbox = None

    async def __aenter__(self) -> Environment:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


# Worlds are found through the one registry of extension points (sandlot.registry):
# registered in code, built in, or from the ``sandlot.worlds`` entry points.


def register_environment(cls: type[Environment]) -> type[Environment]:
    """Class decorator: make ``cls`` reachable by ``cls.name`` from task files."""
    WORLDS.register(cls.name, cls)
    return cls


def environment_names() -> list[str]:
    return WORLDS.names()


def get_environment_class(name: str) -> type[Environment]:
    """Find an environment class: registered in code, built in, or from an entry point.

    Raises:
        UnknownEnvironmentError: no world has that name.
        ExtensionLoadError: the world's entry point failed to import.
    """
    cls: type[Environment] = WORLDS.get(name)
    return cls


def make_environment(name: str, **options: Any) -> Environment[Any, Any, Any]:
    return get_environment_class(name)(**options)
