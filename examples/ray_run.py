"""Run the store tasks on Ray: a Ray instance on this machine (two worker CPUs) is
started for the run, each episode runs in a Ray worker process, and this process writes
every episode into one trace file.

    pip install 'sandlot[ray]'
    python examples/ray_run.py [TRACE_FILE]

On a real cluster, pass its head's address instead: ``RayExecutor("HEAD_IP:6379")``, or
on the command line ``sandlot run TASKS --executor ray --address HEAD_IP:6379``
(docs/ray.md).
"""

from __future__ import annotations

import asyncio
import sqlite3
import sys
import tempfile
from pathlib import Path

from sandlot import load_tasks, run
from sandlot.agents.running.ray_executor import RayExecutor

HERE = Path(__file__).resolve().parent


async def main(db: Path) -> None:
    tasks = load_tasks([HERE / "tasks/store"])
    executor = RayExecutor(init_options={"num_cpus": 2})  # no address: a local instance
    result = await run(tasks, model="oracle", db=db, executor=executor, concurrency=2)
    passed = sum(e.success for e in result.episodes)
    print(f"run {result.run_id}: {passed}/{len(result.episodes)} episodes passed on Ray")
    with sqlite3.connect(db) as conn:
        hosts = conn.execute("SELECT count(DISTINCT pid) FROM episodes").fetchone()[0]
        events = conn.execute("SELECT count(*) FROM events").fetchone()[0]
    print(
        f"trace {db}: {len(result.episodes)} episodes from {hosts} worker processes, {events} events"
    )


if __name__ == "__main__":
    if len(sys.argv) > 1:
        asyncio.run(main(Path(sys.argv[1])))
    else:
        with tempfile.TemporaryDirectory() as tmp:
            asyncio.run(main(Path(tmp) / "ray-traces.db"))
