"""How often a real small model makes a valid tool call, with and without text tool calls.

Every store task once, plan-execute and single agent, with a real model served on this
machine by llama.cpp (``--model llama:smollm2-135m`` by default; the llm extra:
``make llm``), once with the API's native tool calling and once with ``tool_calls="text"``
(the tools in the prompt, calls read from the reply). Printed per mode: episodes with at
least one valid tool call (a call to an offered tool whose arguments were accepted, so
the tool ran), all tool calls, outcomes, and seconds per episode. Figures, not
assertions: they go to docs/BENCHMARKS.md.

Run from the repository root::

    PYTHONPATH=. python bench/bench_real_model.py [--model smollm2-135m] [--tasks N]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections import Counter
from pathlib import Path

from sandlot import load_tasks
from sandlot.agents.graph.runtime import AgentConfig
from sandlot.agents.models.llama import LlamaModel
from sandlot.agents.running.runner import run
from sandlot.environments.trajectory import SUBMIT_TOOL
from sandlot.traces.store import TraceStore

__all__ = ["main", "measure"]

ROOT = Path(__file__).resolve().parents[1]


async def measure(source: str, mode: str, agent: str, n_tasks: int, db: Path) -> dict:
    """Run the first ``n_tasks`` store tasks; count episodes with a valid tool call."""
    tasks = load_tasks([ROOT / "examples/tasks/store"])[:n_tasks]
    model = LlamaModel(source, tool_calls=mode, max_tokens=256, temperature=0.0, seed=0)
    config = AgentConfig(agent=agent, max_model_calls=8)  # type: ignore[arg-type]
    started = time.perf_counter()
    try:
        result = await run(tasks, model=model, db=db, agent=config, concurrency=2)
    finally:
        await model.aclose()
    seconds = time.perf_counter() - started
    with TraceStore(db) as store:
        valid = 0
        calls = 0
        for episode in result.episodes:
            events = store.events(episode.episode_id, kinds=["tool_call"])
            events = [e for e in events if e["name"] != SUBMIT_TOOL]  # the answer is no tool
            refused = ("unknown_tool", "invalid_json", "invalid_arguments")
            ran = [e for e in events if e["payload"].get("error_kind") not in refused]
            calls += len(events)
            valid += bool(ran)
    return {
        "mode": mode,
        "agent": agent,
        "episodes": len(result.episodes),
        "with_valid_call": valid,
        "tool_calls": calls,
        "outcomes": dict(Counter(e.outcome for e in result.episodes)),
        "seconds_per_episode": round(seconds / max(1, len(result.episodes)), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m", help="a GGUF path or packaged name")
    parser.add_argument("--tasks", type=int, default=1000, help="the first N store tasks")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for agent in ("plan-execute", "single"):
            for mode in ("native", "text"):
                db = Path(tmp) / f"{agent}-{mode}.db"
                row = asyncio.run(measure(args.model, mode, agent, args.tasks, db))
                print(
                    f"{args.model} {agent:12} {mode:6}: {row['with_valid_call']}/{row['episodes']} "
                    f"episodes with a valid tool call, {row['tool_calls']} tool calls, "
                    f"outcomes {row['outcomes']}, {row['seconds_per_episode']} s/episode",
                    flush=True,
                )


if __name__ == "__main__":
    main()
