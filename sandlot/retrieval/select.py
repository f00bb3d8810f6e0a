"""Choosing a retriever for a run: by name, by import path, or as an object.

A *spec* says which retriever to use:

* a name registered in :data:`sandlot.registry.RETRIEVERS` (``bm25``, ``embedding``,
  ``hybrid``, one registered in code or published as a ``sandlot.retrievers`` entry
  point);
* an import path ``"module:attribute"`` naming a factory or a ready retriever;
* a factory (``factory(toolset) -> Retriever``, a function or a class);
* a ready :class:`Retriever`, used for every toolset.

:func:`retriever_for` builds one per (spec, toolset content) and keeps it, so every
episode of a run over the same tools shares one index. :func:`spec_name` is the string a
run records, from which a replay or a resume in a new process rebuilds the same one.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from sandlot.errors import ExtensionLoadError, UserError
from sandlot.registry import RETRIEVERS, import_target
from sandlot.retrieval.base import Retriever, RetrieverFactory

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.tools.toolset import Toolset

__all__ = ["RetrieverSpec", "resolve_retriever", "retriever_for", "spec_name"]

RetrieverSpec = str | RetrieverFactory | Retriever
"""What selects a retriever: a name, ``module:attribute``, a factory or a retriever."""

_CACHE_SIZE = 32  # toolsets x retrievers kept built; an embedding index is not small
_cache: OrderedDict[tuple[int, tuple[str, ...]], tuple[object, Retriever]] = OrderedDict()
_lock = threading.Lock()


def _is_retriever(obj: object) -> bool:
    # a class with a ``name`` and a ``rank`` passes the protocol check too: it is a factory
    return not isinstance(obj, type) and isinstance(obj, Retriever)


def resolve_retriever(spec: RetrieverSpec) -> RetrieverFactory | Retriever:
    """The factory (or ready retriever) ``spec`` names; nothing is built.

    Raises:
        UserError: an unknown name (the message lists the known ones), or an import path
            whose module or attribute is missing.
        ExtensionLoadError: what the name or path gives is neither a factory nor a
            retriever (or a registered one fails to import).
    """
    if not isinstance(spec, str):
        found: Any = spec
        where = f"retriever {spec_name(spec)!r}"
    elif ":" in spec and spec not in RETRIEVERS:
        where = f"retriever {spec!r}"
        try:
            found = import_target(spec)
        except (ImportError, AttributeError) as exc:
            raise UserError(
                f"{where} cannot be imported ({type(exc).__name__}: {exc}); give a "
                f"registered name ({', '.join(RETRIEVERS.names())}) or module:attribute "
                "of a retriever factory"
            ) from exc
    else:
        found = RETRIEVERS.get(spec.strip())  # an unknown name lists the known ones
        where = f"retriever {spec!r}"
    if _is_retriever(found) or callable(found):
        return found  # type: ignore[no-any-return]
    raise ExtensionLoadError(
        f"{where} is a {type(found).__name__} ({found!r}), not a retriever factory "
        "(factory(toolset) -> Retriever) nor a retriever (with name and rank)"
    )


def spec_name(spec: RetrieverSpec) -> str:
    """The string a run records for ``spec``: the name or import path as given; for an
    object, its ``module:qualified_name`` when that imports back to it (so a replay in a
    new process rebuilds it), else its ``name``."""
    if isinstance(spec, str):
        return spec
    module = getattr(spec, "__module__", None)
    qualname = getattr(spec, "__qualname__", None)
    if module and qualname and "<" not in qualname:
        path = f"{module}:{qualname}"
        try:
            if import_target(path) is spec:
                return path
        except (ImportError, AttributeError):
            pass
    name = getattr(spec, "name", None)
    return name if isinstance(name, str) and name else f"{module}:{qualname}"


def _content(toolset: Toolset) -> tuple[str, ...]:
    return tuple(f"{t.name}\x00{t.description}\x00{sorted(t.parameters.items())}" for t in toolset)


def retriever_for(toolset: Toolset, spec: RetrieverSpec = "bm25") -> Retriever:
    """The retriever ``spec`` selects, built for ``toolset`` — or the one already built
    for the same spec and the same tools (names, descriptions, parameter docs).

    Raises:
        UserError: ``spec`` names nothing known, or its factory returned something that
            is not a retriever (see :func:`resolve_retriever`).
    """
    found = resolve_retriever(spec)
    if _is_retriever(found):
        return found  # type: ignore[return-value]
    key = (id(found), _content(toolset))
    with _lock:
        cached = _cache.get(key)
        if cached is not None and cached[0] is found:
            _cache.move_to_end(key)
            return cached[1]
    built = found(toolset)  # type: ignore[operator]
    if not _is_retriever(built):
        raise ExtensionLoadError(
            f"retriever factory {spec_name(spec)!r} returned a {type(built).__name__}, not "
            "a retriever: it needs a `name` and a `rank(query, k=None)` method"
        )
    with _lock:
        # the factory is kept with what it built, so its id is never another's
        _cache[key] = (found, built)
        _cache.move_to_end(key)
        while len(_cache) > _CACHE_SIZE:
            _cache.popitem(last=False)
    return built  # type: ignore[no-any-return]
