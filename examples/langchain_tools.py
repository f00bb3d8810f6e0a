"""LangChain tools in a sandlot world: the ``@tool`` functions below join the store
world's tools, and one is called the way an agent would.

python examples/langchain_tools.py

The same source works on the command line (any ``sandlot run`` takes it too):

sandlot tools show loyalty_discount --env store --tools langchain:examples/langchain_tools.py
"""

from __future__ import annotations

import asyncio

from langchain_core.tools import ToolException, tool


@tool
def loyalty_discount(total: float, years: int) -> str:
    """The discount a customer gets on an order for their years of loyalty.

    Args:
        total: The order's total in euros.
        years: Whole years the customer has been with the store.
    """
    if years < 0:
        raise ToolException("years cannot be negative")
    rate = min(years, 10) / 100
    return f"{total * rate:.2f} EUR off ({rate:.0%})"


async def main() -> None:
    from sandlot import Task, ToolCall, invoke_tool, make_environment
    from sandlot.tools.sources import load_toolsets, tools_for

    added = load_toolsets([f"langchain:{__file__}"], installed=False)
    print("tools from LangChain:", ", ".join(t.name for t in tools_for("store", added)))
    env = make_environment("store", extra_tools=tools_for("store", added))
    await env.reset(Task(id="demo", environment="store", instruction="My discount?"))
    call = ToolCall("c1", "loyalty_discount", '{"total": 80, "years": 4}')
    print("result:", (await invoke_tool(env.toolset, call, env.context())).content)
    refused = ToolCall("c2", "loyalty_discount", '{"total": 80, "years": -1}')
    print("refusal:", (await invoke_tool(env.toolset, refused, env.context())).content)
    await env.close()


if __name__ == "__main__":
    asyncio.run(main())
