"""The ``ray`` executor: each episode a Ray task, on any node of a Ray cluster.

The process that started the run (the driver) owns the run's one trace file. Each
episode runs in a Ray worker process with its own model, world and sandboxes (built
there from picklable recipes: the task, a :class:`ModelSpec`, the world options) and is
recorded into a trace file of the worker's own; its rows come back to the driver, which
writes the whole episode in one transaction. A worker that dies mid-episode leaves
nothing in the run's trace, and Ray runs the episode again from the start (``retries``):
nothing is lost, nothing is written twice — each attempt has an episode id of its own,
and only the attempt that finished is written.

Episodes on Ray take no mid-episode checkpoints: an episode the driver never received
(the driver was stopped, or Ray gave up on it) is not in the trace, and
``sandlot run --resume`` runs it again from the start. Episodes of a local run that a
resume continues from their checkpoint run on the driver.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandlot.agents.running.episode_rows import EpisodeRows, read_episode_rows, write_episode_rows
from sandlot.agents.running.model_specs import ModelSpec, build_model
from sandlot.errors import RunError, UserError

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.agents.graph.runtime import AgentConfig
    from sandlot.agents.models.base import Model
    from sandlot.agents.running.results import EpisodeResult
    from sandlot.environments.tasks import Task
    from sandlot.traces.store import TraceStore

__all__ = ["RayExecutor", "RemoteEpisode", "run_remote_episode"]

log = logging.getLogger(__name__)

NO_RAY = "the ray executor needs Ray: pip install 'sandlot[ray]'"
# options that hold live objects of this process, rebuilt on each worker
_LOCAL_OPTIONS = ("pool", "extra_tools", "installed_tools", "tools")

Recipe = ModelSpec | str | Any  # a spec, a spec string, or a picklable Model


@dataclass
class RemoteEpisode:
    """Everything a worker needs to run one episode; picklable."""

    task: Task
    epoch: int
    run_id: str
    model: Recipe
    agent: AgentConfig
    judge: Recipe | None = None
    user_model: Recipe | None = None
    env_options: dict[str, Any] = field(default_factory=dict)


def run_remote_episode(job: RemoteEpisode) -> tuple[EpisodeResult, EpisodeRows]:
    """Run one episode in this (worker) process; its result and its trace rows."""
    return asyncio.run(_run_remote_episode(job))


async def _run_remote_episode(job: RemoteEpisode) -> tuple[EpisodeResult, EpisodeRows]:
    from sandlot.agents.running.runner import run_episode
    from sandlot.traces.store import TraceStore

    model = build_model(job.model)
    assert model is not None
    judge, user_model = build_model(job.judge), build_model(job.user_model)
    with tempfile.TemporaryDirectory(prefix="sandlot-ray-") as tmp:
        path = Path(tmp) / "episode.db"
        store = TraceStore(path)
        try:
            for made in (model, judge, user_model):
                for secret in made.secrets() if made is not None else ():
                    store.add_secret(secret)
            result = await run_episode(
                job.task,
                model=model,
                agent=job.agent,
                store=store,
                run_id=job.run_id,
                epoch=job.epoch,
                judge=judge,
                user_model=user_model,
                env_options=job.env_options,
            )
        finally:
            store.close()
        return result, read_episode_rows(path, result.episode_id)


class RayExecutor:
    """Episodes as Ray tasks on the cluster at ``address`` (default: a Ray instance
    started on this machine for the run).

    Args:
        address: ``HOST:PORT`` of a cluster's head node, ``ray://HOST:10001`` (Ray
            client, needs ``ray[client]``), or ``auto``; None starts a local instance.
        model, judge, user_model: how workers build the run's models (a
            :class:`ModelSpec` or a spec string); None sends the run's model objects
            as they are (they must pickle: oracle, null and scripted models do).
        retries: how many times Ray runs an episode again when its worker dies.
        num_cpus: CPUs each episode takes on its node.
        init_options: more keyword arguments for ``ray.init`` (``num_cpus`` of a local
            instance, ``runtime_env``, ...).
    """

    name = "ray"
    local_sandboxes = False

    def __init__(
        self,
        address: str | None = None,
        *,
        model: ModelSpec | str | None = None,
        judge: ModelSpec | str | None = None,
        user_model: ModelSpec | str | None = None,
        retries: int = 3,
        num_cpus: float = 1,
        init_options: dict[str, Any] | None = None,
    ) -> None:
        self.address = address
        self.model, self.judge, self.user_model = model, judge, user_model
        self.retries = retries
        self.num_cpus = num_cpus
        self.init_options = dict(init_options or {})
        _ray()  # no Ray: said now, before the run starts

    def recorded(self) -> dict[str, Any]:
        return {"executor": "ray", "address": self.address}

    def check(self) -> None:
        """Refuse an address where nothing listens (Ray itself would keep trying for
        minutes).

        Raises:
            UserError: the head node's HOST:PORT does not accept connections.
        """
        address = self.address or ""
        host, sep, port = address.rpartition(":")
        if not sep or not host or not port.isdigit() or "://" in address:
            return  # auto, ray://, or a local instance: ray.init says what is wrong
        try:
            socket.create_connection((host.strip("[]"), int(port)), timeout=10).close()
        except OSError as exc:
            raise UserError(
                f"nothing answers at the Ray address {address} ({exc}); start the "
                "cluster's head there (ray start --head --port PORT), or give its HOST:PORT "
                "as --address"
            ) from exc

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
        """Run the jobs on Ray (episodes a resume continues from a checkpoint: here),
        write each finished episode to ``store`` whole, and mark the run done — or
        interrupted when an episode could not run.

        Raises:
            RunError: some episodes could not run on Ray (after ``retries``); they are
                not in the trace, and a resume runs them.
        """
        results: list[EpisodeResult] = []
        continued = [job for job in jobs if job.get("resume")]
        if continued:  # their checkpoints are on this machine
            from sandlot.agents.running.runner import run_jobs

            results += await run_jobs(
                continued,
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
        fresh = [job for job in jobs if not job.get("resume")]
        worker_options = {k: v for k, v in env_options.items() if k not in _LOCAL_OPTIONS}
        worker_options.update(tool_options)
        remote_jobs = [
            RemoteEpisode(
                task=job["task"],
                epoch=job["epoch"],
                run_id=run_id,
                model=self.model if self.model is not None else model,
                agent=agent,
                judge=self.judge if self.judge is not None else judge,
                user_model=(
                    self.user_model if self.user_model is not None else job.get("user_model")
                ),
                env_options=worker_options,
            )
            for job in fresh
        ]
        ray = _ray()
        started = self._connect(ray)
        try:
            done, lost = await self._run_remote(ray, remote_jobs, store, concurrency, on_episode)
        except BaseException:
            if store is not None:
                store.finish_run(run_id, "interrupted")
            raise
        finally:
            if started:
                ray.shutdown()
        if store is not None:
            store.finish_run(run_id, "interrupted" if lost else "done")
        if lost:
            job, exc = lost[0]
            where = f" --db {store.path}" if store is not None else ""
            raise RunError(
                f"{len(lost)} episode(s) of run {run_id} could not run on Ray (task "
                f"{job.task.id}, epoch {job.epoch}: {exc}); they are not in the trace, and "
                f"`sandlot run --resume{where}` runs them"
            )
        return results + done

    def _connect(self, ray: Any) -> bool:
        """Connect to the cluster (or start a local instance); whether this call did."""
        if ray.is_initialized():
            return False
        options: dict[str, Any] = {"log_to_driver": False, **self.init_options}
        if self.address is None:
            options.setdefault("include_dashboard", False)
        else:
            options["address"] = self.address
        try:
            ray.init(**options)
        except (ConnectionError, ValueError, RuntimeError) as exc:
            raise UserError(
                f"cannot connect to the Ray cluster at {self.address or '(a local instance)'} "
                f"({exc}); give the head node's HOST:PORT or ray://HOST:PORT as --address"
            ) from exc
        return True

    async def _run_remote(
        self,
        ray: Any,
        jobs: list[RemoteEpisode],
        store: TraceStore | None,
        concurrency: int,
        on_episode: Callable[[EpisodeResult], None] | None,
    ) -> tuple[list[EpisodeResult], list[tuple[RemoteEpisode, BaseException]]]:
        remote = ray.remote(
            num_cpus=self.num_cpus, max_retries=self.retries, retry_exceptions=False
        )(run_remote_episode)
        semaphore = asyncio.Semaphore(concurrency)
        writing = asyncio.Lock()  # one episode's transaction at a time
        done: list[EpisodeResult] = []
        lost: list[tuple[RemoteEpisode, BaseException]] = []

        async def one(job: RemoteEpisode) -> None:
            async with semaphore:
                ref = remote.remote(job)
                try:
                    result, rows = await asyncio.wrap_future(ref.future())
                except asyncio.CancelledError:
                    with contextlib.suppress(Exception):
                        ray.cancel(ref, force=True)
                    raise
                except Exception as exc:  # the worker died more often than retried, ...
                    log.warning("episode of task %s could not run on Ray: %s", job.task.id, exc)
                    lost.append((job, exc))
                    return
            if result.outcome == "interrupted":  # its worker was stopped: not finished
                lost.append((job, RunError("interrupted")))
                return
            if store is not None:
                async with writing:
                    await asyncio.to_thread(write_episode_rows, store, rows)
            done.append(result)
            if on_episode is not None:
                try:
                    on_episode(result)
                except Exception:  # a progress callback must not end the run
                    log.exception("on_episode callback failed for episode %s", result.episode_id)

        tasks = [asyncio.ensure_future(one(job)) for job in jobs]
        try:
            await asyncio.gather(*tasks)
        except BaseException:
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        return done, lost


def _ray() -> Any:
    try:
        import ray
    except ImportError as exc:
        raise UserError(NO_RAY) from exc
    return ray
