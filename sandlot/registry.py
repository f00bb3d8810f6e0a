"""One registry for every extension point: worlds, tools, sandbox backends, model
providers, check kinds, tool retrievers and task sets.

Each extension point is a :class:`Registry` below (:data:`WORLDS`, :data:`TOOLS`,
:data:`SANDBOXES`, :data:`MODELS`, :data:`CHECKS`, :data:`RETRIEVERS`, :data:`TASKSETS`). A name reaches
one in three ways, and every caller (the CLI, the runner, ``tasks validate``, ``score``,
``replay``, ``--resume`` in a new process) resolves it the same way, with
:meth:`Registry.get`:

* **builtin** — sandlot's own, given as ``"module:attribute"`` and imported when first
  asked for;
* **code** — ``REGISTRY.register("name", obj)`` (or an import path) in a running process;
* **entry point** — an installed distribution publishes ``name = "module:attribute"``
  in the registry's entry-point group (``sandlot.worlds``, ``sandlot.tools``,
  ``sandlot.sandboxes``, ``sandlot.models``, ``sandlot.checks``, ``sandlot.retrievers``,
  ``sandlot.tasksets``);
  it is imported only when the name is asked for, and a failed import is a
  :class:`ExtensionLoadError` that names the entry point and its distribution — never a
  bare traceback.

A name registered in code wins over a builtin, and a builtin over an entry point. This
module imports only the standard library and :mod:`sandlot.errors` (targets are import
paths), so every part of sandlot can use it. See docs/guides/.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from importlib.metadata import EntryPoint, entry_points
from typing import Any, Generic, TypeVar

from sandlot.errors import (
    ExtensionLoadError,
    UnknownEnvironmentError,
    UnknownNameError,
    UserError,
)

__all__ = [
    "CHECKS",
    "MODELS",
    "RETRIEVERS",
    "SANDBOXES",
    "TASKSETS",
    "TOOLS",
    "WORLDS",
    "Entry",
    "ExtensionLoadError",
    "Registry",
    "UnknownNameError",
    "import_target",
]

T = TypeVar("T")

BUILTIN = "builtin"
CODE = "code"
ENTRY_POINT = "entry point"


@dataclass(frozen=True)
class Entry:
    """One name of a registry and where it came from (what ``sandlot worlds list`` shows).

    Attributes:
        name: The name a task file or the command line uses.
        target: ``module:attribute``, or the registered object's qualified name.
        source: ``builtin``, ``code`` or ``entry point``.
        distribution: For an entry point, ``NAME VERSION`` of the distribution that
            publishes it.
        group: For an entry point, its group.
    """

    name: str
    target: str
    source: str
    distribution: str | None = None
    group: str | None = None

    @property
    def origin(self) -> str:
        """Where the name came from, in words."""
        if self.source != ENTRY_POINT:
            return self.source
        dist = f", distribution {self.distribution}" if self.distribution else ""
        return f"entry point {self.target!r} (group {self.group}{dist})"


def _qualname(obj: object) -> str:
    module = getattr(obj, "__module__", None) or type(obj).__module__
    name = getattr(obj, "__qualname__", None) or getattr(obj, "__name__", None)
    return f"{module}:{name}" if name else f"{module}:{type(obj).__qualname__} object"


def import_target(target: str) -> Any:
    """Import ``module:attribute`` (or ``module`` alone, giving the module).

    Raises:
        ImportError, AttributeError: what importing raised.
    """
    module_name, _, attr = target.partition(":")
    value: Any = importlib.import_module(module_name)
    for part in attr.split(".") if attr else ():
        value = getattr(value, part)
    return value


class Registry(Generic[T]):
    """Names to extensions of one kind, from builtins, code and entry points.

    Args:
        kind: What one extension is called in messages ("world", "sandbox backend").
        groups: The entry-point groups to discover, first wins on a clash.
        expects: ``module:Class`` the loaded object must be (a subclass or an instance
            of); checked when the name is first resolved.
        unknown: Builds the error for a name that is not there (default
            :class:`UnknownNameError`).
    """

    def __init__(
        self,
        kind: str,
        groups: tuple[str, ...] = (),
        *,
        expects: str | None = None,
        unknown: Callable[[str, list[str]], Exception] | None = None,
    ) -> None:
        self.kind = kind
        self.groups = groups
        self.expects = expects
        self._unknown = unknown or (lambda name, known: UnknownNameError(kind, name, known))
        self._builtins: dict[str, Entry] = {}
        self._code: dict[str, Entry] = {}  # wins over a builtin of the same name
        self._loaded: dict[str, T] = {}

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, groups={self.groups!r})"

    def register(self, name: str, target: T | str, *, source: str = CODE) -> T | str:
        """Make ``target`` reachable as ``name``; returns ``target`` (so it decorates).

        Args:
            name: The name task files and the command line use.
            target: The object, or its import path ``"module:attribute"`` (imported
                when the name is first asked for).
            source: ``code`` (the default) or ``builtin``.

        Raises:
            UserError: ``name`` is empty, or ``source`` is neither code nor builtin.
        """
        if not isinstance(name, str) or not name.strip():
            raise UserError(f"a {self.kind} needs a non-empty name, got {name!r}")
        if source not in (CODE, BUILTIN):
            raise UserError(f"register a {self.kind} with source 'code' or 'builtin'")
        self._loaded.pop(name, None)
        table = self._code if source == CODE else self._builtins
        if isinstance(target, str):
            table[name] = Entry(name, target, source)
        else:
            table[name] = Entry(name, _qualname(target), source)
            self._loaded[name] = target
        return target

    def unregister(self, name: str) -> None:
        """Forget a name registered in code (a builtin or entry point comes back)."""
        if self._code.pop(name, None) is not None:
            self._loaded.pop(name, None)

    def _entry_points(self) -> Iterator[tuple[EntryPoint, str]]:
        for group in self.groups:
            for ep in entry_points(group=group):
                yield ep, group

    def entries(self) -> list[Entry]:
        """Every name with where it came from, sorted by name; nothing is imported."""
        found = {**self._builtins, **self._code}
        for ep, group in self._entry_points():
            if ep.name not in found:
                dist = f"{ep.dist.name} {ep.dist.version}" if ep.dist is not None else None
                found[ep.name] = Entry(ep.name, ep.value, ENTRY_POINT, dist, group)
        return [found[n] for n in sorted(found)]

    def names(self) -> list[str]:
        """Every name, sorted."""
        return [e.name for e in self.entries()]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.names()

    def entry(self, name: str) -> Entry:
        """Where ``name`` comes from.

        Raises:
            UserError: no such name (the message lists the known ones).
        """
        if name in self._code or name in self._builtins:
            return self._code.get(name) or self._builtins[name]
        for e in self.entries():
            if e.name == name:
                return e
        raise self._unknown(name, self.names())

    def get(self, name: str) -> T:
        """The extension called ``name``, imported on first use.

        Raises:
            UserError: no such name (the message lists the known ones).
            ExtensionLoadError: its target failed to import or is the wrong kind of object.
        """
        if name in self._loaded:
            return self._loaded[name]
        entry = self.entry(name)
        where = f"{self.kind} {name!r} from {entry.origin}"
        if entry.source != ENTRY_POINT:
            where = f"{self.kind} {name!r} ({entry.source}, {entry.target!r})"
        try:
            value = import_target(entry.target)
        except Exception as exc:
            raise ExtensionLoadError(
                f"{where} failed to import: {type(exc).__name__}: {exc}"
            ) from exc
        self._check(where, value)
        self._loaded[name] = value
        return value

    def _check(self, where: str, value: object) -> None:
        if self.expects is None:
            return
        base = import_target(self.expects)
        if isinstance(value, base) or (isinstance(value, type) and issubclass(value, base)):
            return
        raise ExtensionLoadError(
            f"{where} is a {type(value).__name__} ({value!r}), not a {base.__name__}"
        )


def _unknown_world(name: str, known: list[str]) -> Exception:
    return UnknownEnvironmentError(name, known)


WORLDS: Registry[Any] = Registry(
    "world",
    ("sandlot.worlds", "sandlot.environments"),  # the second is the group's old name
    expects="sandlot.environments.base:Environment",
    unknown=_unknown_world,
)
"""Environment classes by name (``environment:`` in a task file, ``--env``)."""

TOOLS: Registry[Any] = Registry("toolset", ("sandlot.tools",))
"""Tools to add to a world by name (``--tools NAME``): a Tool, a Toolset or a module."""

SANDBOXES: Registry[Any] = Registry("sandbox backend", ("sandlot.sandboxes",))
"""Sandbox backends (``--sandbox NAME``): ``backend(limits, run_id=...)`` returns a
started Sandbox, or an awaitable of one."""

MODELS: Registry[Any] = Registry("model provider", ("sandlot.models",))
"""Model providers (``--model KIND:REST``): ``provider(rest, **options)`` returns a Model."""

CHECKS: Registry[Any] = Registry("check kind", ("sandlot.checks",))
"""Checklist item kinds (``check: {type: KIND}`` in a task file)."""

RETRIEVERS: Registry[Any] = Registry("retriever", ("sandlot.retrievers",))
"""Tool retrievers (``--retriever NAME``): a factory ``factory(toolset)`` that returns a
Retriever, or a ready Retriever (see :mod:`sandlot.retrieval`)."""

TASKSETS: Registry[Any] = Registry("task set", ("sandlot.tasksets",))
"""Task sets by name (``sandlot run NAME:SUBSET``, e.g. ``bfcl:multi_turn_base``): a
callable ``task_set(subset)`` that returns the subset's tasks (Task objects or task
mappings) and raises :class:`~sandlot.errors.UserError` for a subset it does not have.
A third-party benchmark ported onto sandlot publishes its tasks this way."""

for _name, _target in {
    "agentdojo-banking": "sandlot.environments.worlds.agentdojo:AgentDojoBanking",
    "agentdojo-slack": "sandlot.environments.worlds.agentdojo:AgentDojoSlack",
    "agentdojo-travel": "sandlot.environments.worlds.agentdojo:AgentDojoTravel",
    "agentdojo-workspace": "sandlot.environments.worlds.agentdojo:AgentDojoWorkspace",
    "blocksworld": "sandlot.environments.worlds.blocksworld:BlocksworldEnvironment",
    "bfcl": "sandlot.environments.worlds.bfcl:BfclEnvironment",
    "catalog": "sandlot.environments.worlds.catalog:CatalogEnvironment",
    "graphnav": "sandlot.environments.worlds.graphnav:GraphnavEnvironment",
    "store": "sandlot.environments.worlds.store:StoreEnvironment",
    "workspace": "sandlot.environments.worlds.workspace:WorkspaceEnvironment",
}.items():
    WORLDS.register(_name, _target, source=BUILTIN)
for _name in ("docker", "local"):
    SANDBOXES.register(
        _name, f"sandlot.environments.sandbox.factory:{_name}_backend", source=BUILTIN
    )
for _name, _attr in {
    "called": "CALLED",
    "not_called": "NOT_CALLED",
    "order": "ORDER",
    "max_steps": "MAX_STEPS",
    "answer": "ANSWER",
    "judge": "JUDGE",
}.items():
    CHECKS.register(_name, f"sandlot.environments.check_kinds:{_attr}", source=BUILTIN)
CHECKS.register("asked", "sandlot.environments.checklist_conversation:ASKED", source=BUILTIN)
CHECKS.register(
    "agentdojo_utility",
    "sandlot.environments.worlds.agentdojo.checks:AGENTDOJO_UTILITY",
    source=BUILTIN,
)
TASKSETS.register(
    "agentdojo", "sandlot.environments.worlds.agentdojo.tasksets:agentdojo_task_set", source=BUILTIN
)
CHECKS.register("bfcl", "sandlot.environments.worlds.bfcl.scoring:BFCL_CHECK", source=BUILTIN)
TASKSETS.register("bfcl", "sandlot.environments.worlds.bfcl.tasksets:bfcl_task_set", source=BUILTIN)
for _name in ("bm25", "embedding", "hybrid"):
    RETRIEVERS.register(_name, f"sandlot.retrieval.{_name}:{_name}_retriever", source=BUILTIN)
for _name in ("oracle", "null", "openai", "llama", "scripted", "replay"):
    MODELS.register(_name, f"sandlot.agents.models.registry:{_name}_provider", source=BUILTIN)
