"""Toolset: a named, ordered collection of tools, from code, modules or entry points."""

from __future__ import annotations

import difflib
import hashlib
import importlib
import importlib.util
import sys
from collections.abc import Iterable, Iterator
from importlib.metadata import entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

from sandlot.registry import TOOLS
from sandlot.tools.decorator import Tool
from sandlot.tools.suggest import close_path

__all__ = ["Toolset"]


class Toolset:
    """A named collection of tools, by name, in the order they were added.

    Args:
        name: What to call the collection (shown in errors and listings).
        tools: The tools to start with.
        worlds: The worlds the tools are for, by name, when added to worlds by name
            (``--tools NAME``, an installed ``sandlot.tools`` entry point); None: every
            world.
    """

    def __init__(
        self, name: str, tools: Iterable[Tool] = (), *, worlds: Iterable[str] | None = None
    ) -> None:
        self.name = name
        self.worlds: tuple[str, ...] | None = None if worlds is None else tuple(worlds)
        self._tools: dict[str, Tool] = {}
        for t in tools:
            self.add(t)

    def add(self, tool: Tool) -> Toolset:
        """Add a tool; returns the toolset, so calls chain.

        Raises:
            TypeError: ``tool`` is not a Tool (a function not decorated with ``@tool``).
            ValueError: another tool already has its name (adding the same one is a no-op).
        """
        if not isinstance(tool, Tool):
            raise TypeError(
                f"toolset {self.name!r}: {tool!r} is not a Tool (decorate it with @tool)"
            )
        existing = self._tools.get(tool.name)
        if existing is not None and existing is not tool:
            raise ValueError(
                f"toolset {self.name!r} already has a tool named {tool.name!r} "
                f"({_origin(existing)}); cannot add {_origin(tool)}: "
                "rename one with @tool(name=...)"
            )
        self._tools[tool.name] = tool
        return self

    def get(self, name: str) -> Tool | None:
        """The tool called ``name``, or None."""
        return self._tools.get(name)

    def __getitem__(self, name: str) -> Tool:
        try:
            return self._tools[name]
        except KeyError:
            known = ", ".join(self._tools) or "(none)"
            raise KeyError(f"no tool {name!r} in toolset {self.name!r}; tools: {known}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def __repr__(self) -> str:
        return f"Toolset({self.name!r}, {len(self)} tools)"

    def names(self) -> list[str]:
        """The tools' names, in order."""
        return list(self._tools)

    def schemas(self, names: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """The schemas a model sees: of every tool, or of the named ones in the order
        given (names the toolset lacks are skipped). The dicts are shared: do not mutate."""
        if names is None:
            return [t.schema() for t in self._tools.values()]
        return [self._tools[n].schema() for n in names if n in self._tools]

    def applies_to(self, world: str) -> bool:
        """Whether the tools are for the world called ``world`` (see ``worlds``)."""
        return self.worlds is None or world in self.worlds

    def copy(self) -> Toolset:
        """A new toolset with the same name and tools (the tools themselves are shared)."""
        return type(self)(self.name, self._tools.values(), worlds=self.worlds)

    def merge(self, other: Iterable[Tool]) -> Toolset:
        """A new toolset (this one's name) with this one's tools, then ``other``'s.

        Raises:
            ValueError: the two have different tools of the same name.
        """
        merged = self.copy()
        for t in other:
            merged.add(t)
        return merged

    @classmethod
    def from_module(cls, source: str | Path | ModuleType, name: str | None = None) -> Toolset:
        """The tools a module defines, in definition order.

        Args:
            source: A module, a dotted module name ("my_package.tools"), or the path of
                a ``.py`` file (imported by path, once per path).
            name: The toolset's name (default: the module's name, or the file's stem).

        The tools are the module's ``Tool`` objects whose function it defines; when the
        module has ``__all__``, the tools it names instead (so a module can re-export
        tools defined elsewhere).
        """
        module, default_name = _import(source)
        exported = getattr(module, "__all__", None)
        if exported is not None:
            found = [getattr(module, n, None) for n in exported]
            tools = [t for t in found if isinstance(t, Tool)]
        else:
            tools = [
                t
                for t in vars(module).values()
                if isinstance(t, Tool) and t.function.__module__ == module.__name__
            ]
        return cls(name or default_name, _unique(tools))

    @classmethod
    def from_entry_points(cls, group: str = "sandlot.tools", name: str | None = None) -> Toolset:
        """Tools published by installed packages under an entry-point group.

        Each entry point may load a Tool, a Toolset or a module (see ``from_module``).
        In ``pyproject.toml``: ``[project.entry-points."sandlot.tools"]`` then
        ``billing = "my_package.tools"``.

        Raises:
            ImportError: an entry point failed to load (naming it and its package).
            TypeError: an entry point loaded something else.
            ValueError: two entry points publish tools with the same name.
        """
        toolset = cls(name or group)
        for ep in entry_points(group=group):
            where = f"entry point {ep.name!r} = {ep.value!r} in group {group!r}"
            if ep.dist is not None:
                where += f" (package {ep.dist.name})"
            try:
                loaded = ep.load()
            except Exception as exc:
                raise ImportError(f"{where} failed to load: {type(exc).__name__}: {exc}") from exc
            for t in cls._tools_of(loaded, where):
                toolset.add(t)
        return toolset

    @classmethod
    def registered(cls, name: str) -> Toolset:
        """The tools registered as ``name`` in :data:`sandlot.registry.TOOLS` — in code
        (``TOOLS.register("billing", "my_package.tools")``) or by an installed package
        (entry-point group ``sandlot.tools``); this is what ``--tools NAME`` takes.

        Raises:
            UserError: no such name, or its target failed to import (naming the entry
                point and its distribution).
            TypeError: it is not a Tool, a Toolset or a module.
        """
        loaded = TOOLS.get(name)
        where = f"toolset {name!r} ({TOOLS.entry(name).origin})"
        worlds = loaded.worlds if isinstance(loaded, Toolset) else None
        return cls(name, cls._tools_of(loaded, where), worlds=worlds)

    @classmethod
    def _tools_of(cls, loaded: object, where: str) -> Iterable[Tool]:
        if isinstance(loaded, Tool):
            return [loaded]
        if isinstance(loaded, Toolset):
            return loaded
        if isinstance(loaded, ModuleType):
            return cls.from_module(loaded)
        raise TypeError(
            f"{where} loaded a {type(loaded).__name__}; expected a Tool, a Toolset or a module"
        )


def _origin(tool: Tool) -> str:
    func = tool.function
    return f"{getattr(func, '__module__', '?')}.{getattr(func, '__qualname__', repr(func))}"


def _unique(tools: Iterable[Tool]) -> list[Tool]:
    """The tools, each once (a module may bind one tool to two names)."""
    by_id: dict[int, Tool] = {}
    for t in tools:
        by_id.setdefault(id(t), t)
    return list(by_id.values())


def _import(source: str | Path | ModuleType) -> tuple[ModuleType, str]:
    """The module, and the default name of a toolset made of it."""
    if isinstance(source, ModuleType):
        return source, source.__name__
    text = str(source)
    path = Path(text)
    if isinstance(source, Path) or text.endswith(".py") or "/" in text or path.is_file():
        return _import_file(path), path.stem
    try:
        return importlib.import_module(text), text
    except ModuleNotFoundError as exc:
        if exc.name and text.startswith(exc.name):  # the module itself, not its import
            close = difflib.get_close_matches(text, TOOLS.names(), n=1)
            hint = f"did you mean the toolset {close[0]!r}? Or " if close else ""
            raise ModuleNotFoundError(
                f"no module named {text!r} to take tools from: {hint}give a dotted module "
                "name that is importable here, or the path of a .py file",
                name=exc.name,
            ) from exc
        raise


def _import_file(path: Path) -> ModuleType:
    path = path.expanduser().resolve()
    if not path.is_file():
        close = close_path(path)
        hint = f"; did you mean {str(close)!r}?" if close is not None and close.is_file() else ""
        raise FileNotFoundError(f"no tools file at {path}{hint}")
    digest = hashlib.sha1(str(path).encode()).hexdigest()[:10]
    mod_name = f"sandlot_user_tools_{path.stem}_{digest}"
    if mod_name in sys.modules:  # the same file twice gives the same Tool objects
        return sys.modules[mod_name]
    spec = importlib.util.spec_from_file_location(mod_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import tools from {path}: not a Python source file")
    module = importlib.util.module_from_spec(spec)
    sys.modules[mod_name] = module  # before running it: dataclasses and pickling look it up
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[mod_name]
        raise
    return module
