"""What sandlot adds to a real model's episode time: tokens per second through sandlot
versus the same requests sent straight to the llama.cpp server.

One llama.cpp server (``llama:smollm2-135m`` by default; the llm extra) answers both:

1. **Through sandlot**: the first N store tasks run as episodes (concurrency 1, so the
   model calls are one after another, as in the direct pass). Every chat-completion
   request the model client sends is captured with the seconds spent inside it (the
   openai SDK's ``chat.completions.create``). Harness overhead = episode wall time minus
   the time inside model requests, as a fraction of the episode wall time.
2. **Direct**: the very same requests (same messages, tools, temperature 0, seed,
   max_tokens), in the same order, sent with a fresh openai SDK client to the same server.

Printed: completion tokens, seconds and tokens per second for both, and the overhead.
Figures, not assertions: they go to docs/BENCHMARKS.md.

Run from the repository root::

    PYTHONPATH=. python bench/bench_model_overhead.py [--model smollm2-135m] [--tasks 6]
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import tempfile
import time
from pathlib import Path
from typing import Any

import openai

from sandlot import load_tasks
from sandlot.agents.graph.runtime import AgentConfig
from sandlot.agents.models.llama import LlamaModel
from sandlot.agents.running.runner import run

__all__ = ["direct", "main", "through_sandlot"]

ROOT = Path(__file__).resolve().parents[1]


def _capture(model: LlamaModel, requests: list[dict[str, Any]]) -> None:
    """Time every chat-completion request the model's SDK client sends, keeping each
    request's parameters and completion tokens in ``requests``."""
    completions = model._client.chat.completions
    create = completions.create

    async def timed(**params: Any) -> Any:
        started = time.perf_counter()
        reply = await create(**params)
        seconds = time.perf_counter() - started
        tokens = reply.usage.completion_tokens if reply.usage else 0
        requests.append({"params": copy.deepcopy(params), "seconds": seconds, "tokens": tokens})
        return reply

    completions.create = timed  # type: ignore[method-assign]


async def through_sandlot(
    model: LlamaModel, n_tasks: int, agent: str, db: Path
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Run the first ``n_tasks`` store tasks one at a time; the figures and the captured
    requests."""
    tasks = load_tasks([ROOT / "examples/tasks/store"])[:n_tasks]
    if not hasattr(model, "_captured"):
        _capture(model, model.__dict__.setdefault("_captured", []))
    model._captured.clear()  # type: ignore[attr-defined]
    requests = model._captured  # type: ignore[attr-defined]
    config = AgentConfig(agent=agent, max_model_calls=6)  # type: ignore[arg-type]
    started = time.perf_counter()
    result = await run(tasks, model=model, db=db, agent=config, concurrency=1)
    wall = time.perf_counter() - started
    episodes = sum(e.duration for e in result.episodes)
    in_model = sum(r["seconds"] for r in requests)
    tokens = sum(r["tokens"] for r in requests)
    requests = list(requests)
    return {
        "episodes": len(result.episodes),
        "requests": len(requests),
        "completion_tokens": tokens,
        "run_seconds": wall,
        "episode_seconds": episodes,
        "model_seconds": in_model,
        "tokens_per_second": tokens / episodes,
        "tokens_per_model_second": tokens / in_model,
        "overhead": (episodes - in_model) / episodes,
        "overhead_per_episode": (episodes - in_model) / max(1, len(result.episodes)),
    }, requests


async def direct(base_url: str, requests: list[dict[str, Any]]) -> dict[str, Any]:
    """Send the captured requests again, in order, with a fresh openai SDK client."""
    client = openai.AsyncOpenAI(base_url=base_url, api_key="unused", timeout=300.0)
    tokens = 0
    started = time.perf_counter()
    try:
        for request in requests:
            reply = await client.chat.completions.create(**request["params"])
            tokens += reply.usage.completion_tokens if reply.usage else 0
    finally:
        seconds = time.perf_counter() - started
        await client.close()
    return {
        "requests": len(requests),
        "completion_tokens": tokens,
        "seconds": seconds,
        "tokens_per_second": tokens / seconds,
    }


async def measure(source: str, n_tasks: int, agent: str, tool_calls: str, rounds: int) -> None:
    """``rounds`` times: the episodes through sandlot, then their requests direct (the
    passes alternate so that the machine's load falls on both alike)."""
    model = LlamaModel(source, tool_calls=tool_calls, max_tokens=96, temperature=0.0, seed=0)
    try:
        await model.start()  # loading the model is in neither figure
        for index in range(rounds):
            with tempfile.TemporaryDirectory() as tmp:
                ours, requests = await through_sandlot(model, n_tasks, agent, Path(tmp) / "t.db")
            theirs = await direct(model.server.base_url, requests)
            print(f"round {index + 1} of {rounds}")
            _report(source, agent, tool_calls, ours, theirs)
    finally:
        await model.aclose()


def _report(
    source: str, agent: str, tool_calls: str, ours: dict[str, Any], theirs: dict[str, Any]
) -> None:
    print(
        f"{source} {agent} tool_calls={tool_calls}: {ours['episodes']} episodes, "
        f"{ours['requests']} model requests"
    )
    print(
        f"  direct:       {theirs['completion_tokens']} completion tokens in "
        f"{theirs['seconds']:.1f} s = {theirs['tokens_per_second']:.1f} tok/s"
    )
    print(
        f"  through sandlot: {ours['completion_tokens']} completion tokens; "
        f"{ours['model_seconds']:.1f} s inside model requests "
        f"({ours['tokens_per_model_second']:.1f} tok/s), episodes {ours['episode_seconds']:.1f} s "
        f"= {ours['tokens_per_second']:.1f} tok/s of episode time (run {ours['run_seconds']:.1f} s)"
    )
    print(
        f"  harness overhead: {100 * ours['overhead']:.2f}% of episode time "
        f"({1000 * ours['overhead_per_episode']:.0f} ms per episode); "
        f"sandlot tok/s / direct tok/s = {ours['tokens_per_second'] / theirs['tokens_per_second']:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m", help="a GGUF path or packaged name")
    parser.add_argument("--tasks", type=int, default=6, help="the first N store tasks")
    parser.add_argument("--agent", default="plan-execute", help="plan-execute | single")
    parser.add_argument("--tool-calls", default="text", help="native | text")
    parser.add_argument("--rounds", type=int, default=2, help="sandlot-then-direct passes")
    args = parser.parse_args()
    asyncio.run(measure(args.model, args.tasks, args.agent, args.tool_calls, args.rounds))


if __name__ == "__main__":
    main()
