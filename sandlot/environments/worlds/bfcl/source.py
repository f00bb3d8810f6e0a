"""BFCL's multi-turn data and executable backends, from the installed ``bfcl-eval``.

The entries (``BFCL_v4_<subset>.json``), their ground truth (``possible_answer/``) and the
function docs (``multi_turn_func_doc/``) are read as data files; the backend classes
(``GorillaFileSystem``, ``TwitterAPI``...) are imported from ``bfcl_eval``'s
``func_source_code`` package, which needs only ``mpmath`` beyond the standard library.
bfcl-eval is installed with ``pip install --no-deps`` (its own pins would pull torch and
an old numpy): the ``bfcl`` extra brings what the backends import.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandlot.errors import UserError

__all__ = [
    "BFCL_VERSION",
    "CLASS_DOCS",
    "INSTALL",
    "SUBSETS",
    "MultiTurnEntry",
    "backend_class",
    "data_dir",
    "func_docs",
    "read_subset",
]

BFCL_VERSION = "2026.3.23"
INSTALL = (
    f"pip install 'sandlot[bfcl]' && pip install --no-deps bfcl-eval=={BFCL_VERSION} "
    "(or `make bfcl`)"
)
# The multi-turn subsets whose every turn offers the same functions (the miss_func
# subset adds functions between turns, which a world's fixed toolset does not model).
SUBSETS: tuple[str, ...] = (
    "multi_turn_base",
    "multi_turn_miss_param",
    "multi_turn_long_context",
)
# Each backend class and its function-doc file (bfcl_eval.constants.executable_backend_config).
CLASS_DOCS: dict[str, str] = {
    "GorillaFileSystem": "gorilla_file_system",
    "MathAPI": "math_api",
    "MessageAPI": "message_api",
    "TwitterAPI": "posting_api",
    "TicketAPI": "ticket_api",
    "TradingBot": "trading_bot",
    "TravelAPI": "travel_booking",
    "VehicleControlAPI": "vehicle_control",
}
# Backend modules, by class (the doc file's stem, except the travel one).
_MODULES = {**CLASS_DOCS, "TravelAPI": "travel_booking"}
_BACKENDS = "bfcl_eval.eval_checker.multi_turn_eval.func_source_code"


@dataclass(frozen=True)
class MultiTurnEntry:
    """One multi-turn entry: its user turns, the backend classes it involves and their
    initial configuration, and the ground-truth calls of each turn (BFCL's call strings,
    ``cd(folder='document')``)."""

    id: str
    subset: str
    turns: list[str]
    classes: list[str]
    config: dict[str, Any]
    ground_truth: list[list[str]]


def data_dir() -> Path:
    """The ``data`` folder of the installed ``bfcl_eval`` package.

    Raises:
        UserError: bfcl-eval is not installed (the message says how to install it).
    """
    spec = importlib.util.find_spec("bfcl_eval")
    for location in list(spec.submodule_search_locations or []) if spec else []:
        folder = Path(location) / "data"
        if (folder / "multi_turn_func_doc").is_dir():
            return folder
    raise UserError(
        f"the bfcl world needs the bfcl-eval package, which is not installed: {INSTALL}"
    )


def _lines(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise UserError(f"bfcl-eval has no {path.name} ({path}): reinstall it: {INSTALL}") from exc
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def _turn_text(turn: list[dict[str, Any]]) -> str:
    return "\n\n".join(str(m.get("content") or "") for m in turn if m.get("role") == "user")


@functools.cache
def read_subset(subset: str) -> tuple[MultiTurnEntry, ...]:
    """Every entry of a multi-turn subset, in BFCL's order.

    Raises:
        UserError: ``subset`` is not one of :data:`SUBSETS`, or bfcl-eval is missing.
    """
    if subset not in SUBSETS:
        raise UserError(
            f"the bfcl task set has no subset {subset!r}; choose one of {', '.join(SUBSETS)} "
            f"(e.g. bfcl:multi_turn_base)"
        )
    folder = data_dir()
    name = f"BFCL_v4_{subset}.json"
    answers = {a["id"]: a["ground_truth"] for a in _lines(folder / "possible_answer" / name)}
    entries = []
    for row in _lines(folder / name):
        entries.append(
            MultiTurnEntry(
                id=row["id"],
                subset=subset,
                turns=[_turn_text(turn) for turn in row["question"]],
                classes=list(row["involved_classes"]),
                config=row.get("initial_config") or {},
                ground_truth=answers[row["id"]],
            )
        )
    return tuple(entries)


@functools.cache
def func_docs(class_name: str) -> tuple[dict[str, Any], ...]:
    """The function docs BFCL gives a model for one backend class.

    Raises:
        UserError: an unknown class, or bfcl-eval is missing.
    """
    if class_name not in CLASS_DOCS:
        raise UserError(f"unknown BFCL backend class {class_name!r}; known: {sorted(CLASS_DOCS)}")
    return tuple(_lines(data_dir() / "multi_turn_func_doc" / f"{CLASS_DOCS[class_name]}.json"))


@functools.cache
def backend_class(class_name: str) -> type[Any]:
    """BFCL's executable backend class of that name.

    Raises:
        UserError: an unknown class, bfcl-eval is missing, or a module it imports is
            (``mpmath``: the ``bfcl`` extra).
    """
    if class_name not in _MODULES:
        raise UserError(f"unknown BFCL backend class {class_name!r}; known: {sorted(_MODULES)}")
    data_dir()
    try:
        module = importlib.import_module(f"{_BACKENDS}.{_MODULES[class_name]}")
    except ImportError as exc:
        raise UserError(
            f"BFCL's {class_name} backend failed to import ({exc}): install the bfcl extra: "
            f"{INSTALL}"
        ) from exc
    found: type[Any] = getattr(module, class_name)
    return found
