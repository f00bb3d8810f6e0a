"""A pool of started sandbox containers, so an episode does not wait for a cold start.

Containers are never reused across episodes: ``release`` destroys the used one and the
pool starts a fresh one in the background. ``close`` removes every container the pool
started, including ones still lent out.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine
from typing import Any

from sandlot.environments.sandbox.base import SandboxError, SandboxLimits
from sandlot.environments.sandbox.docker import DockerSandbox
from sandlot.environments.sandbox.image import IMAGE

__all__ = ["SandboxPool"]

log = logging.getLogger(__name__)


class SandboxPool:
    """Keeps ``size`` Docker sandboxes started, with their command servers answering.

    Use it as an async context manager (which starts filling it), or call :meth:`fill`
    and :meth:`close` yourself::

        async with SandboxPool(limits=SandboxLimits(memory_mb=256), size=2) as pool:
            sandbox = await pool.acquire()
            ...
            await pool.release(sandbox)

    Attributes:
        last_error: the last background start's failure, if any (acquire then starts
            cold and raises its own, clear SandboxError).
    """

    def __init__(
        self,
        *,
        limits: SandboxLimits | None = None,
        image: str = IMAGE,
        size: int = 2,
        run_id: str = "",
    ) -> None:
        self.limits = limits or SandboxLimits()
        self.image = image
        self.size = size
        self.run_id = run_id
        self.last_error: BaseException | None = None
        self._ready: list[DockerSandbox] = []
        self._lent: set[DockerSandbox] = set()
        self._starting: set[asyncio.Task[None]] = set()
        self._closing: set[asyncio.Task[None]] = set()
        self._closed = False

    def _background(self, tasks: set[asyncio.Task[None]], coro: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(coro)
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    async def _start_one(self) -> None:
        try:
            sandbox = await DockerSandbox.start(self.limits, run_id=self.run_id, image=self.image)
        except Exception as exc:  # kept for the record; acquire then starts cold
            self.last_error = exc
            log.warning("the sandbox pool could not start a container: %s", exc)
            return
        if self._closed:
            await sandbox.close()
        else:
            self._ready.append(sandbox)

    def fill(self) -> None:
        """Start containers in the background until ``size`` are ready or starting."""
        if self._closed:
            return
        for _ in range(self.size - len(self._ready) - len(self._starting)):
            self._background(self._starting, self._start_one())

    async def acquire(self) -> DockerSandbox:
        """A started sandbox: a warm one when ready (and answering), else a cold start.

        Raises:
            SandboxError: the pool is closed, or no container could be started.
        """
        if self._closed:
            raise SandboxError("the sandbox pool is closed; create a new SandboxPool")
        sandbox = None
        while self._ready and sandbox is None:
            candidate = self._ready.pop(0)
            # A warm container may have been removed meanwhile (`sandlot sandbox cleanup
            # --all`, a restarted engine): a ping (~1 ms) finds out before an episode does.
            if await candidate.ping():
                sandbox = candidate
            else:
                self._background(self._closing, candidate.close())
        if sandbox is None:
            sandbox = await DockerSandbox.start(self.limits, run_id=self.run_id, image=self.image)
        if self._closed:  # close() ran while we pinged or started: it could not see this one
            await sandbox.close()
            raise SandboxError("the sandbox pool was closed meanwhile; create a new SandboxPool")
        self._lent.add(sandbox)
        self.fill()
        return sandbox

    async def release(self, sandbox: DockerSandbox) -> None:
        """Destroy a used sandbox (its container is gone when this returns) and start a
        fresh one in the background."""
        self._lent.discard(sandbox)
        try:
            await sandbox.close()
        finally:
            self.fill()

    async def close(self) -> None:
        """Remove every container of the pool: ready, starting, lent out, being removed."""
        self._closed = True
        for task in list(self._starting):
            with contextlib.suppress(Exception):
                await task
        doomed = [*self._ready, *self._lent]
        self._ready.clear()
        self._lent.clear()
        await asyncio.gather(*(s.close() for s in doomed), *self._closing, return_exceptions=True)

    async def __aenter__(self) -> SandboxPool:
        self.fill()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
