"""The blocksworld world: its tools, its task contract and its state-check language.

A task's ``initial_state`` is ``{stacks: [[A, B], [C]], goal: ["B on C", ...]}`` (each
stack bottom first). A state check is one of:

* ``{type: state, goal: true}`` — the task's goal is reached: every goal relation holds
  in the final state and the hand is empty (the plan validator);
* ``{type: state, holds: ["B on A", ...]}`` — these relations hold (and the hand is
  empty);
* ``{type: state, max_moves: N}`` — at most N actions were carried out (refused ones are
  not counted): with N the optimal plan's length, the plan was optimal.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sandlot.environments.base import Environment
from sandlot.environments.tasks import StrictStateCheck, Task
from sandlot.environments.worlds.blocksworld.domain import (
    TABLE,
    Blocks,
    IllegalAction,
    goal_reached,
    parse_relation,
    relation_holds,
)
from sandlot.tools import ToolContext, ToolError, Toolset, tool

__all__ = [
    "POLICY",
    "BlocksworldCheck",
    "BlocksworldEnvironment",
    "BlocksworldStart",
    "look",
    "pick_up",
    "put_down",
    "stack",
    "unstack",
]

POLICY = (
    "You move lettered blocks with one hand. You can pick up a block only when the hand "
    "is empty and nothing is on the block; pick_up takes it from the table, unstack from "
    "the block it is on. You can put the held block on the table (put_down) or on a block "
    "with nothing on it (stack). A move that breaks a rule is refused and changes nothing."
)


def _relations(value: Any) -> Any:
    if not isinstance(value, list) or not all(isinstance(r, str) for r in value):
        raise ValueError(f"relations are a list like ['B on A', 'A on table'], not {value!r}")
    for r in value:
        parse_relation(r)
    return value


class BlocksworldStart(BaseModel):
    """A blocksworld task's ``initial_state``: the stacks (each bottom first) and the goal
    (relations ``"B on A"`` / ``"A on table"``)."""

    model_config = ConfigDict(extra="forbid")

    stacks: list[list[str]] = Field(min_length=1)
    goal: list[str] = Field(default_factory=list)

    @field_validator("goal", mode="before")
    @classmethod
    def _goal(cls, value: Any) -> Any:
        return _relations(value)

    @model_validator(mode="after")
    def _consistent(self) -> BlocksworldStart:
        blocks = [b for s in self.stacks for b in s]
        if any(not s for s in self.stacks):
            raise ValueError("initial_state.stacks: a stack has no blocks")
        if len(blocks) != len(set(blocks)):
            raise ValueError(f"initial_state.stacks: a block is in two places: {blocks}")
        if any(b.lower() == TABLE for b in blocks):
            raise ValueError("initial_state.stacks: 'table' is not a block's name")
        for block, on in map(parse_relation, self.goal):
            unknown = {block, on} - set(blocks) - {TABLE}
            if unknown:
                raise ValueError(f"initial_state.goal: no block {sorted(unknown)} in the stacks")
        return self


class BlocksworldCheck(StrictStateCheck):
    """A blocksworld state check: one of ``goal`` (true), ``holds`` or ``max_moves``."""

    goal: bool | None = None
    holds: list[str] | None = None
    max_moves: int | None = Field(default=None, ge=0)

    @field_validator("holds", mode="before")
    @classmethod
    def _holds(cls, value: Any) -> Any:
        return value if value is None else _relations(value)

    @model_validator(mode="after")
    def _shape(self) -> BlocksworldCheck:
        common = [k for k in ("query", "file", "command", "equals", "contains", "regex")]
        common += ["rows", "exit_code", "exists", "tolerance"]
        used = [k for k in common if getattr(self, k) is not None]
        if used:
            raise ValueError(
                f"a blocksworld state check takes goal, holds or max_moves, not {', '.join(used)}"
            )
        given = [k for k in ("goal", "holds", "max_moves") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a blocksworld state check takes one of goal, holds or max_moves")
        if self.goal is False:
            raise ValueError("goal: true is the only goal check")
        return self


def _state(ctx: ToolContext[Blocks]) -> Blocks:
    return ctx.state


def _view(state: Blocks) -> dict[str, Any]:
    return {"stacks": [list(s) for s in state.stacks], "holding": state.holding}


def _act(ctx: ToolContext[Blocks], name: str, *args: str) -> dict[str, Any]:
    state = _state(ctx)
    try:
        state.apply((name, args))
    except IllegalAction as exc:
        raise ToolError(str(exc)) from None
    return _view(state)


@tool
def look(ctx: ToolContext[Blocks]) -> dict[str, Any]:
    """See the blocks: every stack, bottom block first, and the block in the hand."""
    return _view(_state(ctx))


@tool
def pick_up(ctx: ToolContext[Blocks], block: str) -> dict[str, Any]:
    """Pick up a block from the table (the hand must be empty and the block clear).

    Args:
        block: The block's letter.
    """
    return _act(ctx, "pick_up", block)


@tool
def unstack(ctx: ToolContext[Blocks], block: str, from_block: str) -> dict[str, Any]:
    """Take a block off the block it is on (the hand must be empty and the block clear).

    Args:
        block: The block to take.
        from_block: The block it is on now.
    """
    return _act(ctx, "unstack", block, from_block)


@tool
def put_down(ctx: ToolContext[Blocks], block: str) -> dict[str, Any]:
    """Put the block in the hand down on the table.

    Args:
        block: The block the hand holds.
    """
    return _act(ctx, "put_down", block)


@tool
def stack(ctx: ToolContext[Blocks], block: str, on: str) -> dict[str, Any]:
    """Put the block in the hand on top of another block (which must be clear).

    Args:
        block: The block the hand holds.
        on: The block to put it on.
    """
    return _act(ctx, "stack", block, on)


class BlocksworldEnvironment(Environment[Blocks, BlocksworldStart, BlocksworldCheck]):
    """Classical blocksworld: stacks of lettered blocks and one hand. Its state checks
    are ``goal`` (the task's goal reached), ``holds`` (relations) and ``max_moves``."""

    name = "blocksworld"
    description = "Classical blocksworld: move lettered blocks with one hand to reach a goal."
    policy = POLICY
    initial_state_model = BlocksworldStart
    state_check_model = BlocksworldCheck

    @classmethod
    def default_toolset(cls) -> Toolset:
        return Toolset("blocksworld", [look, pick_up, unstack, put_down, stack])

    async def reset(self, task: Task) -> None:
        start = self.check_initial_state(task)
        self.task = task
        self.state = Blocks([list(s) for s in start.stacks])
        self._goal = list(start.goal)

    async def check_state(self, check: BlocksworldCheck) -> tuple[bool, Any]:
        return self.check_snapshot(self.snapshot(), check)

    def snapshot(self) -> dict[str, Any]:
        return {
            **_view(self.state),
            "goal": list(getattr(self, "_goal", [])),
            "moves": self.state.moves,
            "plan": list(self.state.plan),
        }

    @classmethod
    def check_snapshot(cls, snapshot: dict[str, Any], check: BlocksworldCheck) -> tuple[bool, Any]:
        check = cls.validate_state_check(check)
        state = Blocks([list(s) for s in snapshot["stacks"]], snapshot.get("holding"))
        evidence: dict[str, Any] = {"stacks": state.stacks, "holding": state.holding}
        if check.max_moves is not None:
            moves = int(snapshot.get("moves", 0))
            evidence |= {"moves": moves, "max_moves": check.max_moves}
            return moves <= check.max_moves, evidence
        texts = snapshot.get("goal", []) if check.goal else check.holds or []
        relations = [parse_relation(r) for r in texts]
        evidence["unmet"] = [
            t for t, r in zip(texts, relations, strict=True) if not relation_holds(state, r)
        ]
        return goal_reached(state, relations), evidence
