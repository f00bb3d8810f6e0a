"""Parallel steps: a plan whose three lookups do not need each other runs them side by
side, each in its own branch, then answers; the episode's trace shows the branches.

Run it from the repository root::

    python examples/fanout.py

See docs/fanout.md.
"""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

from sandlot import run
from sandlot.agents.graph.runtime import AgentConfig
from sandlot.agents.models import ScriptedModel
from sandlot.environments.base import Environment, register_environment
from sandlot.environments.tasks import StateCheck, Task
from sandlot.tools import Toolset, tool
from sandlot.traces.store import TraceStore

PRICES = {"apples": "2.10", "pears": "3.40", "plums": "1.95"}


@tool(concurrent=True)
async def price_of(fruit: str) -> str:
    """Look up the price of a fruit per kilo (a slow, read-only lookup).

    Args:
        fruit: The fruit, e.g. apples.
    """
    await asyncio.sleep(0.2)  # a remote price list
    return PRICES.get(fruit, "unknown")


@register_environment
class FruitPrices(Environment):
    name = "fruit-prices"
    description = "A price list with a slow lookup."

    @classmethod
    def default_toolset(cls) -> Toolset:
        return Toolset("fruit-prices", [price_of])

    async def reset(self, task: Task) -> None:
        self.task = task
        self.state = {}

    async def check_state(self, check: StateCheck) -> tuple[bool, Any]:
        return True, {}


TASK = Task.model_validate(
    {
        "id": "fruit-1",
        "environment": "fruit-prices",
        "instruction": "What do apples, pears and plums cost per kilo?",
        "checklist": [
            {"id": "answer", "check": {"type": "answer", "match": "contains", "value": "3.40"}}
        ],
    }
)

PLAN = [
    {"text": "Look up the price of apples", "after": []},
    {"text": "Look up the price of pears", "after": []},
    {"text": "Look up the price of plums", "after": []},
    {"text": "Answer with the three prices", "after": [0, 1, 2]},
]


def agent(request: Any) -> Any:
    """A scripted executor: each lookup step calls price_of once and reports; the last
    step answers from what the steps found."""
    step = request.step_index or 0
    last = request.messages[-1]
    if step == 3:
        found = [m["content"] for m in request.messages if m.get("role") == "tool"]
        return {"tool": "submit_answer", "args": {"answer": ", ".join(found)}}
    if last.get("role") == "tool":
        return f"The price is {last['content']}."
    return {"tool": "price_of", "args": {"fruit": ("apples", "pears", "plums")[step]}}


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "fanout.db"
        t0 = time.perf_counter()
        result = await run(
            [TASK],
            model=ScriptedModel(agent, plan=PLAN),
            db=db,
            agent=AgentConfig(parallel_steps=True),
        )
        wall = time.perf_counter() - t0
        (episode,) = result.episodes
        print(f"outcome: {episode.outcome}, answer: {episode.answer}")
        with TraceStore(db, readonly=True) as store:
            events = store.events(episode.episode_id)
        for event in events:
            if event["kind"] == "node" and event["name"] == "join" and "wave" in event["payload"]:
                print(f"wave: steps {event['payload']['wave']} run side by side")
        branches = [e for e in events if e["kind"] == "node" and e["name"] == "branch"]
        print(f"branches: {len(branches)}")
        print(f"three 0.2 s lookups took {wall:.2f} s in all")


if __name__ == "__main__":
    asyncio.run(main())
