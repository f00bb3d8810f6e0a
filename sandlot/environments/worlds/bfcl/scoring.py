"""The ``bfcl`` check kind: BFCL's multi-turn verdict, computed by sandlot from the
episode's record.

The episode's tool calls are split into the user's turns (the calls before the first
answer of the simulated user are turn 0, and so on). Then, as BFCL's checker does:

1. the episode must have reached every turn (BFCL: the model was not force-terminated);
2. per turn, the episode's calls run on one set of fresh backend instances and the
   ground truth's calls on another (both sets carry over from turn to turn);
3. a turn with ground-truth calls fails when the episode made no call in it;
4. after such a turn, every involved instance must hold the ground truth's state (each
   public attribute equal);
5. and every result of the turn's ground-truth calls must be among the results of the
   episode's calls so far (a multiset: each result counted once).

Turns with no ground-truth call (the user left out a parameter) are not checked, but
their calls still run. A stored record whose arguments the trace redacted (a password)
cannot be run again: re-scoring skips the item, with the reason. Nothing of BFCL's checker module is used: only its backends.
"""

from __future__ import annotations

import copy
import json
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from sandlot.environments.check_kinds import CheckContext
from sandlot.environments.checklist_checks import CheckSkipped
from sandlot.environments.trajectory import Trajectory
from sandlot.environments.worlds.bfcl.backends import (
    compare_instances,
    load_instances,
    method_table,
    parse_call,
    run_call,
)
from sandlot.environments.worlds.bfcl.environment import BfclEnvironment

__all__ = ["BFCL_CHECK", "BfclCheck", "calls_by_turn", "check_bfcl"]

_EVIDENCE_CHARS = 4000
# How a stored trace writes a secret-looking value (sandlot.traces.redact): a call whose
# arguments hold it cannot be run again as it was made.
_REDACTED = "[REDACTED"


def _redacted(value: Any) -> bool:
    if isinstance(value, str):
        return value.startswith(_REDACTED)
    if isinstance(value, dict):
        return any(_redacted(v) for v in value.values())
    if isinstance(value, list):
        return any(_redacted(v) for v in value)
    return False


class BfclCheck(BaseModel):
    """BFCL's multi-turn verdict against ``ground_truth``: per user turn, the ground
    truth's calls as BFCL writes them (``cd(folder='document')``)."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["bfcl"] = "bfcl"
    ground_truth: list[list[str]] = Field(min_length=1)


def calls_by_turn(trajectory: Trajectory) -> list[list[tuple[str, dict[str, Any]]]]:
    """The episode's calls (name, arguments) in the user's turns, one list per turn
    reached: the calls before the simulated user's first answer, then those before the
    second... A call whose arguments were not a JSON object is left out (BFCL cannot
    decode it either); submit_answer is not a call here."""
    bounds = sorted(t.seq for t in trajectory.user_turns if not t.stop and t.seq is not None)
    turns: list[list[tuple[str, dict[str, Any]]]] = [[] for _ in range(len(bounds) + 1)]
    for call in trajectory.tools_used:
        if call.arguments is None:
            continue
        seq = call.seq if call.seq is not None else -1
        index = sum(1 for b in bounds if b < seq)
        turns[index].append((call.name, copy.deepcopy(call.arguments)))
    return turns


def _clip(value: Any) -> Any:
    text = json.dumps(value, default=str)
    return value if len(text) <= _EVIDENCE_CHARS else text[:_EVIDENCE_CHARS] + "..."


def _fail(why: str, turn: int | None = None, **more: Any) -> tuple[bool, Any]:
    evidence: dict[str, Any] = {"why": why}
    if turn is not None:
        evidence["turn"] = turn
    evidence.update({k: _clip(v) for k, v in more.items()})
    return False, evidence


def check_bfcl(check: BfclCheck, context: CheckContext) -> tuple[bool, Any]:
    """BFCL's verdict on the episode (see the module's rules): (passed, evidence)."""
    start = BfclEnvironment.validate_initial_state(context.task)
    turns = calls_by_turn(context.trajectory)
    hidden = [name for turn in turns for name, args in turn if _redacted(args)]
    if hidden:
        raise CheckSkipped(
            f"the stored record hides argument values of {sorted(set(hidden))} (traces redact "
            "secrets such as passwords), so the calls cannot be run again; the verdict "
            "given when the episode ran stands"
        )
    expected = len(check.ground_truth)
    if len(turns) != expected:
        return _fail(f"the episode reached {len(turns)} of the {expected} user turns")
    mine = load_instances(start.classes, start.config, long_context=start.long_context)
    gold = load_instances(start.classes, start.config, long_context=start.long_context)
    my_table, gold_table = method_table(mine), method_table(gold)
    results: list[str] = []
    for index, (made, reference) in enumerate(zip(turns, check.ground_truth, strict=True)):
        results += [run_call(my_table, name, args)[1] for name, args in made]
        gold_results = []
        for text in reference:
            name, args = parse_call(text, gold_table)
            gold_results.append(run_call(gold_table, name, args)[1])
        if not reference:
            continue
        if not made:
            return _fail("no tool call in a turn that needs some", index, expected=reference)
        for class_name, instance in gold.items():
            differences = compare_instances(mine[class_name], instance)
            if differences:
                return _fail(
                    f"after this turn {class_name}'s state differs from the ground truth's",
                    index,
                    differences=differences,
                    calls=[f"{n}({a})" for n, a in made],
                    expected=reference,
                )
        left = list(results)
        missing = []
        for result in gold_results:
            if result in left:
                left.remove(result)
            else:
                missing.append(result)
        if missing:
            return _fail(
                "results of the ground truth's calls are missing from the episode's",
                index,
                missing=missing,
                expected=reference,
            )
    return True, {"turns": expected, "calls": sum(len(t) for t in turns)}


class _BfclKind:
    model: ClassVar[type[BaseModel]] = BfclCheck

    def evaluate(self, check: BfclCheck, context: CheckContext) -> tuple[bool, Any]:
        return check_bfcl(check, context)


BFCL_CHECK = _BfclKind()
