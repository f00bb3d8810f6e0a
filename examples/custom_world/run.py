"""Add a world with its own tasks, then validate and run them — with no change to sandlot.

    python examples/custom_world/run.py

Registers the greenhouse world in code, loads tasks/greenhouse.yaml (checked against the
world: its tools, its initial_state, its state checks), and runs them with the oracle
model (each task's reference solution). To reach the world from the ``sandlot`` command
instead, publish it as an entry point: see pyproject.toml here and docs/guides/world.md.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))  # so `greenhouse` imports when run from anywhere

from greenhouse import GreenhouseEnvironment  # noqa: E402

from sandlot import load_tasks, register_environment, run  # noqa: E402


async def main() -> None:
    register_environment(GreenhouseEnvironment)  # reachable by its name, "greenhouse"
    tasks = load_tasks([HERE / "tasks"])
    print(f"loaded {len(tasks)} greenhouse tasks")
    with tempfile.TemporaryDirectory() as tmp:
        result = await run(tasks, model="oracle", db=Path(tmp) / "traces.db")
    for episode in result.episodes:
        print(f"{episode.task_id}: {episode.outcome} (score {episode.score:.2f})")
    summary = result.summary()
    print(f"{summary['passed']}/{summary['episodes']} passed")


if __name__ == "__main__":
    asyncio.run(main())
