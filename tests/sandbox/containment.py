"""Helpers for containment tests, reusable by other suites (e.g. episode-level variants):
each hostile call must come back (no hang), leave the sandbox usable, and leave the host
untouched."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Awaitable, Iterator
from typing import TypeVar

from sandlot.environments.sandbox.base import Sandbox

__all__ = ["HANG_BOUND", "HostListener", "answered", "still_works"]

HANG_BOUND = 120.0  # seconds: far beyond any case's own timeout; only a hang reaches it
_T = TypeVar("_T")


async def answered(call: Awaitable[_T]) -> _T:
    """Await a sandbox call, failing the test (instead of hanging it) if it never returns."""
    try:
        return await asyncio.wait_for(call, HANG_BOUND)
    except TimeoutError as exc:
        raise AssertionError(f"the sandbox call did not return within {HANG_BOUND:g} s") from exc


async def still_works(sandbox: Sandbox) -> None:
    """The sandbox answers a plain command afterwards."""
    after = await answered(sandbox.exec("echo alive"))
    assert (after.exit_code, after.stdout) == (0, "alive\n"), after


class HostListener:
    """A TCP server on the host's loopback that records every connection it accepts."""

    def __init__(self) -> None:
        self._server = socket.socket()
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(8)
        self._server.settimeout(0.2)
        self.port: int = self._server.getsockname()[1]
        self.accepted: list[object] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = self._server.accept()
            except OSError:
                continue
            self.accepted.append(peer)
            conn.close()

    @contextlib.contextmanager
    def running(self) -> Iterator[HostListener]:
        """Accept connections while the block runs."""
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(5)
            self._server.close()
