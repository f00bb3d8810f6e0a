"""Where a run's episodes execute: in this process (``local``, the default) or on a Ray
cluster (``ray``, :mod:`sandlot.agents.running.ray_executor`).

An executor takes the run's jobs (``run_episode`` keyword sets) and returns their
results; the run's trace stays with the process that started the run either way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from sandlot.errors import UserError

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.agents.graph.runtime import AgentConfig
    from sandlot.agents.models.base import Model
    from sandlot.agents.running.results import EpisodeResult
    from sandlot.traces.store import TraceStore

__all__ = ["EXECUTORS", "Executor", "LocalExecutor", "make_executor"]

EXECUTORS = ("local", "ray")


class Executor(Protocol):
    """Runs a run's episodes and records each to the run's trace."""

    name: str
    #: whether the run's sandbox pool on this machine serves the episodes
    local_sandboxes: bool

    def recorded(self) -> dict[str, Any]:
        """What the run's config records of this executor."""
        ...

    def check(self) -> None:
        """Refuse, before anything is recorded, a run this executor cannot start."""
        ...

    async def run_jobs(
        self,
        jobs: list[dict[str, Any]],
        *,
        store: TraceStore | None,
        run_id: str,
        model: Model,
        agent: AgentConfig,
        judge: Model | None,
        env_options: dict[str, Any],
        tool_options: dict[str, Any],
        concurrency: int,
        checkpoints: bool,
        on_episode: Callable[[EpisodeResult], None] | None,
    ) -> list[EpisodeResult]:
        """Run every job and mark the run done or interrupted in ``store``."""
        ...


class LocalExecutor:
    """Episodes as asyncio tasks in this process, at most ``concurrency`` at once."""

    name = "local"
    local_sandboxes = True

    def recorded(self) -> dict[str, Any]:
        return {"executor": "local"}

    def check(self) -> None:
        return None

    async def run_jobs(
        self,
        jobs: list[dict[str, Any]],
        *,
        store: TraceStore | None,
        run_id: str,
        model: Model,
        agent: AgentConfig,
        judge: Model | None,
        env_options: dict[str, Any],
        tool_options: dict[str, Any],
        concurrency: int,
        checkpoints: bool,
        on_episode: Callable[[EpisodeResult], None] | None,
    ) -> list[EpisodeResult]:
        from sandlot.agents.running.runner import run_jobs

        return await run_jobs(
            jobs,
            store=store,
            run_id=run_id,
            model=model,
            agent=agent,
            judge=judge,
            env_options=env_options,
            concurrency=concurrency,
            checkpoints=checkpoints,
            on_episode=on_episode,
        )


def make_executor(executor: str | Executor | None, *, address: str | None = None) -> Executor:
    """The executor ``executor`` names (``local`` or ``ray``), or the one given.

    Raises:
        UserError: an unknown name, ``address`` without ``ray``, or ``ray`` without the
            ray extra installed.
    """
    if executor is not None and not isinstance(executor, str):
        return executor
    name = executor or "local"
    if name not in EXECUTORS:
        raise UserError(f"unknown executor {name!r}; use one of {', '.join(EXECUTORS)}")
    if name == "local":
        if address is not None:
            raise UserError("an address is for the ray executor; add --executor ray")
        return LocalExecutor()
    from sandlot.agents.running.ray_executor import RayExecutor

    return RayExecutor(address=address)
