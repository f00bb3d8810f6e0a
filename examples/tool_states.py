"""Tools available only in some states: a declared graph, and a rule read from the data.

    python examples/tool_states.py

1. The store makes ``cancel_order_item`` available only after ``get_order`` has
   succeeded (its ``tool_states``); a model that cancels before looking the order up is
   refused, told why, and succeeds once it has looked.
2. A world of your own can decide from its state: here refunds stop being available once
   this conversation has refunded $100, and the model is told to hand over instead.

See docs/guides/world.md ("Tools available only in some states") and docs/tasks.md.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sandlot.agents.models import ScriptedModel
from sandlot.agents.running.runner import run_episode
from sandlot.environments.base import register_environment
from sandlot.environments.loader import load_tasks
from sandlot.environments.tasks import Task
from sandlot.environments.trajectory import ToolCallRecord
from sandlot.environments.worlds.store.environment import StoreEnvironment

HERE = Path(__file__).resolve().parent
LIMIT = 100.0


@register_environment
class SupervisedStore(StoreEnvironment):
    """The store, where refunds past $100 in one conversation need a human agent."""

    name = "supervised-store"

    async def reset(self, task: Task) -> None:
        await super().reset(task)
        self._before = self._refunded()

    def _refunded(self) -> float:
        row = self.state.conn.execute("SELECT coalesce(sum(amount), 0) FROM refunds").fetchone()
        return float(row[0])

    def unavailable_tools(self, calls: Sequence[ToolCallRecord]) -> dict[str, str]:
        out = super().unavailable_tools(calls)  # the declared graph still holds
        spent = self._refunded() - self._before
        if spent >= LIMIT:
            out["refund_order"] = (
                f"refund_order is not available: ${spent:.2f} has been refunded in this "
                f"conversation, the most one agent may refund is ${LIMIT:.0f}; transfer "
                "to a human agent"
            )
        return out


def show(title: str, result: Any, model: ScriptedModel) -> None:
    print(f"== {title}: {result.outcome}")
    for request, call in zip(model.requests, result.trajectory.tools_used, strict=False):
        offered = [t["function"]["name"] for t in request.tools]
        print(f"  offered {len(offered)} tools; called {call.name}: ", end="")
        print(f"refused: {call.refused}" if call.refused else ("ok" if call.ok else "error"))


async def main() -> None:
    tasks = {t.id: t for t in load_tasks([HERE / "tasks/store/constrained.yaml"])}
    item = {"order_id": 1011, "product_id": 111}
    model = ScriptedModel(
        [
            {"tool": "cancel_order_item", "args": item},  # too early: refused
            {"tool": "get_order", "args": {"order_id": 1011}},
            {"tool": "cancel_order_item", "args": item},  # available now
            {"tool": "submit_answer", "args": {"answer": "New total $449.10."}},
        ]
    )
    result = await run_episode(tasks["store-constrained-001"], model=model, agent="single")
    show("declared graph", result, model)

    refund = {"tool": "refund_order", "args": {"order_id": 1008, "amount": 120, "reason": "x"}}
    task = Task(
        id="supervised-1",
        environment="supervised-store",
        instruction="Refund $120 on order 1008, twice.",
    )
    model = ScriptedModel([refund, refund, {"tool": "submit_answer", "args": {"answer": "ok"}}])
    result = await run_episode(task, model=model, agent="single")
    show("rule from the data", result, model)


if __name__ == "__main__":
    asyncio.run(main())
