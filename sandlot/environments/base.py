"""The Environment interface and the registry of environments by name."""

from __future__ import annotations

import abc
from importlib.metadata import entry_points
from typing import TYPE_CHECKING, Any, ClassVar

from sandlot.errors import UnknownEnvironmentError
from sandlot.tools.context import ToolContext

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.environments.sandbox.base import Sandbox
    from sandlot.environments.tasks import StateCheck, Task
    from sandlot.tools.toolset import Toolset

__all__ = [
    "Environment",
    "UnknownEnvironmentError",
    "environment_names",
    "get_environment_class",
    "make_environment",
    "register_environment",
]


class Environment(abc.ABC):
    """A world the agent acts in: its tools, its state, a fresh isolated copy per episode.

    One instance serves one episode at a time: the runner makes an instance per episode
    with :func:`make_environment`, calls ``await reset(task)``, hands the tools
    ``context()``, checks the final state with ``check_state``, stores ``snapshot()``
    and calls ``close()``.

    Trusted tool code (the environment author's) runs in-process over ``self.state``;
    untrusted code (the model's) runs in ``self.sandbox``.
    """

    name: ClassVar[str] = "abstract"
    description: ClassVar[str] = ""
    uses_sandbox: ClassVar[bool] = False  # the runner pools Docker sandboxes for these

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.state: Any = None
        self.sandbox: Sandbox | None = None
        self.task: Task | None = None

    @classmethod
    @abc.abstractmethod
    def default_toolset(cls) -> Toolset:
        """The world's own tools (what ``sandlot tools list --env NAME`` prints)."""

    @property
    def toolset(self) -> Toolset:
        """The tools the agent may call: the world's own plus ``extra_tools`` given as an
        option (a list of Tool objects), which is how a user adds a tool to a world."""
        cached = getattr(self, "_toolset", None)
        if cached is None:
            cached = self.default_toolset().copy()
            for extra in self.options.get("extra_tools") or ():
                cached.add(extra)
            self._toolset = cached
        return cached

    initial_state_keys: ClassVar[frozenset[str]] = frozenset()  # what initial_state may hold

    def check_initial_state(self, task: Task) -> None:
        """Refuse initial_state keys this world does not know, naming the task."""
        unknown = set(task.initial_state) - self.initial_state_keys
        if unknown:
            raise ValueError(
                f"task {task.id!r}: unknown initial_state key(s) {sorted(unknown)}; the "
                f"{self.name} world takes {sorted(self.initial_state_keys)}"
            )

    @abc.abstractmethod
    async def reset(self, task: Task) -> None:
        """Build a fresh, private copy of the world for ``task`` (its initial_state)."""

    @abc.abstractmethod
    async def check_state(self, check: StateCheck) -> tuple[bool, Any]:
        """Evaluate a state check on the current state: (passed, evidence)."""

    @classmethod
    def check_snapshot(cls, snapshot: dict[str, Any], check: StateCheck) -> tuple[bool, Any]:
        """Evaluate a state check on a stored ``snapshot()`` instead of a live world (for
        re-scoring stored episodes). Raise NotImplementedError when the check cannot be
        answered from a snapshot (e.g. a command that must run in a sandbox)."""
        raise NotImplementedError(f"environment {cls.name!r} cannot check stored snapshots")

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

    def context(self, *, episode_id: str = "", task_id: str = "") -> ToolContext:
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


_REGISTRY: dict[str, type[Environment]] = {}
_BUILTINS = {
    "store": "sandlot.environments.worlds.store:StoreEnvironment",
    "workspace": "sandlot.environments.worlds.workspace:WorkspaceEnvironment",
}


def register_environment(cls: type[Environment]) -> type[Environment]:
    """Class decorator: make ``cls`` reachable by ``cls.name`` from task files."""
    _REGISTRY[cls.name] = cls
    return cls


def _load(target: str) -> type[Environment]:
    module_name, _, attr = target.partition(":")
    module = __import__(module_name, fromlist=[attr])
    return getattr(module, attr)


def environment_names() -> list[str]:
    names = set(_REGISTRY) | set(_BUILTINS)
    names |= {ep.name for ep in entry_points(group="sandlot.environments")}
    return sorted(names)


def get_environment_class(name: str) -> type[Environment]:
    """Find an environment class: registered, built in, or from an entry point."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    if name in _BUILTINS:
        cls = _load(_BUILTINS[name])
        _REGISTRY[name] = cls
        return cls
    for ep in entry_points(group="sandlot.environments"):
        if ep.name == name:
            cls = ep.load()
            _REGISTRY[name] = cls
            return cls
    raise UnknownEnvironmentError(name, environment_names())


def make_environment(name: str, **options: Any) -> Environment:
    return get_environment_class(name)(**options)
