"""The local backend's costs, confined (run as root: a user and a network namespace of
its own) and not: exec `true`, a small file written and read, and a sandbox opened,
used once and closed (which kills what it left running).

    python bench/bench_local_sandbox.py [--runs 100]     # confined figures need root
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
import warnings
from collections.abc import Awaitable, Callable

from sandlot.environments.sandbox.local import LocalSandbox

__all__ = ["main"]


async def _p50_ms(call: Callable[[], Awaitable[object]], runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        await call()
        times.append(time.perf_counter() - t0)
    return statistics.median(times) * 1000


async def _figures(confine: bool, runs: int) -> dict[str, float]:
    sb = LocalSandbox(confine=confine)
    try:
        await sb.exec("true")  # a confined sandbox makes its namespace on first use
        figures = {
            "exec `true`": await _p50_ms(lambda: sb.exec("true"), runs),
            "write_file 1 kB": await _p50_ms(lambda: sb.write_file("f.txt", "x" * 1024), runs),
            "read_file 1 kB": await _p50_ms(lambda: sb.read_file("f.txt"), runs),
        }
    finally:
        await sb.close()

    async def lifecycle() -> None:
        one = LocalSandbox(confine=confine)
        await one.exec("true")
        await one.close()

    figures["open, exec `true`, close"] = await _p50_ms(lifecycle, max(5, runs // 10))
    return figures


async def main(runs: int) -> None:
    warnings.simplefilter("ignore")
    modes = [False, True] if os.geteuid() == 0 else [False]
    results = {mode: await _figures(mode, runs) for mode in modes}
    names = list(results[False])
    header = "| figure (p50) | unconfined |" + (" confined |" if True in results else "")
    print(f"runs: {runs} per figure")
    print(header)
    print("| --- | --- |" + (" --- |" if True in results else ""))
    for name in names:
        cells = " | ".join(f"{results[m][name]:.1f} ms" for m in modes)
        print(f"| {name} | {cells} |")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    asyncio.run(main(parser.parse_args().runs))
