"""Graph navigation's map: rooms joined by doors, a seeded random connected graph, and
shortest paths by breadth-first search."""

from __future__ import annotations

import random
from collections import deque

__all__ = ["Graph", "random_graph", "room_name", "shortest_path"]

Graph = dict[str, list[str]]  # room -> the rooms its doors lead to, sorted


def room_name(i: int) -> str:
    return f"room-{i}"


def random_graph(rooms: int, rng: random.Random, *, extra: float = 0.5) -> Graph:
    """A connected graph of ``rooms`` rooms: a random spanning tree (each new room joined
    to one already placed) plus about ``extra * rooms`` more doors, none doubled."""
    names = [room_name(i + 1) for i in range(rooms)]
    order = list(names)
    rng.shuffle(order)
    edges: set[tuple[str, str]] = set()
    for i in range(1, rooms):
        a, b = order[i], order[rng.randrange(i)]
        edges.add((min(a, b), max(a, b)))
    for _ in range(int(extra * rooms)):
        a, b = rng.sample(names, 2)
        edges.add((min(a, b), max(a, b)))
    graph: Graph = {n: [] for n in names}
    for a, b in sorted(edges):
        graph[a].append(b)
        graph[b].append(a)
    return {n: sorted(graph[n], key=_number) for n in names}


def _number(room: str) -> int:
    return int(room.rsplit("-", 1)[1]) if room.rsplit("-", 1)[-1].isdigit() else 0


def shortest_path(graph: Graph, start: str, target: str) -> list[str]:
    """The rooms from ``start`` to ``target`` (both included) along a shortest path; the
    first found in the doors' order, so the same graph gives the same path.

    Raises:
        ValueError: ``target`` cannot be reached from ``start``.
    """
    parents: dict[str, str | None] = {start: None}
    queue = deque([start])
    while queue:
        room = queue.popleft()
        if room == target:
            path = [room]
            while parents[path[-1]] is not None:
                path.append(parents[path[-1]])  # type: ignore[arg-type]
            return path[::-1]
        for nxt in graph.get(room, []):
            if nxt not in parents:
                parents[nxt] = room
                queue.append(nxt)
    raise ValueError(f"{target} cannot be reached from {start}")
