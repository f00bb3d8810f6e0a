"""Add a tool to an existing world in a few lines, then call it the way an agent would.

python examples/custom_tool.py
"""

from __future__ import annotations

import asyncio
import json
from datetime import date, timedelta

from sandlot import Task, ToolCall, ToolContext, ToolError, invoke_tool, make_environment, tool


@tool
def estimate_delivery_date(ctx: ToolContext, order_id: int) -> str:
    """Estimate when an order that has not been delivered will arrive.

    Args:
        order_id: The order's numeric id.
    """
    with ctx.state.lock:  # sync tools run in worker threads; the store's state has a lock
        row = ctx.state.conn.execute(
            "SELECT status, shipped FROM orders WHERE id = ?", (order_id,)
        ).fetchone()
    if row is None:
        raise ToolError(f"no order with id {order_id}")
    status, shipped = row
    if status in ("delivered", "cancelled"):
        raise ToolError(f"order {order_id} is {status}; there is nothing to estimate")
    start = date.fromisoformat(shipped or ctx.state.today)
    return (start + timedelta(days=3 if shipped else 5)).isoformat()


async def main() -> None:
    env = make_environment("store", extra_tools=[estimate_delivery_date])
    await env.reset(
        Task(id="demo", environment="store", instruction="When will order 1003 arrive?")
    )
    outcome = await invoke_tool(
        env.toolset, ToolCall("c1", "estimate_delivery_date", '{"order_id": 1003}'), env.context()
    )
    print("result:", outcome.content)
    refused = await invoke_tool(
        env.toolset, ToolCall("c2", "estimate_delivery_date", '{"order_id": 1004}'), env.context()
    )
    print("refusal:", refused.content)
    print("schema the model sees:")
    print(json.dumps(estimate_delivery_date.schema(), indent=2))
    await env.close()


if __name__ == "__main__":
    asyncio.run(main())
