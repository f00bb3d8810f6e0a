"""Bytes on disk per episode: the trace file plus the LangGraph checkpoints beside it.

Two figures (printed, not asserted):

1. Every store task once with the offline ``oracle`` model, traced and checkpointed
   as ``sandlot run`` does, into a fresh trace: the trace file, its WAL and the
   checkpoint file (with its WAL), after the run is closed, divided by the number of
   episodes. Target: at most 40 KB per episode.
2. One long message: a scripted single-agent episode whose first reply carries a
   10 MiB text (random base64, so that no compression could hide it) with a tool call,
   followed by 11 small calls (10 tool calls, then submit_answer), so the big message
   is in the conversation of every later call. Total bytes on disk against the
   message's size. Target: at most 3x.

Each is given twice: as ``sandlot.run`` leaves the files, and after the finished
episodes' checkpoint threads are deleted (``InlineSqliteSaver.delete_threads``, what the
runner does once an episode is recorded; a resume never needs them). Once the runner
deletes them itself, the two agree.

Run from the repository root::

    PYTHONPATH=. python bench/bench_trace_size.py [--big-mib 10] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import random
import tempfile
from pathlib import Path
from typing import Any

from sandlot import load_tasks, run
from sandlot.agents.models.scripted import ScriptedModel
from sandlot.agents.running.checkpoints import open_checkpointer

__all__ = ["big_message_episode", "disk_usage", "main", "oracle_store_run"]

ROOT = Path(__file__).resolve().parent.parent
STORE_TASKS = ROOT / "examples" / "tasks" / "store"
SUFFIXES = ("", "-wal", "-shm", "-checkpoints", "-checkpoints-wal", "-checkpoints-shm")


def disk_usage(db: Path) -> dict[str, int]:
    """Bytes of the trace file and every file beside it (WAL, checkpoints), by suffix."""
    sizes = {}
    for suffix in SUFFIXES:
        path = Path(f"{db}{suffix}")
        if path.exists():
            sizes[suffix or "trace"] = path.stat().st_size
    return sizes


def _trace_and_checkpoints(sizes: dict[str, int]) -> tuple[int, int]:
    checkpoints = sum(v for k, v in sizes.items() if k.startswith("-checkpoints"))
    return sum(sizes.values()) - checkpoints, checkpoints


async def _measure(db: Path, episode_ids: list[str]) -> dict[str, Any]:
    """Sizes as the run left them, then after its finished threads are deleted."""
    sizes = disk_usage(db)
    trace, checkpoints = _trace_and_checkpoints(sizes)
    async with open_checkpointer(db) as saver:
        saver.delete_threads(episode_ids)
    after = disk_usage(db)
    return {
        "sizes": sizes,
        "trace": trace,
        "checkpoints": checkpoints,
        "checkpoints_deleted": _trace_and_checkpoints(after)[1],
    }


async def oracle_store_run(db: Path) -> dict[str, Any]:
    """Every store task with the oracle into a fresh trace at ``db``; sizes after close."""
    tasks = load_tasks([STORE_TASKS])
    result = await run(tasks, model="oracle", db=db)
    out = await _measure(db, [e.episode_id for e in result.episodes])
    return {"episodes": len(result.episodes), **out}


def _big_text(n: int) -> str:
    data = random.Random(0).randbytes(n * 3 // 4 + 3)
    return base64.b64encode(data).decode()[:n]


async def big_message_episode(db: Path, size: int) -> dict[str, Any]:
    """One episode whose first reply is ``size`` characters, then 11 small calls."""
    task = next(t for t in load_tasks([STORE_TASKS]) if t.id == "store-contact-003")
    big = _big_text(size)
    script: list[Any] = [{"content": big, "tool": "get_customer", "args": {"customer_id": 8}}]
    script += [{"tool": "get_customer", "args": {"customer_id": i}} for i in range(1, 11)]
    script.append({"tool": "submit_answer", "args": {"answer": "done"}})
    model = ScriptedModel(script, name="scripted-big")
    result = await run([task], model=model, db=db, agent="single")
    episode = result.episodes[0]
    return {
        "size": size,
        "model_calls": len(model.requests),
        "status": getattr(episode, "outcome", None) or episode.status,
        **await _measure(db, [episode.episode_id]),
    }


def _kb(n: float) -> str:
    return f"{n / 1024:,.1f} KB"


def _mb(n: float) -> str:
    return f"{n / 2**20:,.1f} MiB"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--big-mib", type=float, default=10.0, help="size of the long message")
    parser.add_argument(
        "--keep", type=Path, help="write the traces here (kept) instead of a temp dir"
    )
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        where = args.keep or Path(tmp)
        where.mkdir(parents=True, exist_ok=True)
        oracle = asyncio.run(oracle_store_run(where / "oracle.db"))
        n = oracle["episodes"]
        print(f"oracle store run: {n} episodes (target: at most 40 KB per episode)")
        print(f"  files: {', '.join(f'{k} {_kb(v)}' for k, v in oracle['sizes'].items())}")
        for label, checkpoints in (
            ("as run", oracle["checkpoints"]),
            ("finished threads deleted", oracle["checkpoints_deleted"]),
        ):
            print(
                f"  {label}: trace {_kb(oracle['trace'] / n)} + checkpoints "
                f"{_kb(checkpoints / n)} = {_kb((oracle['trace'] + checkpoints) / n)} per episode"
            )
        big = asyncio.run(big_message_episode(where / "big.db", int(args.big_mib * 2**20)))
        print(
            f"one {_mb(big['size'])} message, then 11 small calls "
            f"({big['model_calls']} model calls, {big['status']}; target: at most 3x in total)"
        )
        print(f"  files: {', '.join(f'{k} {_mb(v)}' for k, v in big['sizes'].items())}")
        for label, checkpoints in (
            ("as run", big["checkpoints"]),
            ("finished thread deleted", big["checkpoints_deleted"]),
        ):
            total = big["trace"] + checkpoints
            print(
                f"  {label}: trace {_mb(big['trace'])} + checkpoints {_mb(checkpoints)} = "
                f"{total / big['size']:.2f}x the message"
            )


if __name__ == "__main__":
    main()
