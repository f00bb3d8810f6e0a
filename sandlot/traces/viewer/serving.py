"""A bounded HTTP server for the viewer: one event-loop thread holds every connection
and reads request heads; a fixed pool of worker threads answers complete requests.

A connection costs a thread only while its request is being answered. One that sends
nothing, or part of a request, holds a socket until its idle timeout and is then
closed; so is a kept-alive connection that sends no next request. The number of open
connections and of pending answers is bounded, and so is the listen backlog.

Handlers are ``http.server.BaseHTTPRequestHandler`` subclasses built on
:class:`HeadRequestHandler`: each answers one request whose head is already read, into
memory; the event loop writes the answer out (a slow reader holds no worker either).
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import socket
import sys
import threading
import traceback
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler
from typing import Any

__all__ = ["BoundedHTTPServer", "HeadRequestHandler"]

MAX_HEAD = 65536  # bytes of request line and headers; more is refused with 431


class HeadRequestHandler(BaseHTTPRequestHandler):
    """Answers one request whose head (``request``: the request line and headers, as
    read by the server) is already in memory; the answer is collected in ``wfile``. A
    request's body is never read: the handler must close the connection after a
    request that has one (``close_connection = True``)."""

    request: bytes  # type: ignore[assignment]  # the head, not a socket

    def setup(self) -> None:
        self.connection = None
        self.rfile = io.BytesIO(self.request)
        self.answer = io.BytesIO()  # what the server sends back
        self.wfile = self.answer

    def handle(self) -> None:
        self.close_connection = True
        self.handle_one_request()

    def finish(self) -> None:
        pass  # the server reads ``answer``


def _plain(status: str, text: str) -> bytes:
    body = text.encode()
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    ).encode() + body


_TOO_LARGE = _plain("431 Request Header Fields Too Large", "the request head is too large")
_FAILED = _plain("500 Internal Server Error", "the viewer failed to answer this request")


class _HeadTooLarge(Exception):
    pass


class BoundedHTTPServer:
    """Serves ``handler_class`` (a :class:`HeadRequestHandler`) on ``address``.

    The socket is bound and listening once constructed; ``serve_forever`` (in any
    thread) answers until ``shutdown``; ``server_close`` frees the socket and the workers.

    Args:
        workers: threads that answer requests (the only threads besides the loop's).
        max_connections: open connections at most; a connection over it is closed at
            once, unanswered.
        idle_timeout: seconds a connection may take to send a whole request head (from
            its start, or from the last answer on a kept-alive connection) and a client
            may take to read an answer; it is closed after that.
        backlog: connections the kernel queues before the server accepts them.

    Raises:
        OSError: the address cannot be bound.
    """

    def __init__(
        self,
        address: tuple[str, int],
        handler_class: type[HeadRequestHandler],
        *,
        family: socket.AddressFamily = socket.AF_INET,
        workers: int = 8,
        max_connections: int = 512,
        idle_timeout: float = 10.0,
        backlog: int = 128,
    ) -> None:
        self.handler_class = handler_class
        self.workers = workers
        self.max_connections = max_connections
        self.idle_timeout = idle_timeout
        self.backlog = backlog
        self.socket = socket.socket(family, socket.SOCK_STREAM)
        try:
            self.socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            self.socket.bind(address)
            self.socket.listen(backlog)
        except OSError:
            self.socket.close()
            raise
        self.server_address: tuple[Any, ...] = self.socket.getsockname()
        self._pool = ThreadPoolExecutor(workers, thread_name_prefix="sandlot-viewer")
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._stopping = False
        self._done = threading.Event()
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    # --- the life cycle --------------------------------------------------------------

    def serve_forever(self) -> None:
        """Answer requests until :meth:`shutdown` (returns at once after it)."""
        self._done.clear()
        try:
            asyncio.run(self._serve())
        finally:
            self._done.set()

    def shutdown(self) -> None:
        """Stop :meth:`serve_forever` and wait until it has returned."""
        with self._lock:
            self._stopping = True
            loop, stop = self._loop, self._stop
        if loop is not None and stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has closed already
                loop.call_soon_threadsafe(stop.set)
            self._done.wait()

    def server_close(self) -> None:
        """Close the listening socket and let the workers finish what they answer."""
        self.socket.close()
        self._pool.shutdown(wait=True, cancel_futures=True)

    async def _serve(self) -> None:
        with self._lock:
            if self._stopping:
                return
            self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
            stop = self._stop
        server = await asyncio.start_server(
            self._accept, sock=self.socket, limit=MAX_HEAD + 2, backlog=self.backlog
        )
        try:
            await stop.wait()
        finally:  # stop listening, then end the connections, then wait for the server
            server.close()
            while self._connections:  # closed, not cancelled: each ends as it would anyway
                for writer in list(self._connections.values()):
                    writer.transport.abort()
                await asyncio.gather(*list(self._connections), return_exceptions=True)
            await server.wait_closed()

    # --- one connection --------------------------------------------------------------

    def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """A new connection: served by a task of its own, or closed at once when there
        are already ``max_connections``."""
        if len(self._connections) >= self.max_connections:
            writer.transport.abort()
            return
        task = asyncio.get_running_loop().create_task(self._connection(reader, writer))
        self._connections[task] = writer
        task.add_done_callback(self._ended)

    def _ended(self, task: asyncio.Task[None]) -> None:
        self._connections.pop(task, None)

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        peer = writer.get_extra_info("peername") or ("", 0)
        try:
            while True:
                try:
                    head = await asyncio.wait_for(_read_head(reader), self.idle_timeout)
                except _HeadTooLarge:
                    writer.write(_TOO_LARGE)
                    await asyncio.wait_for(writer.drain(), self.idle_timeout)
                    return
                if head is None:
                    return  # the client closed
                loop = asyncio.get_running_loop()
                answer, keep_open = await loop.run_in_executor(self._pool, self._answer, head, peer)
                writer.write(answer)
                await asyncio.wait_for(writer.drain(), self.idle_timeout)
                if not keep_open:
                    return
        except (TimeoutError, OSError):
            return  # idle, too slow, gone, or closed by the server stopping
        finally:
            writer.close()

    def _answer(self, head: bytes, peer: tuple[Any, ...]) -> tuple[bytes, bool]:
        """Run the handler on one request head (in a worker thread): the answer's bytes,
        and whether the connection may carry another request."""
        try:
            handler = self.handler_class(head, peer, self)  # type: ignore[arg-type]
        except Exception:  # a bug: say so, keep serving
            traceback.print_exc(file=sys.stderr)
            return _FAILED, False
        return handler.answer.getvalue(), not handler.close_connection


async def _read_head(reader: asyncio.StreamReader) -> bytes | None:
    """The request line and headers, up to the empty line; None when the client closed
    (before or during a head). Raises _HeadTooLarge past MAX_HEAD bytes."""
    lines: list[bytes] = []
    size = 0
    while True:
        try:
            line = await reader.readline()
        except ValueError:  # one line over the reader's limit
            raise _HeadTooLarge() from None
        if not line.endswith(b"\n"):
            return None
        size += len(line)
        if size > MAX_HEAD:
            raise _HeadTooLarge()
        lines.append(line)
        if line in (b"\r\n", b"\n") and len(lines) > 1:
            return b"".join(lines)
        if line in (b"\r\n", b"\n"):
            lines.clear()  # empty lines before a request line are skipped (RFC 9112 2.2)
