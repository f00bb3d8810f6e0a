"""Seeded graph-navigation instances and their tasks, at any number of rooms.

``graphnav_tasks(rooms, count, seed)`` draws ``count`` instances: a connected random
graph (:func:`~sandlot.environments.worlds.graphnav.domain.random_graph`), a start room
and a target room chosen at random among the pairs at least the graph's diameter less
one doors apart, so that larger graphs ask for longer walks. The instruction gives the map; the reference solution walks a shortest path
(breadth-first search); an optional item allows the shortest length plus ``slack``
moves. The same arguments give the same tasks, in any process.
"""

from __future__ import annotations

import random
from typing import Any

from sandlot.environments.worlds.graphnav.domain import random_graph, shortest_path

__all__ = ["graphnav_tasks"]

_TAGS = ["planning", "multi-step", "state-change"]


def _map_words(doors: dict[str, list[str]]) -> str:
    return "; ".join(f"{room} leads to {', '.join(leads)}" for room, leads in doors.items())


def _task(rooms: int, number: int, slack: int, rng: random.Random) -> dict[str, Any]:
    doors = random_graph(rooms, rng)
    names = list(doors)
    far = {(a, b): len(shortest_path(doors, a, b)) - 1 for a in names for b in names if a != b}
    wanted = max(1, max(far.values()) - 1)
    start, target = rng.choice(sorted(pair for pair, d in far.items() if d >= wanted))
    path = shortest_path(doors, start, target)
    moves = len(path) - 1
    return {
        "id": f"graphnav-rooms{rooms}-{number:03d}",
        "tags": [f"rooms:{rooms}", *_TAGS],
        "instruction": (f"You are in {start}. Walk to {target}. The map: {_map_words(doors)}."),
        "initial_state": {"doors": doors, "start": start, "target": target},
        "reference": {
            "calls": [{"tool": "move", "args": {"to": room}} for room in path[1:]],
            "answer": f"I am in {target}.",
        },
        "checklist": [
            {
                "id": "arrived",
                "description": f"The agent is in {target}",
                "check": {"type": "state", "goal": True},
            },
            {
                "id": "short",
                "description": f"At most {moves + slack} moves (shortest {moves}, slack {slack})",
                "weight": 0.5,
                "required": False,
                "check": {"type": "state", "max_moves": moves + slack},
            },
        ],
        "max_tool_calls": 2 * rooms + 10,
        "metadata": {"rooms": rooms, "shortest": moves, "slack": slack},
    }


def graphnav_tasks(
    rooms: int, count: int, seed: int = 0, *, slack: int = 2
) -> list[dict[str, Any]]:
    """``count`` tasks of ``rooms`` rooms (at least 2) drawn with ``seed``, as task-file data.

    Raises:
        ValueError: ``rooms``, ``count`` or ``slack`` out of range.
    """
    if rooms < 2:
        raise ValueError(f"rooms must be at least 2, got {rooms}")
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    if slack < 0:
        raise ValueError(f"slack must be at least 0, got {slack}")
    rng = random.Random(f"graphnav:{rooms}:{seed}")
    return [_task(rooms, i + 1, slack, rng) for i in range(count)]
