"""MCP servers as tool sources: ``--tools "mcp+stdio:COMMAND ARGS..."`` starts a server
as a subprocess and talks to it over its stdin and stdout; ``--tools
mcp+http://HOST:PORT/PATH`` (or ``mcp+https://``) connects to a running server over
streamable HTTP. Each tool the server lists becomes a Tool with the server's JSON schema;
calling it calls the server's ``tools/call`` and returns its text content (a result the
server marks as an error is a tool error the model reads).

A process holds one session per source, opened when the source is first loaded and
closed when the process exits (or by :func:`close_mcp_servers`). The session runs on an
event loop of its own, in a thread, so that tools can be called from any event loop.
Needs the ``mcp`` extra (``pip install 'sandlot[mcp]'``).
"""

from __future__ import annotations

import asyncio
import atexit
import concurrent.futures
import contextlib
import shlex
import threading
from typing import Any

from sandlot.errors import UserError
from sandlot.tools.decorator import Tool
from sandlot.tools.errors import ToolError
from sandlot.tools.foreign import schema_tool
from sandlot.tools.toolset import Toolset

__all__ = ["STARTUP_TIMEOUT", "close_mcp_servers", "is_mcp_source", "mcp_toolset"]

STDIO = "mcp+stdio:"
HTTP = ("mcp+http://", "mcp+https://")
# Seconds a server has to start, answer the handshake and list its tools.
STARTUP_TIMEOUT = 60.0

_lock = threading.Lock()
_servers: dict[str, _Server] = {}


def is_mcp_source(source: str) -> bool:
    """Whether a ``--tools`` source names an MCP server."""
    return source.startswith((STDIO, *HTTP))


def mcp_toolset(source: str) -> Toolset:
    """The tools of the MCP server ``source`` names (``mcp+stdio:COMMAND ARGS...`` or
    ``mcp+http://HOST:PORT/PATH``); its session is opened on first use and shared by
    every later call in this process.

    Raises:
        UserError: the mcp extra is missing, or the server cannot be started or reached
            (naming its command or URL).
    """
    with _lock:
        server = _servers.get(source)
        if server is None:
            server = _Server(source)
            server.start()
            _servers[source] = server
    return Toolset(server.label, server.tools)


def close_mcp_servers() -> None:
    """Close every MCP session this process opened (stopping the servers it started).
    Called at exit; a source loaded afterwards opens a new session."""
    with _lock:
        servers = list(_servers.values())
        _servers.clear()
    for server in servers:
        server.close()


atexit.register(close_mcp_servers)


class _Server:
    """One MCP session, on an event loop in a thread of its own."""

    def __init__(self, source: str) -> None:
        try:
            import mcp  # noqa: F401
        except ImportError as exc:
            raise UserError(
                f"--tools {source!r} needs the MCP client: pip install 'sandlot[mcp]' ({exc})"
            ) from exc
        self.source = source
        if source.startswith(STDIO):
            argv = shlex.split(source[len(STDIO) :])
            if not argv:
                raise UserError(f"--tools {source!r}: give the server's command after mcp+stdio:")
            self.argv: list[str] | None = argv
            self.url = ""
            self.label = f"mcp:{argv[0]}"
            self.what = f"the MCP server command {shlex.join(argv)!r}"
        else:
            self.argv = None
            self.url = source[len("mcp+") :]
            self.label = f"mcp:{self.url}"
            self.what = f"the MCP server at {self.url}"
        self.tools: list[Tool] = []
        self._ready: concurrent.futures.Future[list[Any]] = concurrent.futures.Future()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._session: Any = None
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._serve()), name=f"sandlot-{self.label}", daemon=True
        )

    def start(self) -> None:
        self._thread.start()
        try:
            listed = self._ready.result(timeout=STARTUP_TIMEOUT)
        except concurrent.futures.TimeoutError:
            self.close()
            raise UserError(
                f"{self.what} did not answer within {STARTUP_TIMEOUT:g} s "
                "(the MCP handshake and tools/list)"
            ) from None
        except Exception as exc:
            self.close()
            raise UserError(f"{self.what} failed to start: {_reason(exc)}") from exc
        self.tools = [self._tool(t) for t in listed]

    async def _serve(self) -> None:
        from mcp import ClientSession

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        try:
            async with contextlib.AsyncExitStack() as stack:
                read, write = await stack.enter_async_context(self._transport())
                session = await stack.enter_async_context(ClientSession(read, write))
                await session.initialize()
                listed: list[Any] = []
                cursor = None
                while True:
                    page = await session.list_tools(params=_page(cursor))
                    listed.extend(page.tools)
                    cursor = page.next_cursor
                    if not cursor:
                        break
                self._session = session
                self._ready.set_result(listed)
                await self._stop.wait()
        except BaseException as exc:
            if not self._ready.done():
                self._ready.set_exception(exc if isinstance(exc, Exception) else RuntimeError(exc))
            elif not isinstance(exc, Exception):
                raise

    def _transport(self) -> contextlib.AbstractAsyncContextManager[Any]:
        if self.argv is not None:
            import os

            from mcp.client.stdio import StdioServerParameters, stdio_client

            params = StdioServerParameters(
                command=self.argv[0], args=self.argv[1:], env=dict(os.environ)
            )
            return stdio_client(params)
        from mcp.client.streamable_http import streamable_http_client

        return streamable_http_client(self.url)

    def _tool(self, listed: Any) -> Tool:
        name = str(listed.name)

        async def call(arguments: dict[str, Any]) -> str:
            return await self.call(name, arguments)

        schema = dict(listed.input_schema or {"type": "object", "properties": {}})
        return schema_tool(name, listed.description or "", schema, call)

    async def call(self, name: str, arguments: dict[str, Any]) -> str:
        """Call the server's tool ``name`` from any event loop; its text content."""
        loop, session = self._loop, self._session
        if loop is None or session is None or loop.is_closed():
            raise ToolError(f"{self.what} is closed")
        future = asyncio.run_coroutine_threadsafe(session.call_tool(name, arguments), loop)
        result = await asyncio.wrap_future(future)
        text = _text(result)
        if result.is_error:
            raise ToolError(text or f"{name} failed")
        return text

    def close(self) -> None:
        loop, stop = self._loop, self._stop
        if loop is not None and stop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(stop.set)
        if self._thread.is_alive():
            self._thread.join(timeout=10)


def _page(cursor: str | None) -> Any:
    if cursor is None:
        return None
    from mcp import types

    return types.PaginatedRequestParams(cursor=cursor)


def _text(result: Any) -> str:
    """What the model reads of a tools/call result: its text blocks, one per line; other
    blocks by their type; the structured result when there is no content."""
    parts = []
    for block in result.content:
        text = getattr(block, "text", None)
        parts.append(text if isinstance(text, str) else f"[{getattr(block, 'type', 'content')}]")
    if not parts and result.structured_content is not None:
        import json

        return json.dumps(result.structured_content, ensure_ascii=False)
    return "\n".join(parts)


def _reason(exc: BaseException) -> str:
    """The innermost cause of a failure (task groups wrap it in exception groups)."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__
