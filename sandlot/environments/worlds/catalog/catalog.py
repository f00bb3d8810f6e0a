"""The catalog: BFCL's function definitions pooled into one toolset, and its labelled
queries (a user's request and the tool that answers it).

Loaded once per process (:func:`load_catalog`), then shared: a toolset is read-only
once built, and worlds copy it per episode.
"""

from __future__ import annotations

import json
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sandlot.environments.worlds.catalog.source import (
    CATEGORIES,
    BfclEntry,
    data_dir,
    read_entries,
)
from sandlot.environments.worlds.catalog.tools import (
    CatalogTool,
    accepts,
    catalog_tool,
    unique_names,
)
from sandlot.tools import Toolset

__all__ = ["Catalog", "CatalogQuery", "load_catalog"]


@dataclass(frozen=True)
class CatalogQuery:
    """A labelled query: the user's request and the catalog tool that answers it.

    Attributes:
        id: The BFCL entry's id (``simple_python_0``, ``live_multiple_12-4-3``).
        category: Its BFCL category.
        text: The user's first turn.
        tool: The catalog tool of the ground truth's (first) call.
        args: That call's arguments (the first accepted value of each, optional ones
            left out), when they are plain JSON the tool accepts; else None.
        calls: How many calls the ground truth makes (parallel entries make several).
    """

    id: str
    category: str
    text: str
    tool: str
    args: dict[str, Any] | None
    calls: int = 1


@dataclass(frozen=True)
class Catalog:
    """The pooled tools and the labelled queries.

    Attributes:
        toolset: One tool per distinct function name (``catalog``).
        queries: Every entry with a ground truth, in BFCL's order.
        original_names: Tool name -> the function's name in BFCL (``math.factorial``
            is the tool ``math_factorial``).
        variants: Tool name -> how many different definitions BFCL gives that name, for
            the names with more than one; the tool keeps the most frequent (the first
            seen of equally frequent ones).
        load_seconds: How long building it took.
    """

    toolset: Toolset
    queries: tuple[CatalogQuery, ...]
    original_names: dict[str, str] = field(default_factory=dict)
    variants: dict[str, int] = field(default_factory=dict)
    load_seconds: float = 0.0


_LOCK = threading.Lock()
_CACHE: list[Catalog] = []


def load_catalog() -> Catalog:
    """The catalog, built on first use and cached for the process.

    Raises:
        UserError: ``bfcl-eval`` is not installed (``pip install --no-deps bfcl-eval``).
    """
    with _LOCK:
        if not _CACHE:
            _CACHE.append(_build())
        return _CACHE[0]


def _build() -> Catalog:
    t0 = time.perf_counter()
    entries = read_entries(data_dir(), CATEGORIES)
    chosen, variants = _definitions(entries)
    names = unique_names(chosen)
    tools = [catalog_tool(names[original], chosen[original]) for original in chosen]
    toolset = Toolset("catalog", tools)
    queries = tuple(q for q in (_query(e, names, toolset) for e in entries) if q is not None)
    return Catalog(
        toolset=toolset,
        queries=queries,
        original_names={tool: original for original, tool in names.items()},
        variants={names[o]: n for o, n in variants.items() if n > 1},
        load_seconds=time.perf_counter() - t0,
    )


def _definitions(
    entries: list[BfclEntry],
) -> tuple[dict[str, dict[str, Any]], dict[str, int]]:
    """Per function name (first-seen order), its most frequent definition, and how many
    different definitions it has."""
    seen: dict[str, Counter[str]] = {}
    for entry in entries:
        for definition in entry.functions:
            text = json.dumps(definition, sort_keys=True)
            seen.setdefault(definition["name"], Counter())[text] += 1
    chosen = {name: json.loads(count.most_common(1)[0][0]) for name, count in seen.items()}
    return chosen, {name: len(count) for name, count in seen.items()}


def _first_user_turn(entry: BfclEntry) -> str:
    for turn in entry.turns:
        for message in turn:
            if message.get("role") == "user" and str(message.get("content", "")).strip():
                return str(message["content"]).strip()
    return ""


def _query(entry: BfclEntry, names: dict[str, str], toolset: Toolset) -> CatalogQuery | None:
    text = _first_user_turn(entry)
    if not entry.ground_truth or not text:
        return None
    (original, accepted), *_ = entry.ground_truth[0].items()
    name = names.get(original)
    if name is None:
        return None
    tool = toolset[name]
    assert isinstance(tool, CatalogTool)
    args = _reference_args(tool, accepted)
    return CatalogQuery(entry.id, entry.category, text, name, args, calls=len(entry.ground_truth))


def _reference_args(tool: CatalogTool, accepted: Any) -> dict[str, Any] | None:
    """One call's arguments from the accepted values of each parameter (BFCL lists
    ``""`` among them when the parameter may be left out): None when they are not
    plain JSON or the tool does not take them as they are."""
    if not isinstance(accepted, dict):
        return None
    required = set((tool.definition.get("parameters") or {}).get("required") or ())
    args: dict[str, Any] = {}
    for param, values in accepted.items():
        if not isinstance(values, list) or not values:
            return None
        if "" in values and param not in required:
            continue
        given = [v for v in values if v != ""]
        if not given:
            return None
        args[param] = given[0]
    try:
        json.dumps(args, allow_nan=False)
    except (TypeError, ValueError):
        return None
    return args if accepts(tool.definition, args) else None
