"""Tool sources: the tools a run adds to its worlds, and which world gets which.

A run's added tools come from two places, resolved the same way by ``run``,
``tools list``, ``tasks validate``, ``replay`` and ``--resume`` in a new process:

* **installed toolsets** — every name in :data:`sandlot.registry.TOOLS`: the
  ``sandlot.tools`` entry points of installed packages and toolsets registered in code.
  They are added unless the run opts out (``--no-installed-tools``);
* **sources** given by the user (``--tools SRC``, repeatable): a registered toolset's
  name, a dotted module name, the path of a ``.py`` file, or an MCP server
  (``mcp+stdio:COMMAND ARGS...``, ``mcp+http://HOST:PORT/PATH``: see
  :mod:`sandlot.tools.mcp_servers`), or LangChain tools (``langchain:MODULE[:ATTR]``:
  see :mod:`sandlot.tools.langchain_tools`).

A :class:`~sandlot.tools.toolset.Toolset` may say which worlds it is for
(``Toolset("billing", tools, worlds=["store"])``); a tool or a module is for every
world. :func:`tools_for` picks a world's share. The run records its sources
(:func:`recorded_sources`: file paths made absolute) so a later process rebuilds the
same worlds from the trace alone.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from sandlot.registry import TOOLS
from sandlot.tools.decorator import Tool
from sandlot.tools.langchain_tools import is_langchain_source, langchain_toolset, recorded_source
from sandlot.tools.mcp_servers import is_mcp_source, mcp_toolset
from sandlot.tools.toolset import Toolset

__all__ = ["installed_toolsets", "load_toolsets", "recorded_sources", "tools_for"]


def installed_toolsets() -> list[str]:
    """The names of the toolsets registered in :data:`~sandlot.registry.TOOLS` (code
    and installed ``sandlot.tools`` entry points), sorted."""
    return sorted(TOOLS.names())


def load_toolsets(sources: Iterable[str | Path] = (), *, installed: bool = True) -> list[Toolset]:
    """The toolsets of a run: the installed ones (unless ``installed`` is false), then
    each of ``sources`` — a registered name, a module, a ``.py`` file, or an MCP server
    (``mcp+stdio:...``, ``mcp+http://...``), or LangChain tools (``langchain:...``). A
    name asked for twice is loaded once.

    Raises:
        UserError: a registered name whose target fails to import (naming the entry
            point and its distribution); an MCP server that cannot be started or
            reached (naming its command or URL); a ``langchain:`` source that names
            no LangChain tool.
        ImportError, OSError, SyntaxError: a module or file that cannot be imported.
        TypeError: an entry point that is not a Tool, a Toolset or a module.
        ValueError: one source holds two different tools of the same name.
    """
    names = installed_toolsets() if installed else []
    wanted = [*names, *(str(s) for s in sources)]
    toolsets: list[Toolset] = []
    for source in dict.fromkeys(wanted):
        if source in TOOLS:
            toolsets.append(Toolset.registered(source))
        elif is_mcp_source(source):
            toolsets.append(mcp_toolset(source))
        elif is_langchain_source(source):
            toolsets.append(langchain_toolset(source))
        else:
            toolsets.append(Toolset.from_module(source))
    return toolsets


def tools_for(world: str, added: Iterable[Tool | Toolset]) -> list[Tool]:
    """The tools of ``added`` that reach the world called ``world``: every plain Tool,
    and the tools of each Toolset that :meth:`~Toolset.applies_to` it."""
    tools: list[Tool] = []
    for item in added:
        if isinstance(item, Toolset):
            if item.applies_to(world):
                tools.extend(item)
        else:
            tools.append(item)
    return tools


def recorded_sources(sources: Iterable[str | Path]) -> list[str]:
    """``sources`` as a run records them: a ``.py`` file's path made absolute, so a
    later process in another directory finds it (also in a ``langchain:`` source);
    names, modules and MCP servers unchanged."""
    recorded = []
    for source in map(str, sources):
        if is_mcp_source(source):
            recorded.append(source)
            continue
        if is_langchain_source(source):
            recorded.append(recorded_source(source))
            continue
        path = Path(source).expanduser()
        is_file = source.endswith(".py") or "/" in source or path.is_file()
        recorded.append(str(path.resolve()) if is_file and source not in TOOLS else source)
    return recorded
