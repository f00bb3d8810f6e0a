"""Resuming an interrupted run: finished episodes are kept, unfinished ones continue from
their last LangGraph checkpoint, episodes never started are run — none is counted twice.

A run whose process still runs is never resumed: the resume takes the run over in one
transaction that first checks that no live process owns it or any of its episodes
(:meth:`TraceStore.claim_run`). The resume runs its episodes in the run's own sandbox
pool, under the run's id, after removing the containers dead processes left (the killed
run's among them)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandlot.agents.after.stored import load_episode
from sandlot.agents.models.base import Model
from sandlot.agents.running.executors import Executor, make_executor
from sandlot.agents.running.results import EpisodeResult, RunResult
from sandlot.agents.running.runner import (
    execute_jobs,
    open_store,
    resolve_model,
    stored_agent_config,
)
from sandlot.agents.running.world_options import run_world_options, stored_world_options
from sandlot.errors import ModelError, ResumeError

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.environments.tasks import Task

__all__ = ["ResumeError", "resume_run"]

_FINISHED = ("done", "error")


async def resume_run(
    db: str | Path,
    *,
    model: Model | str | None = None,
    run_id: str | None = None,
    concurrency: int = 4,
    judge: Model | None = None,
    env_options: dict[str, Any] | None = None,
    on_episode: Callable[[EpisodeResult], None] | None = None,
    user_model: Model | str | None = None,
    executor: str | Executor | None = None,
) -> RunResult:
    """Resume run ``run_id`` (default: the latest run) of trace file ``db``.

    ``model`` defaults to the run's own model when it can be rebuilt from its name
    (``oracle``); other models must be given again (their keys are never stored).
    ``user_model``, which plays the simulated user of tasks whose user is played by a
    model (``user.llm: true``), defaults likewise to the one the run recorded.

    ``executor`` (``"ray"``) runs the episodes never started, or never finished on Ray,
    on a Ray cluster; episodes continued from a local checkpoint run here
    (docs/ray.md).

    Raises:
        ResumeError: nothing to resume, the run is still running in a live process
            (the message names it), or a model of the run cannot be rebuilt and was not
            given again; nothing is written then.
    """
    if not Path(db).exists():
        raise ResumeError(f"no trace file at {db}")
    exe = None if executor in (None, "local") else make_executor(executor)
    if exe is not None:
        await asyncio.to_thread(exe.check)  # before the run is claimed
    async with open_store(db, existing=True) as store:
        assert store is not None
        if run_id is not None:
            runs = [r for r in store.runs() if r["id"] == run_id]
        else:  # the latest run of tasks; replays are re-run with `sandlot replay`
            runs = [r for r in store.runs() if (r.get("kind") or "run") == "run"]
        if not runs:
            raise ResumeError(f"no run {run_id!r} in {db}" if run_id else f"no run in {db}")
        run = max(runs, key=lambda r: r.get("started") or 0)
        rid = run["id"]
        if (run.get("kind") or "run") != "run":
            raise ResumeError(f"run {rid} is a {run['kind']}; replay the episode again instead")
        store.claim_run(rid)  # refused while a live process runs it: never run twice
        tasks = {row["task_id"]: store.task(rid, row["task_id"]) for row in store.tasks(rid)}
        epochs = int(run.get("epochs") or 1)
        try:
            the_model = resolve_model(model if model is not None else run["model"])
        except ValueError as exc:
            raise ResumeError(
                f"cannot rebuild the model {run['model']!r} of run {rid} ({exc}); "
                "give the model again (--model)"
            ) from exc
        for secret in the_model.secrets():
            store.add_secret(secret)
        await the_model.check()  # a wrong endpoint stops here, before anything runs
        if judge is not None:
            try:
                await judge.check()
            except ModelError as exc:  # said as the judge's, not the agent's model
                raise ModelError(f"the judge (--judge): {exc}") from exc
        cfg = stored_agent_config(run)
        opts, recorded_tools = run_world_options(stored_world_options(run, env_options))
        episodes = store.episodes(rid)
        seen = {(e["task_id"], e["epoch"]) for e in episodes}
        kept = [e for e in episodes if e["status"] in _FINISHED]
        jobs: list[dict[str, Any]] = [
            {"task": tasks[e["task_id"]], "epoch": e["epoch"], "resume": e["id"]}
            for e in episodes
            if e["status"] not in _FINISHED and tasks.get(e["task_id"]) is not None
        ]
        jobs += [
            {"task": task, "epoch": epoch}
            for epoch in range(epochs)
            for task_id, task in tasks.items()
            if task is not None and (task_id, epoch) not in seen
        ]
        # who plays the users played by a model in the episodes still to run
        the_user_model = _user_model(run, user_model, [job["task"] for job in jobs])
        if the_user_model is not None:
            for secret in the_user_model.secrets():
                store.add_secret(secret)
            await the_user_model.check()
            for job in jobs:
                job["user_model"] = the_user_model
        needed = [task for task in tasks.values() if task is not None]
        results = await execute_jobs(
            jobs,
            exe,
            sandbox_tasks=needed,
            store=store,
            run_id=rid,
            model=the_model,
            agent=cfg,
            judge=judge,
            env_options=opts,
            tool_options=recorded_tools,
            concurrency=concurrency,
            checkpoints=True,
            on_episode=on_episode,
        )
        previous = [load_episode(store, e) for e in kept]
    return RunResult(run_id=rid, episodes=previous + results, epochs=epochs, db=str(db))


def _user_model(run: dict[str, Any], given: Model | str | None, tasks: list[Task]) -> Model | None:
    """The model that plays the users of ``tasks`` played by a model: the one given, else
    the one the run recorded, rebuilt from its name (None when no task needs one).

    Raises:
        ResumeError: a task needs one, and none was given and the run's cannot be rebuilt.
    """
    if not any(task.user is not None and task.user.llm for task in tasks):
        return None
    config = run.get("config")
    recorded = config.get("user_model") if isinstance(config, dict) else None
    if given is None and not isinstance(recorded, str):
        raise ResumeError(
            f"run {run['id']} has tasks whose user is played by a model (user.llm: true) "
            "and records no user model; give one (--user-model)"
        )
    spec = given if given is not None else str(recorded)
    try:
        return resolve_model(spec)
    except ValueError as exc:
        raise ResumeError(
            f"cannot rebuild the user model {spec!r} of run {run['id']} ({exc}); "
            "give the user model again (--user-model)"
        ) from exc
