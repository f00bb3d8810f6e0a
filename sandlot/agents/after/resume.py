"""Resuming an interrupted run: finished episodes are kept, unfinished ones continue from
their last LangGraph checkpoint, episodes never started are run — none is counted twice.

A run whose process still runs is never resumed: the resume takes the run over in one
transaction that first checks that no live process owns it or any of its episodes
(:meth:`TraceStore.claim_run`). The resume runs its episodes in the run's own sandbox
pool, under the run's id, after removing the containers dead processes left (the killed
run's among them)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandlot.agents.after.stored import load_episode
from sandlot.agents.models.base import Model
from sandlot.agents.running.results import EpisodeResult, RunResult
from sandlot.agents.running.runner import open_store, resolve_model, run_jobs, stored_agent_config
from sandlot.agents.running.sandboxes import run_sandboxes
from sandlot.agents.running.world_options import run_world_options, stored_world_options
from sandlot.errors import ResumeError

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
) -> RunResult:
    """Resume run ``run_id`` (default: the latest run) of trace file ``db``.

    ``model`` defaults to the run's own model when it can be rebuilt from its name
    (``oracle``); other models must be given again (their keys are never stored).

    Raises:
        ResumeError: nothing to resume, or the run is still running in a live process
            (the message names it); nothing is written then.
    """
    if not Path(db).exists():
        raise ResumeError(f"no trace file at {db}")
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
        await the_model.check()  # a wrong endpoint stops here, before anything is claimed
        cfg = stored_agent_config(run)
        opts, _ = run_world_options(stored_world_options(run, env_options))
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
        needed = [task for task in tasks.values() if task is not None]
        async with run_sandboxes(needed, opts, run_id=rid, concurrency=concurrency) as opts:
            results = await run_jobs(
                jobs,
                store=store,
                run_id=rid,
                model=the_model,
                agent=cfg,
                judge=judge,
                env_options=opts,
                concurrency=concurrency,
                checkpoints=True,
                on_episode=on_episode,
            )
        previous = [load_episode(store, e) for e in kept]
    return RunResult(run_id=rid, episodes=previous + results, epochs=epochs, db=str(db))
