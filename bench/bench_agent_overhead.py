"""Framework overhead of an episode: time in the graph outside model and tool calls.

Runs N oracle episodes of the store tasks (the oracle answers instantly, so what is left
is the framework: LangGraph, retrieval, recording, argument validation) untraced, traced
to a temporary SQLite file, and traced with LangGraph checkpoints (the default of
``sandlot run``, needed for --resume), and prints per-episode and per-step overhead.
Two step figures: per model call (planner or executor, with the tool calls it asked for)
and per graph node run (one LangGraph step).

    python bench/bench_agent_overhead.py [--episodes 300] [--tasks examples/tasks/store]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

from sandlot.agents.running.runner import run
from sandlot.environments.loader import load_tasks


def _percentile(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]


async def _measure(
    tasks, episodes: int, db: Path | None, agent: str, checkpoints: bool
) -> dict[str, float]:
    epochs = max(1, episodes // len(tasks))
    t0 = time.perf_counter()
    result = await run(
        tasks,
        model="oracle",
        db=db,
        agent=agent,
        concurrency=1,
        epochs=epochs,
        checkpoints=checkpoints,
    )
    wall = time.perf_counter() - t0
    eps = result.episodes
    failed = [e.task_id for e in eps if not e.success]
    if failed:
        raise SystemExit(f"oracle episodes failed: {failed[:5]}")
    steps = sum(e.model_calls for e in eps)
    nodes = sum(e.node_runs for e in eps)
    overheads = [e.overhead for e in eps]
    per_step = [e.overhead / e.model_calls for e in eps if e.model_calls]
    return {
        "episodes": len(eps),
        "steps": steps,
        "wall s": wall,
        "episode overhead ms (mean)": 1000 * statistics.mean(overheads),
        "step overhead ms (mean)": 1000 * sum(overheads) / steps,
        "step overhead ms (p50)": 1000 * _percentile(per_step, 0.5),
        "step overhead ms (p95)": 1000 * _percentile(per_step, 0.95),
        "node overhead ms (mean)": 1000 * sum(overheads) / nodes,
        "episode total ms (mean)": 1000 * statistics.mean(e.duration for e in eps),
        # everything a run pays per episode: world reset, graph, scoring, trace, checkpoints
        "wall ms per episode": 1000 * wall / len(eps),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=300)
    parser.add_argument("--tasks", default="examples/tasks/store")
    args = parser.parse_args()
    tasks = load_tasks([args.tasks])
    asyncio.run(_measure(tasks[:3], 3, None, "plan-execute", False))  # warm caches and imports
    rows = []
    modes = {"untraced": (False, False), "traced": (True, False), "traced+ckpt": (True, True)}
    with tempfile.TemporaryDirectory() as tmp:
        for agent in ("plan-execute", "single"):
            for mode, (traced, ckpt) in modes.items():
                db = Path(tmp) / f"{agent}-{mode}.db" if traced else None
                figures = asyncio.run(_measure(tasks, args.episodes, db, agent, ckpt))
                rows.append((agent, mode, figures))
    keys = list(rows[0][2])
    for agent, mode, figures in rows:
        print(f"\n{agent} / {mode}")
        for k in keys:
            print(f"  {k:30} {figures[k]:10.3f}")


if __name__ == "__main__":
    main()
