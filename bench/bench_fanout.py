"""Parallel steps and concurrent tool calls: wall time of an episode whose three lookups
each take 0.2 s, made four ways by a scripted model, in one run:

- sequential steps: a plan of three steps, one lookup each, one after the other;
- parallel steps: the same plan with the lookups marked independent
  (``AgentConfig.parallel_steps``): three branches side by side;
- one reply, in turn: one step whose reply makes the three calls, to a tool that does
  not declare ``concurrent``;
- one reply, concurrent: the same, to a tool declared ``@tool(concurrent=True)``.

Prints the median episode wall time of each, and each one's ratio to the sequential steps.

    python bench/bench_fanout.py [--episodes 5] [--delay 0.2]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

from sandlot.agents.graph.runtime import AgentConfig
from sandlot.agents.models import ScriptedModel
from sandlot.agents.models.base import ModelRequest, ModelResponse
from sandlot.agents.running.runner import run
from sandlot.environments.base import Environment, register_environment
from sandlot.environments.tasks import StateCheck, Task
from sandlot.tools import Toolset, tool
from sandlot.tools.calls import ToolCall

DELAY = {"seconds": 0.2}
KEYS = ("a", "b", "c")


@tool(concurrent=True)
async def lookup(key: str) -> str:
    """Look up a key (slow, read-only; calls may overlap).

    Args:
        key: The key.
    """
    await asyncio.sleep(DELAY["seconds"])
    return f"value of {key}"


@tool
async def lookup_in_turn(key: str) -> str:
    """Look up a key (slow; calls run one after the other).

    Args:
        key: The key.
    """
    await asyncio.sleep(DELAY["seconds"])
    return f"value of {key}"


@register_environment
class SlowLookups(Environment):
    name = "bench-slow-lookups"
    description = "Lookups that each take a while."

    @classmethod
    def default_toolset(cls) -> Toolset:
        return Toolset("bench-slow-lookups", [lookup, lookup_in_turn])

    async def reset(self, task: Task) -> None:
        self.task = task
        self.state = {}

    async def check_state(self, check: StateCheck) -> tuple[bool, Any]:
        return True, {}


TASK = Task.model_validate(
    {
        "id": "slow-lookups",
        "environment": "bench-slow-lookups",
        "instruction": "Look up a, b and c and answer with the values.",
        "checklist": [
            {"id": "answer", "check": {"type": "answer", "match": "contains", "value": "a"}}
        ],
    }
)


def _steps(parallel: bool) -> tuple[list[Any], Any]:
    plan: list[Any] = [f"Look up key {k}" for k in KEYS] + ["Answer"]
    if parallel:
        plan = [{"text": t, "after": []} for t in plan[:3]] + [
            {"text": "Answer", "after": [0, 1, 2]}
        ]

    def script(request: ModelRequest) -> Any:
        step = request.step_index or 0
        if step == 3:
            return {"tool": "submit_answer", "args": {"answer": "a, b, c"}}
        if request.messages[-1].get("role") == "tool":
            return "Done."
        return {"tool": "lookup", "args": {"key": KEYS[step]}}

    return plan, script


def _one_reply(tool_name: str) -> tuple[list[Any], Any]:
    def script(request: ModelRequest) -> Any:
        if request.messages[-1].get("role") == "tool":
            return {"tool": "submit_answer", "args": {"answer": "a, b, c"}}
        return ModelResponse(
            tool_calls=[
                ToolCall(f"c{i}", tool_name, json.dumps({"key": k})) for i, k in enumerate(KEYS)
            ]
        )

    return ["Look up a, b and c and answer"], script


async def _episode_times(
    plan: list[Any], script: Any, parallel: bool, episodes: int
) -> list[float]:
    times = []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(episodes):
            model = ScriptedModel(script, plan=plan)
            t0 = time.perf_counter()
            result = await run(
                [TASK],
                model=model,
                db=Path(tmp) / f"{i}.db",
                agent=AgentConfig(parallel_steps=parallel),
            )
            times.append(time.perf_counter() - t0)
            assert result.episodes[0].outcome == "passed", result.episodes[0].error
    return times


async def main(episodes: int) -> None:
    ways = {
        "sequential steps": (*_steps(False), False),
        "parallel steps": (*_steps(True), True),
        "one reply, in turn": (*_one_reply("lookup_in_turn"), False),
        "one reply, concurrent": (*_one_reply("lookup"), False),
    }
    medians = {}
    for name, (plan, script, parallel) in ways.items():
        medians[name] = statistics.median(await _episode_times(plan, script, parallel, episodes))
    base = medians["sequential steps"]
    print(f"3 lookups of {DELAY['seconds']:g} s, median of {episodes} episodes each")
    for name, wall in medians.items():
        print(f"{name:24s} {wall:6.3f} s   x{wall / base:.2f} of sequential steps")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=5)
    parser.add_argument("--delay", type=float, default=0.2)
    args = parser.parse_args()
    DELAY["seconds"] = args.delay
    asyncio.run(main(args.episodes))
