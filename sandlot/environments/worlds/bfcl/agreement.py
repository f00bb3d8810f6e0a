"""Checking the ``bfcl`` check kind against BFCL's own checker.

For a task of the ``bfcl`` task set this module makes the trajectories to compare — the
ground truth (``gold``), and the ground truth with one call dropped (``drop``), one
argument changed (``change``), one call repeated (``add``) or one call of another
state-changing function added (``add_other``, :mod:`.extra_calls`), each chosen with a
seeded random draw — as tasks whose reference solution is that trajectory (the ``oracle``
model plays it; the checklist still holds the real ground truth). After the episode,
:func:`bfcl_verdict` turns its record into BFCL's decoded form (per turn, per step, call
strings such as ``cd(folder='x')``) and asks BFCL's ``multi_turn_checker`` — the
independent judge the ``bfcl`` check kind is measured against
(``examples/bfcl_agreement.py``, docs/worlds/bfcl.md).
"""

from __future__ import annotations

import copy
import itertools
import random
from dataclasses import dataclass
from typing import Any

from sandlot.environments.tasks import ReferenceCall, Task
from sandlot.environments.trajectory import Trajectory
from sandlot.environments.worlds.bfcl.backends import (
    format_call,
    load_instances,
    method_table,
    parse_call,
)
from sandlot.environments.worlds.bfcl.environment import BfclEnvironment
from sandlot.environments.worlds.bfcl.extra_calls import extra_call
from sandlot.environments.worlds.bfcl.scoring import calls_by_turn
from sandlot.environments.worlds.bfcl.tasksets import reference_for

__all__ = [
    "VARIANTS",
    "AgreementRow",
    "agreement_table",
    "bfcl_decoded",
    "bfcl_verdict",
    "ground_truth",
    "gold_turns",
    "variant_task",
]

VARIANTS: tuple[str, ...] = ("gold", "drop", "change", "add", "add_other")
_RUNS = itertools.count()


def ground_truth(task: Task) -> list[list[str]]:
    """The ground truth per turn that the task's ``bfcl`` item holds.

    Raises:
        ValueError: the task has no ``bfcl`` item.
    """
    for item in task.checklist:
        if item.check.type == "bfcl":
            data = item.check.model_dump()
            return [list(turn) for turn in data["ground_truth"]]
    raise ValueError(f"task {task.id!r} has no bfcl checklist item")


def gold_turns(task: Task) -> list[list[ReferenceCall]]:
    """The ground truth's calls per turn, as reference calls (keyword arguments)."""
    start = BfclEnvironment.validate_initial_state(task)
    table = method_table(load_instances(start.classes, start.config))
    return [
        [ReferenceCall(tool=n, args=a) for n, a in (parse_call(t, table) for t in turn)]
        for turn in ground_truth(task)
    ]


def _changed(value: Any) -> Any:
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return f"{value}_changed"
    if isinstance(value, list):
        return value[:-1] if value else ["changed"]
    if isinstance(value, dict):
        return {}
    return "changed"


def variant_task(task: Task, variant: str, seed: int = 0) -> Task | None:
    """``task`` with a reference solution that plays ``variant`` of its ground truth (the
    checklist unchanged); None when the variant does not apply (no call to drop or
    repeat, no argument to change, no state-changing call to add).

    Raises:
        ValueError: an unknown variant.
    """
    if variant not in VARIANTS:
        raise ValueError(f"unknown variant {variant!r}; choose one of {VARIANTS}")
    turns = copy.deepcopy(gold_turns(task))
    rng = random.Random(f"{seed}:{task.id}:{variant}")
    spots = [(t, i) for t, turn in enumerate(turns) for i in range(len(turn))]
    if variant == "add_other":
        start = BfclEnvironment.validate_initial_state(task)
        extra = extra_call(start.classes, start.config, turns, rng, long_context=start.long_context)
        if extra is None:
            return None
        t, i, call = extra
        turns[t].insert(i, call)
    elif variant != "gold":
        if variant == "change":
            spots = [(t, i) for t, i in spots if turns[t][i].args]
        if not spots:
            return None
        t, i = rng.choice(spots)
        if variant == "drop":
            del turns[t][i]
        elif variant == "add":
            turns[t].insert(i + 1, copy.deepcopy(turns[t][i]))
        else:
            args = turns[t][i].args
            key = rng.choice(sorted(args))
            args[key] = _changed(args[key])
    return task.model_copy(
        update={"id": f"{task.id}:{variant}", "reference": reference_for(turns)}, deep=True
    )


def bfcl_decoded(trajectory: Trajectory) -> list[list[list[str]]]:
    """The episode's calls in BFCL's decoded form: per user turn, per step (one call a
    step), the call strings."""
    return [[[format_call(n, a)] for n, a in turn] for turn in calls_by_turn(trajectory)]


def bfcl_verdict(task: Task, trajectory: Trajectory) -> tuple[bool, dict[str, Any]]:
    """BFCL's own verdict on the episode: its evaluation runner's turn-count rule, then
    its ``multi_turn_checker``. Needs bfcl-eval; the checker's instance cache is cleared
    after each call."""
    from bfcl_eval.eval_checker.multi_turn_eval import multi_turn_checker, multi_turn_utils

    start = BfclEnvironment.validate_initial_state(task)
    gold = ground_truth(task)
    decoded = bfcl_decoded(trajectory)
    if len(decoded) != len(gold):  # bfcl_eval's eval_runner: force-terminated
        return False, {"error_type": "multi_turn:force_terminated"}
    bfcl_id = str(task.metadata.get("bfcl_id") or task.id.split(":")[0])
    entry = {"id": bfcl_id, "initial_config": start.config, "involved_classes": start.classes}
    name = f"sandlot_agreement_{next(_RUNS)}"
    try:
        result = multi_turn_checker.multi_turn_checker(
            decoded, gold, entry, bfcl_id.rsplit("_", 1)[0], name
        )
    finally:
        cache = vars(multi_turn_utils)
        for key in [k for k in cache if k.startswith(name)]:
            del cache[key]
    return bool(result["valid"]), {k: v for k, v in result.items() if k in ("error_type",)}


@dataclass
class AgreementRow:
    """One variant's counts: episodes, BFCL's passes, sandlot's passes, agreements."""

    variant: str
    episodes: int = 0
    bfcl_pass: int = 0
    sandlot_pass: int = 0
    agree: int = 0

    def add(self, bfcl: bool, sandlot: bool) -> None:
        self.episodes += 1
        self.bfcl_pass += bfcl
        self.sandlot_pass += sandlot
        self.agree += bfcl == sandlot


def agreement_table(rows: list[AgreementRow]) -> str:
    """The rows as a Markdown table, with a total."""
    total = AgreementRow("all")
    lines = [
        "| variant | episodes | BFCL pass | sandlot pass | agree |",
        "|---|---:|---:|---:|---:|",
    ]
    for row in [*rows, total]:
        if row is not total:
            total.episodes += row.episodes
            total.bfcl_pass += row.bfcl_pass
            total.sandlot_pass += row.sandlot_pass
            total.agree += row.agree
        share = f"{100 * row.agree / row.episodes:.1f}%" if row.episodes else "-"
        lines.append(
            f"| {row.variant} | {row.episodes} | {row.bfcl_pass} | {row.sandlot_pass} "
            f"| {row.agree} ({share}) |"
        )
    return "\n".join(lines)
