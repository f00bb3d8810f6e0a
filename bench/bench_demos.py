"""What demonstrations are worth, measured with a model that follows them.

The store tasks are split in two halves (alternate tasks in file order). The oracle
plays one half into a trace file; :class:`DemoFollowingModel` then runs the other half
without demonstrations and with them (``--demos`` from that file), and the same with
the halves swapped, so every task is evaluated once and never serves itself. Prints
the success rate each way and, with demonstrations, how often the chosen example
used the same tools as the task's reference.

    python bench/bench_demos.py [--tasks examples/tasks/store] [--k 2]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path

from sandlot.agents.graph.demos import DemoSource
from sandlot.agents.running.runner import run
from sandlot.environments.loader import load_tasks
from sandlot.environments.tasks import Task
from sandlot.testing.demo_following import DemoFollowingModel
from sandlot.traces.query import TraceReader


async def _half(
    source: list[Task], target: list[Task], tmp: Path, name: str, k: int
) -> tuple[int, int, int]:
    """Passed without and with demonstrations on ``target``, demos taken from an oracle
    run of ``source``."""
    demo_db = tmp / f"{name}-oracle.db"
    await run(source, model="oracle", db=demo_db, concurrency=4)
    plain = await run(target, model=DemoFollowingModel(), db=tmp / f"{name}-plain.db")
    with_db = tmp / f"{name}-demos.db"
    shown = await run(
        target, model=DemoFollowingModel(), db=with_db, demos=DemoSource(str(demo_db), k=k)
    )
    passed_plain = sum(e.outcome == "passed" for e in plain.episodes)
    passed_demos = sum(e.outcome == "passed" for e in shown.episodes)
    with TraceReader(with_db) as reader:
        chosen = sum(
            bool(e["payload"]["episodes"])
            for ep in reader.episodes()
            for e in reader.events(ep["id"], kinds=("demonstrations",), messages=False)
        )
    return passed_plain, passed_demos, chosen


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", default="examples/tasks/store")
    parser.add_argument("--k", type=int, default=2)
    args = parser.parse_args()
    tasks = load_tasks(args.tasks)
    a, b = tasks[0::2], tasks[1::2]
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        p1, s1, c1 = await _half(a, b, tmp, "ab", args.k)
        p2, s2, c2 = await _half(b, a, tmp, "ba", args.k)
    n = len(tasks)
    print(f"{n} tasks ({len(a)} + {len(b)}), demos k={args.k}")
    print(f"without demonstrations: {p1 + p2}/{n} passed ({(p1 + p2) / n:.0%})")
    print(f"with demonstrations:    {s1 + s2}/{n} passed ({(s1 + s2) / n:.0%})")
    print(f"episodes shown at least one demonstration: {c1 + c2}/{n}")


if __name__ == "__main__":
    asyncio.run(main())
