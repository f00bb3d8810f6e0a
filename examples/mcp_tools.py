"""An MCP server's tools in a sandlot world: the server below is started over stdio, its
tools join the store world's, and one is called the way an agent would.

python examples/mcp_tools.py          (needs the mcp extra: pip install 'sandlot[mcp]')

The same source works on the command line:

sandlot tools list --env store --tools "mcp+stdio:python examples/mcp_tools.py serve"
"""

from __future__ import annotations

import asyncio
import shlex
import sys

SOURCE = f"mcp+stdio:{shlex.quote(sys.executable)} {shlex.quote(__file__)} serve"


def serve() -> None:
    """Run the MCP server (over stdio) with one tool, ``shipping_cost``."""
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError

    server = MCPServer("shipping")

    @server.tool()
    def shipping_cost(weight_kg: float, express: bool = False) -> str:
        """The cost of shipping a parcel, in euros.

        Args:
            weight_kg: The parcel's weight in kilograms.
            express: Next-day delivery.
        """
        if weight_kg <= 0:
            raise ToolError("the weight must be positive")
        cost = 4.5 + 1.2 * weight_kg + (6 if express else 0)
        return f"{cost:.2f} EUR"

    server.run()


async def main() -> None:
    from sandlot import Task, ToolCall, invoke_tool, make_environment
    from sandlot.tools.mcp_servers import close_mcp_servers
    from sandlot.tools.sources import load_toolsets, tools_for

    added = load_toolsets([SOURCE], installed=False)
    print("tools from the server:", ", ".join(t.name for t in tools_for("store", added)))
    env = make_environment("store", extra_tools=tools_for("store", added))
    await env.reset(Task(id="demo", environment="store", instruction="What does 2 kg cost?"))
    call = ToolCall("c1", "shipping_cost", '{"weight_kg": 2, "express": true}')
    print("result:", (await invoke_tool(env.toolset, call, env.context())).content)
    refused = ToolCall("c2", "shipping_cost", '{"weight_kg": 0}')
    print("refusal:", (await invoke_tool(env.toolset, refused, env.context())).content)
    await env.close()
    close_mcp_servers()  # also done at exit


if __name__ == "__main__":
    if sys.argv[1:] == ["serve"]:
        serve()
    else:
        asyncio.run(main())
