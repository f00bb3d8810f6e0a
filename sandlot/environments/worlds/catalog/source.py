"""Where the catalog's data comes from: the function definitions and labelled queries
that the ``bfcl-eval`` distribution ships (the Berkeley Function-Calling Leaderboard).

Only its data files are read; none of its modules is imported (their dependencies are
heavy and not needed), which is why it is installed with ``pip install --no-deps``.
"""

from __future__ import annotations

import importlib.util
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandlot.errors import UserError

__all__ = ["CATEGORIES", "INSTALL", "BfclEntry", "data_dir", "read_entries"]

# The BFCL categories whose entries are single-turn requests answered by calls of the
# functions listed with them.
CATEGORIES: tuple[str, ...] = (
    "simple_python",
    "multiple",
    "parallel",
    "parallel_multiple",
    "live_simple",
    "live_multiple",
)
INSTALL = "pip install --no-deps bfcl-eval==2026.3.23"


@dataclass(frozen=True)
class BfclEntry:
    """One BFCL entry: its id and category, the chat turns, the function definitions
    offered with it, and the ground-truth calls (each ``{name: {param: [accepted
    values]}}``)."""

    id: str
    category: str
    turns: list[list[dict[str, Any]]]
    functions: list[dict[str, Any]]
    ground_truth: list[dict[str, dict[str, Any]]]


def data_dir() -> Path:
    """The ``data`` folder of the installed ``bfcl_eval`` package.

    Raises:
        UserError: ``bfcl-eval`` is not installed, or holds no data folder.
    """
    spec = importlib.util.find_spec("bfcl_eval")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        folder = Path(location) / "data"
        if (folder / "possible_answer").is_dir():
            return folder
    if not locations:
        raise UserError(
            f"the catalog world reads its tools from the bfcl-eval package, which is not "
            f"installed: {INSTALL} (or `make catalog`)"
        )
    raise UserError(
        f"the installed bfcl-eval package ({', '.join(locations)}) has no data/possible_answer "
        f"folder: reinstall it with {INSTALL}"
    )


def _lines(path: Path) -> Iterator[dict[str, Any]]:
    try:
        with path.open(encoding="utf-8") as handle:
            for number, line in enumerate(handle, 1):
                if line.strip():
                    try:
                        yield json.loads(line)
                    except json.JSONDecodeError as exc:
                        raise UserError(f"{path}:{number}: not a JSON line ({exc.msg})") from exc
    except FileNotFoundError as exc:
        raise UserError(f"bfcl-eval has no {path.name} ({path}): {INSTALL}") from exc


def read_entries(folder: Path, categories: tuple[str, ...] = CATEGORIES) -> list[BfclEntry]:
    """Every entry of ``categories`` with its ground truth, in file order.

    Raises:
        UserError: a file is missing or is not JSON lines.
    """
    entries: list[BfclEntry] = []
    for category in categories:
        name = f"BFCL_v4_{category}.json"
        answers = {a["id"]: a["ground_truth"] for a in _lines(folder / "possible_answer" / name)}
        for row in _lines(folder / name):
            entries.append(
                BfclEntry(
                    id=row["id"],
                    category=category,
                    turns=row["question"],
                    functions=row["function"],
                    ground_truth=answers.get(row["id"], []),
                )
            )
    return entries
