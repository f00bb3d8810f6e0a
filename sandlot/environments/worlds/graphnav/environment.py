"""The graphnav world: rooms joined by doors; the agent walks from room to room.

A task's ``initial_state`` is ``{doors: {room: [room, ...]}, start: room, target: room}``
(every door listed from both sides). A state check is one of:

* ``{type: state, goal: true}`` — the agent is in the task's target room;
* ``{type: state, at: ROOM}`` — the agent is in this room;
* ``{type: state, max_moves: N}`` — at most N moves were made (refused ones are not
  counted): with N the shortest path's length plus some slack, the route was short.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sandlot.environments.base import Environment
from sandlot.environments.tasks import StrictStateCheck, Task
from sandlot.tools import ToolContext, ToolError, Toolset, tool

__all__ = [
    "POLICY",
    "GraphnavCheck",
    "GraphnavEnvironment",
    "GraphnavStart",
    "Walk",
    "look",
    "move",
]

POLICY = (
    "You are in a building of rooms joined by doors. look shows the room you are in and "
    "where its doors lead; move takes you through a door of this room to the next one. "
    "A move to a room with no door from here is refused and you stay where you are."
)


@dataclass
class Walk:
    """One graphnav episode's state: the map, where the agent is, the rooms walked."""

    doors: dict[str, list[str]]
    at: str
    target: str
    path: list[str] = field(default_factory=list)  # every room entered, the start first

    @property
    def moves(self) -> int:
        return len(self.path) - 1


class GraphnavStart(BaseModel):
    """A graphnav task's ``initial_state``: the doors of every room, the start, the target."""

    model_config = ConfigDict(extra="forbid")

    doors: dict[str, list[str]] = Field(min_length=1)
    start: str
    target: str

    @model_validator(mode="after")
    def _consistent(self) -> GraphnavStart:
        for room, leads in self.doors.items():
            for other in leads:
                if room not in self.doors.get(other, []):
                    raise ValueError(
                        f"initial_state.doors: {room} has a door to {other}, "
                        f"but {other} has none back (list each door from both sides)"
                    )
        for key in ("start", "target"):
            if getattr(self, key) not in self.doors:
                raise ValueError(f"initial_state.{key}: no room {getattr(self, key)!r}")
        return self


class GraphnavCheck(StrictStateCheck):
    """A graphnav state check: one of ``goal`` (true), ``at`` or ``max_moves``."""

    goal: bool | None = None
    at: str | None = None
    max_moves: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _shape(self) -> GraphnavCheck:
        common = ["query", "file", "command", "equals", "contains", "regex"]
        common += ["rows", "exit_code", "exists", "tolerance"]
        used = [k for k in common if getattr(self, k) is not None]
        if used:
            raise ValueError(
                f"a graphnav state check takes goal, at or max_moves, not {', '.join(used)}"
            )
        given = [k for k in ("goal", "at", "max_moves") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("a graphnav state check takes one of goal, at or max_moves")
        if self.goal is False:
            raise ValueError("goal: true is the only goal check")
        return self


def _view(walk: Walk) -> dict[str, Any]:
    return {"room": walk.at, "doors": list(walk.doors[walk.at])}


@tool
def look(ctx: ToolContext[Walk]) -> dict[str, Any]:
    """See the room you are in and the rooms its doors lead to."""
    return _view(ctx.state)


@tool
def move(ctx: ToolContext[Walk], to: str) -> dict[str, Any]:
    """Go through a door of this room into the room it leads to.

    Args:
        to: The room to go to; a door of the current room must lead there.
    """
    walk = ctx.state
    if to not in walk.doors:
        raise ToolError(f"there is no room {to!r}")
    if to not in walk.doors[walk.at]:
        doors = ", ".join(walk.doors[walk.at]) or "none"
        raise ToolError(f"no door from {walk.at} to {to}; the doors here lead to: {doors}")
    walk.at = to
    walk.path.append(to)
    return _view(walk)


class GraphnavEnvironment(Environment[Walk, GraphnavStart, GraphnavCheck]):
    """Rooms joined by doors, after CogEval's graph tasks: walk from the start room to
    the target. Its state checks are ``goal``, ``at`` and ``max_moves``."""

    name = "graphnav"
    description = "Rooms joined by doors: walk from a start room to a target room."
    policy = POLICY
    initial_state_model = GraphnavStart
    state_check_model = GraphnavCheck

    @classmethod
    def default_toolset(cls) -> Toolset:
        return Toolset("graphnav", [look, move])

    async def reset(self, task: Task) -> None:
        start = self.check_initial_state(task)
        self.task = task
        doors = {room: list(leads) for room, leads in start.doors.items()}
        self.state = Walk(doors, start.start, start.target, [start.start])

    async def check_state(self, check: GraphnavCheck) -> tuple[bool, Any]:
        return self.check_snapshot(self.snapshot(), check)

    def snapshot(self) -> dict[str, Any]:
        walk = self.state
        return {"at": walk.at, "target": walk.target, "moves": walk.moves, "path": list(walk.path)}

    @classmethod
    def check_snapshot(cls, snapshot: dict[str, Any], check: GraphnavCheck) -> tuple[bool, Any]:
        check = cls.validate_state_check(check)
        at = snapshot.get("at")
        evidence: dict[str, Any] = {"at": at, "path": snapshot.get("path", [])}
        if check.max_moves is not None:
            moves = int(snapshot.get("moves", 0))
            evidence |= {"moves": moves, "max_moves": check.max_moves}
            return moves <= check.max_moves, evidence
        want = snapshot.get("target") if check.goal else check.at
        evidence["expected"] = want
        return at == want, evidence
