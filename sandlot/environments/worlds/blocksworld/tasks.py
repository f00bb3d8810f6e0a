"""Seeded blocksworld instances and their tasks, at any number of blocks.

``blocksworld_tasks(size, count, seed)`` draws ``count`` instances of ``size`` blocks:
a random start and a random goal arrangement (blocks put one by one, each on the table
or on a stack, chosen at random), never the same. Each task's goal places every block;
its reference solution is an optimal plan (breadth-first search) up to
:data:`~sandlot.environments.worlds.blocksworld.solver.OPTIMAL_LIMIT` blocks, else a
correct one (:func:`~sandlot.environments.worlds.blocksworld.solver.tower_plan`). The
same arguments give the same tasks, in any process.
"""

from __future__ import annotations

import random
import string
from typing import Any

from sandlot.environments.worlds.blocksworld.domain import Blocks, relations_of
from sandlot.environments.worlds.blocksworld.solver import plan_for

__all__ = ["MAX_BLOCKS", "blocksworld_tasks", "random_stacks"]

MAX_BLOCKS = len(string.ascii_uppercase)
_TAGS = ["planning", "multi-step", "state-change"]


def random_stacks(blocks: list[str], rng: random.Random) -> list[list[str]]:
    """The blocks in a random order, each on the table or on top of a stack (bottom first)."""
    order = list(blocks)
    rng.shuffle(order)
    stacks: list[list[str]] = []
    for block in order:
        choice = rng.randrange(len(stacks) + 1)
        if choice == len(stacks):
            stacks.append([block])
        else:
            stacks[choice].append(block)
    return stacks


def _words(stacks: list[list[str]]) -> str:
    return "; ".join(", ".join(s) for s in stacks)


def _task(size: int, number: int, rng: random.Random) -> dict[str, Any]:
    blocks = list(string.ascii_uppercase[:size])
    start = random_stacks(blocks, rng)
    goal_stacks = random_stacks(blocks, rng)
    while Blocks(goal_stacks).key() == Blocks(start).key():
        goal_stacks = random_stacks(blocks, rng)
    goal = [f"{b} on {on}" for b, on in relations_of(goal_stacks)]
    plan, optimal = plan_for(Blocks(start), [(b, on) for b, on in relations_of(goal_stacks)])
    calls = [{"tool": name, "args": _args(name, args)} for name, args in plan]
    checklist: list[dict[str, Any]] = [
        {
            "id": "goal",
            "description": "Every goal relation holds and the hand is empty",
            "check": {"type": "state", "goal": True},
        }
    ]
    if optimal:
        checklist.append(
            {
                "id": "optimal",
                "description": f"The plan is optimal: at most {len(plan)} moves",
                "weight": 0.5,
                "required": False,
                "check": {"type": "state", "max_moves": len(plan)},
            }
        )
    return {
        "id": f"blocksworld-size{size}-{number:03d}",
        "tags": [f"size:{size}", *_TAGS],
        "instruction": (
            f"Rearrange the blocks. Now the stacks are (bottom block first): {_words(start)}. "
            f"Reach this goal: {', '.join(goal)}."
        ),
        "initial_state": {"stacks": start, "goal": goal},
        "reference": {"calls": calls, "answer": "The blocks are arranged as asked."},
        "checklist": checklist,
        "max_tool_calls": 2 * len(plan) + 10,
        "metadata": {"blocks": size, "plan_length": len(plan), "optimal": optimal},
    }


def _args(name: str, args: tuple[str, ...]) -> dict[str, str]:
    keys: dict[str, tuple[str, ...]] = {"pick_up": ("block",), "put_down": ("block",)}
    keys |= {"unstack": ("block", "from_block"), "stack": ("block", "on")}
    return dict(zip(keys[name], args, strict=True))


def blocksworld_tasks(size: int, count: int, seed: int = 0) -> list[dict[str, Any]]:
    """``count`` tasks of ``size`` blocks (2 to 26) drawn with ``seed``, as task-file data.

    Raises:
        ValueError: ``size`` or ``count`` out of range.
    """
    if not 2 <= size <= MAX_BLOCKS:
        raise ValueError(f"size is the number of blocks, 2 to {MAX_BLOCKS}; got {size}")
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    rng = random.Random(f"blocksworld:{size}:{seed}")
    return [_task(size, i + 1, rng) for i in range(count)]
