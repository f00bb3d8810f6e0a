"""Episodes per second on Ray against the number of workers: the store tasks played by
the oracle with a fixed delay per model call (a stand-in for a model's latency), run
with ``executor="ray"`` on a Ray instance of this machine with 1, 2 and 4 worker CPUs,
beside the local executor at the same concurrency. Each Ray figure is taken after a
warm-up run that starts the worker processes.

    python bench/bench_ray.py [--delay 0.05] [--epochs 2] [--workers 1 2 4]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

from sandlot.agents.models import OracleModel
from sandlot.agents.models.base import ModelRequest, ModelResponse
from sandlot.agents.running.ray_executor import RayExecutor
from sandlot.agents.running.runner import run
from sandlot.environments.loader import load_tasks

__all__ = ["SlowOracle", "main"]

ROOT = Path(__file__).resolve().parents[1]


class SlowOracle(OracleModel):
    """The oracle, ``delay`` seconds slower per model call."""

    def __init__(self, delay: float) -> None:
        super().__init__()
        self.delay = delay

    async def complete(self, request: ModelRequest) -> ModelResponse:
        await asyncio.sleep(self.delay)
        return await super().complete(request)


def _timed(tasks, model, workers: int, epochs: int, executor) -> tuple[int, float]:  # type: ignore[no-untyped-def]
    with tempfile.TemporaryDirectory() as tmp:
        t0 = time.perf_counter()
        result = asyncio.run(
            run(
                tasks,
                model=model,
                db=Path(tmp) / "t.db",
                concurrency=workers,
                epochs=epochs,
                executor=executor,
                check_model=False,
            )
        )
        elapsed = time.perf_counter() - t0
    assert all(e.success for e in result.episodes), "every oracle episode passes"
    return len(result.episodes), elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--delay", type=float, default=0.05, help="seconds per model call")
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    args = parser.parse_args()
    import ray

    tasks = load_tasks([ROOT / "examples/tasks/store"])
    model = SlowOracle(args.delay)
    print(
        f"{len(tasks)} store tasks x {args.epochs} epochs, oracle + {args.delay * 1000:.0f} ms "
        "per model call"
    )
    print(f"{'workers':>8} {'ray ep/s':>9} {'ray s':>7} {'local ep/s':>11} {'local s':>8}")
    for workers in args.workers:
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False)
        try:
            executor = RayExecutor()
            _timed(tasks[: workers * 2], model, workers, 1, executor)  # warm-up
            n, ray_s = _timed(tasks, model, workers, args.epochs, executor)
        finally:
            ray.shutdown()
        n_local, local_s = _timed(tasks, model, workers, args.epochs, None)
        print(
            f"{workers:>8} {n / ray_s:>9.2f} {ray_s:>7.1f} {n_local / local_s:>11.2f} "
            f"{local_s:>8.1f}"
        )


if __name__ == "__main__":
    main()
