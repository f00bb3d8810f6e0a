"""Sandbox speed: cold start, pool acquire, and exec round trips through our command
server versus a plain `docker exec` through the SDK, in one run.

    python bench/bench_sandbox.py [--runs 200]

Targets: warm exec p50 < 10 ms, >= 5x faster than exec_run, cold start < 1 s.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import warnings

from sandlot.environments.sandbox.docker import DockerSandbox
from sandlot.environments.sandbox.image import build_image
from sandlot.environments.sandbox.local import LocalSandbox
from sandlot.environments.sandbox.pool import SandboxPool

__all__ = ["main"]


def _pct(xs: list[float], q: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(q * len(xs)))]


async def _timed(call, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await call()
        times.append(time.perf_counter() - t0)
    return times


async def main(runs: int) -> None:
    build_image(log=lambda _: None)
    cold = []
    for _ in range(5):
        t0 = time.perf_counter()
        sb = await DockerSandbox.start(run_id="bench")
        await sb.exec("true")
        cold.append(time.perf_counter() - t0)
        await sb.close()
    async with SandboxPool(size=2, run_id="bench") as pool:
        while len(pool._ready) < 2:  # let the pool warm up
            await asyncio.sleep(0.05)
        acquire = []
        for _ in range(2):
            t0 = time.perf_counter()
            sb = await pool.acquire()
            acquire.append(time.perf_counter() - t0)
            await pool.release(sb)
            while len(pool._ready) < 2:
                await asyncio.sleep(0.05)
        sb = await pool.acquire()
        ours = await _timed(lambda: sb.exec("true"), runs)
        plain = await _timed(lambda: asyncio.to_thread(sb.container.exec_run, "true"), runs)
        await pool.release(sb)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        local = LocalSandbox()
    local_times = await _timed(lambda: local.exec("true"), runs)
    await local.close()
    p50, plain50 = statistics.median(ours), statistics.median(plain)
    rows = [
        ("cold start to first answer (mean of 5)", statistics.mean(cold) * 1000),
        ("pool acquire (warm, max of 2)", max(acquire) * 1000),
        ("exec `true` through the command server, p50", p50 * 1000),
        ("exec `true` through the command server, p95", _pct(ours, 0.95) * 1000),
        ("plain SDK exec_run(`true`), p50", plain50 * 1000),
        ("plain SDK exec_run(`true`), p95", _pct(plain, 0.95) * 1000),
        ("local backend exec `true`, p50", statistics.median(local_times) * 1000),
    ]
    print(f"runs: {runs} per exec figure")
    for name, ms in rows:
        print(f"{name:48} {ms:9.2f} ms")
    print(f"{'speed-up over plain exec_run (p50 ratio)':48} {plain50 / p50:9.1f} x")
    met = p50 < 0.010 and plain50 / p50 >= 5 and statistics.mean(cold) < 1.0
    print("targets (p50 < 10 ms, >= 5x, cold < 1 s):", "met" if met else "NOT met")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=200)
    asyncio.run(main(parser.parse_args().runs))
