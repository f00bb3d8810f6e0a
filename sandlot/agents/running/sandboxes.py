"""Sandboxes for a run: clean up what killed runs left, and keep a warm pool."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable
from typing import Any

from sandlot.environments.base import get_environment_class
from sandlot.environments.tasks import Task
from sandlot.errors import UserError

__all__ = ["check_backend", "run_sandboxes"]

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def run_sandboxes(
    tasks: Iterable[Task], env_options: dict[str, Any] | None, *, run_id: str, concurrency: int
) -> AsyncIterator[dict[str, Any]]:
    """The environment options for a run: with a SandboxPool added when some task's world
    runs code and Docker is the backend (after removing containers of dead runs).

    Raises:
        UserError: some task's world runs code, the backend is "auto" and Docker is not
            usable; the local backend is used only when named.
    """
    options = dict(env_options or {})
    options.setdefault("run_id", run_id)
    backend = options.get("sandbox", "auto")
    needs = any(_uses_sandbox(t.environment) for t in tasks)
    if not needs or backend not in ("auto", "docker") or "pool" in options:
        yield options
        return
    from sandlot.environments.sandbox.factory import NO_DOCKER_FOR_AUTO, docker_available

    if not await asyncio.to_thread(docker_available):
        if backend == "auto":  # never the local backend unasked: it does not isolate
            raise UserError(NO_DOCKER_FOR_AUTO)
        yield options  # "docker": each episode fails saying why
        return
    from sandlot.environments.sandbox.cleanup import cleanup
    from sandlot.environments.sandbox.pool import SandboxPool

    removed = await asyncio.to_thread(cleanup)
    if removed:
        log.info("removed %d sandbox container(s) left by earlier runs", removed)
    limits = options.get("limits")
    if isinstance(limits, dict):
        from sandlot.environments.sandbox.base import SandboxLimits

        limits = SandboxLimits(**limits)
    async with SandboxPool(limits=limits, size=max(1, min(concurrency, 4)), run_id=run_id) as pool:
        options["pool"] = pool
        yield options


def check_backend(tasks: Iterable[Task], env_options: dict[str, Any] | None) -> None:
    """Refuse a run before it starts when some task's world runs code, the backend is
    "auto" and Docker is not usable (what :func:`run_sandboxes` would refuse later).

    Raises:
        UserError: said with what to do (start Docker and build the image, or name the
            local backend).
    """
    backend = (env_options or {}).get("sandbox", "auto")
    if backend != "auto" or "pool" in (env_options or {}):
        return
    if not any(_uses_sandbox(t.environment) for t in tasks):
        return
    from sandlot.environments.sandbox.factory import NO_DOCKER_FOR_AUTO, docker_available

    if not docker_available():
        raise UserError(NO_DOCKER_FOR_AUTO)


def _uses_sandbox(environment: str) -> bool:
    try:
        return bool(get_environment_class(environment).uses_sandbox)
    except KeyError:
        return False
