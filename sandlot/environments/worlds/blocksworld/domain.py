"""Blocksworld's rules: lettered blocks in stacks on a table, one hand, four actions.

A state is the stacks (each listed bottom first) and what the hand holds. The actions
are the classical ones: ``pick_up`` a clear block from the table, ``unstack`` a clear
block from the block it is on, ``put_down`` the held block on the table, ``stack`` the
held block on a clear block. A relation is ``"B on A"`` or ``"A on table"``; a goal is a
list of relations, reached when every one holds and the hand is empty.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = [
    "TABLE",
    "Action",
    "Blocks",
    "IllegalAction",
    "Relation",
    "goal_reached",
    "parse_relation",
    "relation_holds",
    "relations_of",
]

TABLE = "table"
_RELATION = re.compile(r"^\s*([A-Za-z0-9]+)\s+on\s+([A-Za-z0-9]+)\s*$")

Relation = tuple[str, str]  # (block, what it is on: a block or TABLE)
Action = tuple[str, tuple[str, ...]]  # (tool name, its arguments in order)


class IllegalAction(Exception):  # noqa: N818 - a rule's refusal, not a failure
    """The action breaks a rule; the message says which and what is true instead."""


def parse_relation(text: str) -> Relation:
    """``"B on A"`` -> ``("B", "A")``; ``"A on table"`` -> ``("A", "table")``.

    Raises:
        ValueError: the text is not ``X on Y``.
    """
    found = _RELATION.match(text)
    if found is None:
        raise ValueError(f"a relation reads 'B on A' or 'A on table', not {text!r}")
    below = found.group(2)
    return found.group(1), TABLE if below.lower() == TABLE else below


@dataclass
class Blocks:
    """One blocksworld state: the stacks, bottom first, and the block held (or None)."""

    stacks: list[list[str]]
    holding: str | None = None
    moves: int = 0  # actions carried out (refused ones are not counted)
    plan: list[str] = field(default_factory=list)  # the actions carried out, in words

    @property
    def blocks(self) -> list[str]:
        held = [self.holding] if self.holding else []
        return sorted([b for s in self.stacks for b in s] + held)

    def key(self) -> tuple[tuple[tuple[str, ...], ...], str | None]:
        """The state as a hashable value, the order of the stacks left out."""
        return tuple(sorted(tuple(s) for s in self.stacks)), self.holding

    def below(self, block: str) -> str | None:
        """What ``block`` is on (a block or TABLE); None when it is held."""
        for s in self.stacks:
            if block in s:
                i = s.index(block)
                return TABLE if i == 0 else s[i - 1]
        return None

    def _stack_of(self, block: str) -> list[str]:
        if block not in self.blocks:
            raise IllegalAction(f"there is no block {block!r}; blocks: {', '.join(self.blocks)}")
        if block == self.holding:
            raise IllegalAction(f"{block} is in the hand, not on the table or a block")
        return next(s for s in self.stacks if block in s)

    def _clear(self, block: str) -> list[str]:
        stack = self._stack_of(block)
        if stack[-1] != block:
            above = stack[stack.index(block) + 1]
            raise IllegalAction(f"{block} is not clear: {above} is on it")
        return stack

    def _hand_empty(self) -> None:
        if self.holding is not None:
            raise IllegalAction(f"the hand already holds {self.holding}; put it down first")

    def _done(self, words: str) -> None:
        self.moves += 1
        self.plan.append(words)

    def pick_up(self, block: str) -> None:
        """Pick a clear block up from the table."""
        self._hand_empty()
        stack = self._clear(block)
        if len(stack) > 1:
            raise IllegalAction(f"{block} is on {stack[-2]}, not on the table; unstack it")
        self.stacks.remove(stack)
        self.holding = block
        self._done(f"pick up {block}")

    def unstack(self, block: str, from_block: str) -> None:
        """Take a clear block off the block it is on."""
        self._hand_empty()
        stack = self._clear(block)
        below = TABLE if len(stack) == 1 else stack[-2]
        if below != from_block:
            where = "the table; pick it up" if below == TABLE else below
            raise IllegalAction(f"{block} is not on {from_block}: it is on {where}")
        stack.pop()
        self.holding = block
        self._done(f"unstack {block} from {from_block}")

    def put_down(self, block: str) -> None:
        """Put the held block on the table."""
        self._holds(block)
        self.stacks.append([block])
        self.holding = None
        self._done(f"put down {block}")

    def stack(self, block: str, on: str) -> None:
        """Put the held block on a clear block."""
        self._holds(block)
        if on == block:
            raise IllegalAction(f"{block} cannot be stacked on itself")
        if on.lower() == TABLE:
            raise IllegalAction(f"to put {block} on the table, use put_down")
        self._clear(on).append(block)
        self.holding = None
        self._done(f"stack {block} on {on}")

    def _holds(self, block: str) -> None:
        if self.holding != block:
            held = f"holds {self.holding}" if self.holding else "is empty"
            raise IllegalAction(f"the hand does not hold {block}: it {held}")

    def apply(self, action: Action) -> None:
        """Carry out ``(tool, args)``.

        Raises:
            IllegalAction: the action breaks a rule (nothing changed).
        """
        name, args = action
        getattr(self, name)(*args)

    def copy(self) -> Blocks:
        return Blocks([list(s) for s in self.stacks], self.holding, self.moves, list(self.plan))

    def actions(self) -> list[Action]:
        """Every legal action in this state."""
        if self.holding is not None:
            h = self.holding
            return [("put_down", (h,))] + [("stack", (h, s[-1])) for s in self.stacks]
        return [
            ("pick_up", (s[-1],)) if len(s) == 1 else ("unstack", (s[-1], s[-2]))
            for s in self.stacks
        ]


def relation_holds(state: Blocks, relation: Relation) -> bool:
    block, on = relation
    return state.below(block) == on


def goal_reached(state: Blocks, goal: list[Relation]) -> bool:
    """Every goal relation holds and the hand is empty."""
    return state.holding is None and all(relation_holds(state, r) for r in goal)


def relations_of(stacks: list[list[str]]) -> list[Relation]:
    """Where every block is in these stacks: ``(block, below)``, stack by stack, bottom up."""
    return [(b, TABLE if i == 0 else s[i - 1]) for s in stacks for i, b in enumerate(s)]
