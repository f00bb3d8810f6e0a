"""Plans for blocksworld: an optimal one by breadth-first search over states, and a
correct, not always optimal, one for instances too large to search.

Breadth-first search visits every state reachable before the goal; with n blocks there
are at most ``(n + 1) * a(n)`` states (``a`` = 1, 3, 13, 73, 501, 4051, 37633, 394353
ways to put n lettered blocks in stacks), fast enough up to :data:`OPTIMAL_LIMIT`
blocks. :func:`tower_plan` (every misplaced block to the table, then each goal tower
built bottom up) takes at most four actions per block, for goals that place every block.
"""

from __future__ import annotations

from collections import deque

from sandlot.environments.worlds.blocksworld.domain import (
    TABLE,
    Action,
    Blocks,
    Relation,
    goal_reached,
)

__all__ = ["OPTIMAL_LIMIT", "optimal_plan", "plan_for", "tower_plan"]

OPTIMAL_LIMIT = 7  # blocks: larger instances get tower_plan


def optimal_plan(start: Blocks, goal: list[Relation]) -> list[Action]:
    """A shortest list of actions from ``start`` to a state where ``goal`` is reached.

    Raises:
        ValueError: no state reachable from ``start`` reaches the goal.
    """
    first = start.copy()
    if goal_reached(first, goal):
        return []
    parents: dict[object, tuple[object, Action] | None] = {first.key(): None}
    queue = deque([first])
    while queue:
        state = queue.popleft()
        for action in state.actions():
            after = state.copy()
            after.apply(action)
            key = after.key()
            if key in parents:
                continue
            parents[key] = (state.key(), action)
            if goal_reached(after, goal):
                return _path(parents, key)
            queue.append(after)
    raise ValueError(f"no plan reaches {goal!r}")


def _path(parents: dict[object, tuple[object, Action] | None], key: object) -> list[Action]:
    plan: list[Action] = []
    step = parents[key]
    while step is not None:
        key, action = step
        plan.append(action)
        step = parents[key]
    return plan[::-1]


def tower_plan(start: Blocks, goal: list[Relation]) -> list[Action]:
    """A plan that moves every misplaced block to the table, then builds each goal tower
    from the bottom: correct, at most ``4 n`` actions, not always the shortest.

    Raises:
        ValueError: the goal does not place every block exactly once, or places a block
            on one that is missing or on itself in a cycle.
    """
    support = dict(goal)
    blocks = start.copy().blocks
    if sorted(support) != blocks or len(support) != len(goal):
        raise ValueError("tower_plan needs a goal that places every block once")
    above = [on for on in support.values() if on != TABLE]
    if len(above) != len(set(above)):
        raise ValueError("the goal puts two blocks on the same block")
    state = start.copy()
    plan: list[Action] = []

    def do(action: Action) -> None:
        state.apply(action)
        plan.append(action)

    if state.holding is not None:
        do(("put_down", (state.holding,)))

    def in_place(block: str, seen: frozenset[str] = frozenset()) -> bool:
        if block in seen:
            raise ValueError(f"the goal stacks {block} on itself")
        below = state.below(block)
        if below != support[block]:
            return False
        return below == TABLE or in_place(below, seen | {block})  # type: ignore[arg-type]

    moved = True
    while moved:  # every clear, misplaced block off its stack
        moved = False
        for s in state.stacks:
            top = s[-1]
            if len(s) > 1 and not in_place(top):
                do(("unstack", (top, s[-2])))
                do(("put_down", (top,)))
                moved = True
                break
    placed = True
    while placed:  # build up: a misplaced block whose goal support is in place and clear
        placed = False
        for block in blocks:
            target = support[block]
            if in_place(block) or target == TABLE:
                continue
            ready = in_place(target) and _clear(state, target) and _clear(state, block)
            if ready and state.below(block) == TABLE:
                do(("pick_up", (block,)))
                do(("stack", (block, target)))
                placed = True
    if not goal_reached(state, goal):
        raise ValueError(f"no plan reaches {goal!r}")
    return plan


def _clear(state: Blocks, block: str) -> bool:
    return any(s[-1] == block for s in state.stacks)


def plan_for(start: Blocks, goal: list[Relation]) -> tuple[list[Action], bool]:
    """The reference plan and whether it is optimal: breadth-first search up to
    :data:`OPTIMAL_LIMIT` blocks, :func:`tower_plan` beyond."""
    if len(start.blocks) <= OPTIMAL_LIMIT:
        return optimal_plan(start, goal), True
    return tower_plan(start, goal), False
