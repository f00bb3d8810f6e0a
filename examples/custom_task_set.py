"""Tasks generated from data, not written as YAML: a task set registered by name.

    python examples/custom_task_set.py

``lookups:N`` gives N store tasks, "look up order X", for the first N orders of the
store's data; ``NAME:SUBSET`` then stands wherever a task file does (``load_tasks``,
``sandlot run``, ``sandlot tasks validate``). See docs/guides/world.md, "Tasks generated
from data".
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from sandlot import load_tasks, run
from sandlot.errors import UserError
from sandlot.registry import TASKSETS

ORDERS = [1001, 1002, 1003, 1004, 1005]


def lookups(subset: str) -> list[dict]:
    """``subset`` is how many orders to look up, 1 to 5."""
    if not subset.isdigit() or not 1 <= int(subset) <= len(ORDERS):
        raise UserError(f"lookups:N takes N from 1 to {len(ORDERS)}, got {subset!r}")
    return [
        {
            "id": f"lookup-{order}",
            "environment": "store",
            "instruction": f"Look up order {order} and tell me its status.",
            "reference": {
                "calls": [{"tool": "get_order", "args": {"order_id": order}}],
                "answer": f"I looked up order {order}.",
            },
            "checklist": [{"id": "looked-up", "check": {"type": "called", "tool": "get_order"}}],
        }
        for order in ORDERS[: int(subset)]
    ]


async def main() -> None:
    TASKSETS.register("lookups", lookups)  # or an entry point in sandlot.tasksets
    tasks = load_tasks(["lookups:3"])  # checked against the store world like a file
    print("tasks: " + ", ".join(t.id for t in tasks))
    try:
        load_tasks(["lookups:9"])
    except UserError as exc:
        print(f"refused: {str(exc).splitlines()[-1].strip(' -')}")
    with tempfile.TemporaryDirectory() as tmp:
        result = await run(tasks, model="oracle", db=Path(tmp) / "traces.db")
    print(f"passed {sum(e.success for e in result.episodes)} of {len(result.episodes)}")


if __name__ == "__main__":
    asyncio.run(main())
