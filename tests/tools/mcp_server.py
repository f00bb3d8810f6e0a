"""A small MCP server for the tests: ``python mcp_server.py`` serves over stdio,
``python mcp_server.py http PORT`` over streamable HTTP at http://127.0.0.1:PORT/mcp."""

from __future__ import annotations

import sys

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

server = MCPServer("sandlot-test")


@server.tool()
def add(a: int, b: int) -> str:
    """Add two whole numbers.

    Args:
        a: The first number.
        b: The second number.
    """
    return str(a + b)


@server.tool()
def echo(text: str) -> str:
    """Repeat a text back.

    Args:
        text: What to repeat.
    """
    return text


@server.tool()
def refuse(reason: str) -> str:
    """Always fail, with the reason given.

    Args:
        reason: Why.
    """
    raise ToolError(reason)


if __name__ == "__main__":
    if sys.argv[1:2] == ["http"]:
        server.run(transport="streamable-http", host="127.0.0.1", port=int(sys.argv[2]))
    else:
        server.run()
