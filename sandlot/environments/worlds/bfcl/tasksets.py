"""The ``bfcl`` task set: BFCL's multi-turn entries as sandlot tasks
(``sandlot run bfcl:multi_turn_base``).

An entry's first user turn is the instruction; the later turns are a scripted simulated
user (one reply per message the agent sends the user); the ground truth is the reference
solution — its calls, and between turns a message to the user that ends the turn — so
the ``oracle`` model plays it; the checklist is one ``bfcl`` item holding the ground
truth per turn.
"""

from __future__ import annotations

from sandlot.environments.tasks import (
    ChecklistItem,
    ReferenceCall,
    ReferenceSolution,
    Task,
)
from sandlot.environments.user_spec import ReferenceAsk, UserSpec
from sandlot.environments.worlds.bfcl.backends import load_instances, method_table, parse_call
from sandlot.environments.worlds.bfcl.source import MultiTurnEntry, read_subset

__all__ = ["ANSWER", "bfcl_task", "bfcl_task_set", "reference_for", "turn_message"]

ANSWER = "All done."


def turn_message(turn: int) -> str:
    """The reference's message to the user that ends turn ``turn`` (distinct per turn)."""
    return f"Request {turn + 1} is done. What next?"


def reference_for(turns: list[list[ReferenceCall]], answer: str = ANSWER) -> ReferenceSolution:
    """A reference solution that makes each turn's calls, then sends the user
    :func:`turn_message` (the user's answer is the next turn), and answers after the
    last turn."""
    calls: list[ReferenceCall] = []
    asks: list[ReferenceAsk] = []
    for index, turn in enumerate(turns):
        calls += turn
        if index < len(turns) - 1:
            asks.append(ReferenceAsk(text=turn_message(index), before=len(calls)))
    return ReferenceSolution(calls=calls, answer=answer, asks=asks)


def _reference_calls(entry: MultiTurnEntry) -> list[list[ReferenceCall]]:
    table = method_table(load_instances(entry.classes, entry.config))
    out = []
    for turn in entry.ground_truth:
        parsed = [parse_call(text, table) for text in turn]
        out.append([ReferenceCall(tool=name, args=args) for name, args in parsed])
    return out


def bfcl_task(entry: MultiTurnEntry) -> Task:
    """The task of one multi-turn entry."""
    long_context = entry.subset == "multi_turn_long_context"
    gold = _reference_calls(entry)
    n_calls = sum(len(t) for t in gold)
    return Task(
        id=entry.id,
        environment="bfcl",
        instruction=entry.turns[0],
        initial_state={
            "classes": entry.classes,
            "config": entry.config,
            "long_context": long_context,
        },
        user=UserSpec(
            goal="Have each request carried out, one after the other.",
            replies=entry.turns[1:],
            max_user_turns=len(entry.turns) + 1,
        ),
        reference=reference_for(gold),
        checklist=[
            ChecklistItem(
                id="bfcl",
                description="each turn leaves BFCL's ground-truth state and results",
                check={"type": "bfcl", "ground_truth": entry.ground_truth},  # type: ignore[arg-type]
            )
        ],
        max_tool_calls=max(30, 3 * n_calls),
        tags=["bfcl", entry.subset],
        metadata={"bfcl_id": entry.id, "bfcl_subset": entry.subset},
    )


def bfcl_task_set(subset: str) -> list[Task]:
    """Every entry of a BFCL multi-turn subset as a task.

    Raises:
        UserError: an unknown subset, or bfcl-eval (or the bfcl extra) is not installed.
    """
    return [bfcl_task(entry) for entry in read_subset(subset)]
