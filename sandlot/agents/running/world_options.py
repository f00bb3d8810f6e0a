"""The options a run builds its worlds with, and how a run records them so that a
replay or a resume in a new process builds the same worlds.

``env_options`` (``run``, ``resume_run``, ``replay_episode``) are passed to every world's
constructor, with two keys read here first:

* ``tools`` — tool sources to add, as ``--tools`` takes them (a registered toolset's
  name, a module, a ``.py`` file);
* ``installed_tools`` — whether the installed toolsets (``sandlot.tools`` entry points
  and toolsets registered in code) are added too; default true.

They become ``extra_tools`` (Toolsets, each added to the worlds it is for), and the run
records them under ``config["tools"]``. The run records the ``sandbox`` backend it was
given under ``config["sandbox"]``; a resume without one uses it.
"""

from __future__ import annotations

from typing import Any

from sandlot.tools.sources import load_toolsets, recorded_sources

__all__ = ["run_world_options", "stored_world_options", "world_options"]

_TOOLS = "tools"
_INSTALLED = "installed_tools"
_SANDBOX = "sandbox"


def world_options(
    env_options: dict[str, Any] | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``env_options`` with their tool sources loaded into ``extra_tools`` (after any
    given there as objects), and what the run records of them.

    Raises:
        UserError, ImportError, OSError, SyntaxError, TypeError, ValueError: a tool
            source that cannot be loaded (see :func:`sandlot.tools.sources.load_toolsets`).
    """
    options = dict(env_options or {})
    sources = list(options.pop(_TOOLS, None) or ())
    installed = bool(options.pop(_INSTALLED, True))
    options["extra_tools"] = [
        *(options.get("extra_tools") or ()),
        *load_toolsets(sources, installed=installed),
    ]
    return options, {_TOOLS: recorded_sources(sources), _INSTALLED: installed}


def run_world_options(
    env_options: dict[str, Any] | None,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """:func:`world_options` resolved once for a whole run (``run``, a resume, a replay):
    the options to hand each episode — whose own :func:`world_options` then adds no
    installed toolset again — and what the run records."""
    options, recorded = world_options(env_options)
    options[_INSTALLED] = False  # added above
    return options, recorded


def stored_world_options(run: dict[str, Any] | None, given: dict[str, Any] | None) -> dict:
    """The options to rebuild run ``run``'s worlds with: ``given`` (the caller's), the
    run's recorded sandbox backend unless the caller names one, and the run's recorded
    tool sources unless the caller names tools itself."""
    options = dict(given or {})
    config = run.get("config") if run is not None else None
    backend = config.get(_SANDBOX) if isinstance(config, dict) else None
    if _SANDBOX not in options and isinstance(backend, str):
        options[_SANDBOX] = backend
    if _TOOLS in options or "extra_tools" in options or run is None:
        return options
    config = run.get("config")
    stored = config.get(_TOOLS) if isinstance(config, dict) else None
    if isinstance(stored, dict):
        options[_TOOLS] = [s for s in stored.get(_TOOLS) or () if isinstance(s, str)]
        options[_INSTALLED] = bool(stored.get(_INSTALLED, True))
    return options
