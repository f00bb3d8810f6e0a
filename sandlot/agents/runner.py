"""Running episodes: ``run_episode`` for one, ``run`` for many (concurrency, epochs,
tracing, scoring, checkpoints). One failing episode never stops a run; its error is
recorded."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import logging
import time
import traceback
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandlot.agents.checkpoints import open_checkpointer
from sandlot.agents.graph import graph_for
from sandlot.agents.models.base import Model
from sandlot.agents.restore import restore_world
from sandlot.agents.results import EpisodeResult, RunResult
from sandlot.agents.retriever import retriever_for
from sandlot.agents.runtime import AgentConfig, EpisodeRuntime
from sandlot.agents.sandboxes import run_sandboxes
from sandlot.agents.state import initial_state
from sandlot.environments.base import Environment, make_environment
from sandlot.environments.checklist import ToolCallRecord, Trajectory, score_episode
from sandlot.traces.recorder import EpisodeRecorder, NullRecorder

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.environments.tasks import Task
    from sandlot.traces.store import TraceStore

__all__ = [
    "agent_config",
    "open_store",
    "resolve_model",
    "run",
    "run_episode",
    "stored_agent_config",
]

log = logging.getLogger(__name__)


def resolve_model(model: Model | str) -> Model:
    """A Model object, or one made from a spec string such as ``oracle`` or ``openai:NAME``."""
    if isinstance(model, Model):
        return model
    from sandlot.agents.models.registry import make_model

    return make_model(model)


def agent_config(agent: str | AgentConfig) -> AgentConfig:
    return agent if isinstance(agent, AgentConfig) else AgentConfig(agent=agent)  # type: ignore[arg-type]


def stored_agent_config(run: dict[str, Any]) -> AgentConfig:
    """The agent config a stored run was made with (its ``config["agent"]``), so a resume
    or a replay runs under the same budgets and ``k``; the defaults for what it lacks."""
    config = run.get("config")
    stored = config.get("agent") if isinstance(config, dict) else None
    if not isinstance(stored, dict):
        return agent_config(run.get("agent") or "plan-execute")
    known = {f.name for f in dataclasses.fields(AgentConfig)}
    return AgentConfig(**{k: v for k, v in stored.items() if k in known})


async def run_episode(
    task: Task,
    *,
    model: Model | str,
    agent: str | AgentConfig = "plan-execute",
    store: TraceStore | None = None,
    run_id: str | None = None,
    epoch: int = 0,
    judge: Model | None = None,
    env_options: dict[str, Any] | None = None,
    checkpointer: Any = None,
    resume: str | None = None,
) -> EpisodeResult:
    """Run one episode of ``task`` and score it.

    Never raises for the episode's own failures (model, tools, environment): they come
    back as status "error". With a LangGraph ``checkpointer`` every step is saved under
    the episode's id; ``resume=EPISODE_ID`` continues that episode from its last
    checkpoint (the world is rebuilt by re-running the tool calls the checkpoint holds).
    """
    model = resolve_model(model)
    config = agent_config(agent)
    if store is not None and run_id is None:
        raise ValueError("run_episode: pass run_id with store (from store.start_run)")
    if resume is not None and (store is None or checkpointer is None):
        raise ValueError("run_episode: resume needs a store and a checkpointer")
    recorder = _recorder(task, model, config, store, run_id, epoch, resume)
    result = EpisodeResult(episode_id=recorder.episode_id, task_id=task.id, epoch=epoch)
    started = time.perf_counter()
    env: Environment | None = None
    rt: EpisodeRuntime | None = None
    snapshot: dict[str, Any] | None = None
    root: int | None = 0 if resume else None
    try:
        env = make_environment(task.environment, **(env_options or {}))
        root = _root_event(recorder, task, model, config, epoch, env, resume)
        await env.reset(task)
        if env.sandbox is not None:
            recorder.event(
                "sandbox", env.sandbox.backend, {"backend": env.sandbox.backend}, parent=root
            )
        rt = EpisodeRuntime(
            task=task,
            environment=env,
            model=model,
            recorder=recorder,
            config=config,
            ctx=env.context(episode_id=recorder.episode_id, task_id=task.id),
            retriever=None if config.agent == "single" else retriever_for(env.toolset),
            root=root,
        )
        graph = graph_for(checkpointer)
        run_config = {
            "recursion_limit": 20 + 4 * config.max_model_calls,
            "configurable": {"thread_id": recorder.episode_id},
        }
        graph_input: Any = initial_state(task.id)
        final: dict[str, Any] | None = None
        if resume is not None:
            graph_input, final = await restore_world(graph, run_config, rt)
        g0 = time.perf_counter()
        if final is None:
            final = await graph.ainvoke(graph_input, run_config, context=rt)
        result.graph_time = time.perf_counter() - g0
        result.model_time, result.tool_time = rt.model_time, rt.tool_time
        result.node_runs = rt.node_runs
        _copy_counts(result, final)
        result.answer = final.get("answer")
        ended = final.get("status")
        result.status = "error" if ended == "error" else "done"
        result.error = final.get("error")
        if ended in ("error", "budget", "gave_up"):
            # why the episode ended early, on its timeline
            name = "episode" if ended == "error" else ended
            recorder.event("error", name, {"message": result.error}, parent=root)
        await _score(result, rt, judge)
        if ended in ("budget", "gave_up"):
            result.success = False  # cut short: whatever its checklist says, not a success
        snapshot = await env.snapshot_async()
        result.sandbox_backend = env.sandbox_backend
    except (asyncio.CancelledError, KeyboardInterrupt):
        result.status, result.success, result.error = "interrupted", False, "interrupted"
        raise
    except Exception as exc:  # the episode failed; the run goes on
        result.status, result.success = "error", False
        result.error = f"{type(exc).__name__}: {exc}"
        if rt is not None:  # what was spent before it failed still counts
            result.model_calls = max(result.model_calls, rt.model_calls)
            result.tool_calls = max(result.tool_calls, len(rt.calls))
            result.prompt_tokens = max(result.prompt_tokens, rt.prompt_tokens)
            result.completion_tokens = max(result.completion_tokens, rt.completion_tokens)
        recorder.event(
            "error",
            type(exc).__name__,
            {"message": result.error, "traceback": traceback.format_exc(limit=12)},
            parent=root,
        )
        log.warning("episode %s of task %s failed: %s", recorder.episode_id, task.id, result.error)
    finally:
        if env is not None:
            try:
                await env.close()
            except Exception as exc:  # closing must not hide the episode's own outcome
                log.warning("closing environment of task %s failed: %s", task.id, exc)
        result.duration = time.perf_counter() - started
        if store is not None and result.status != "interrupted":
            _finish(store, result, snapshot)
    return result


def _recorder(
    task: Task,
    model: Model,
    config: AgentConfig,
    store: TraceStore | None,
    run_id: str | None,
    epoch: int,
    resume: str | None,
) -> EpisodeRecorder:
    if store is None:
        return NullRecorder(uuid.uuid4().hex[:12])
    if resume is not None:
        return store.resume_episode(resume)
    episode_id = uuid.uuid4().hex[:12]
    return store.start_episode(
        run_id or "",
        task.id,
        epoch=epoch,
        model=model.name,
        agent=config.agent,
        environment=task.environment,
        thread_id=episode_id,
        episode_id=episode_id,
    )


def _root_event(
    recorder: EpisodeRecorder,
    task: Task,
    model: Model,
    config: AgentConfig,
    epoch: int,
    env: Environment,
    resume: str | None,
) -> int:
    """The episode's root event, written first so that a killed run keeps its tree."""
    if resume is not None:
        recorder.event("node", "resume", {"step_index": None}, parent=0)
        return 0
    return recorder.event(
        "episode",
        task.id,
        {
            "task_id": task.id,
            "instruction": task.instruction,
            "agent": config.agent,
            "model": model.name,
            "epoch": epoch,
            "tool_schemas": {t.name: t.schema() for t in env.toolset},
        },
    )


async def _score(result: EpisodeResult, rt: EpisodeRuntime, judge: Model | None) -> None:
    trajectory = Trajectory(
        tool_calls=[
            ToolCallRecord(o.name, o.arguments, o.ok, o.error_kind, o.content) for o in rt.calls
        ],
        model_calls=result.model_calls,
        answer=result.answer,
    )
    report = await score_episode(rt.task, trajectory, environment=rt.environment, judge=judge)
    result.verdicts, result.score, result.success = report.verdicts, report.score, report.success
    if result.status == "error":
        result.success = False
    for v in report.verdicts:
        rt.recorder.event(
            "check",
            v.item_id,
            {"item_id": v.item_id, "passed": v.passed, "evidence": v.evidence},
            parent=rt.root,
        )


def _copy_counts(result: EpisodeResult, final: dict[str, Any]) -> None:
    result.steps = len(final.get("plan") or [])
    for name in ("model_calls", "tool_calls", "tool_errors", "prompt_tokens", "completion_tokens"):
        setattr(result, name, int(final.get(name) or 0))


def _finish(store: TraceStore, result: EpisodeResult, snapshot: dict[str, Any] | None) -> None:
    if result.verdicts:
        store.replace_checks(result.episode_id, [v.as_row() for v in result.verdicts])
    store.finish_episode(
        result.episode_id,
        status=result.status,
        success=result.success,
        score=result.score,
        steps=result.steps,
        model_calls=result.model_calls,
        tool_calls=result.tool_calls,
        tool_errors=result.tool_errors,
        prompt_tokens=result.prompt_tokens,
        completion_tokens=result.completion_tokens,
        error=result.error,
        answer=result.answer,
        final_state=snapshot,
        sandbox_backend=result.sandbox_backend,
        duration=result.duration,
    )


async def run(
    tasks: Iterable[Task],
    *,
    model: Model | str,
    db: str | Path | TraceStore | None = None,
    agent: str | AgentConfig = "plan-execute",
    concurrency: int = 4,
    epochs: int = 1,
    judge: Model | None = None,
    env_options: dict[str, Any] | None = None,
    config: dict[str, Any] | None = None,
    checkpoints: bool = True,
    on_episode: Callable[[EpisodeResult], None] | None = None,
) -> RunResult:
    """Run every task ``epochs`` times with at most ``concurrency`` episodes at once.

    With ``db`` (a path or an open TraceStore) every episode is recorded and scored
    there, and (``checkpoints``) each graph step is checkpointed beside it so that an
    interrupted run can be resumed (``sandlot run --resume``).
    """
    tasks = list(tasks)
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    model = resolve_model(model)
    cfg = agent_config(agent)
    async with open_store(db) as store:
        if store is not None:
            for secret in [*model.secrets(), *(judge.secrets() if judge else [])]:
                store.add_secret(secret)
            run_id = store.start_run(
                model=model.name,
                agent=cfg.agent,
                config={
                    "model": model.describe(),
                    "agent": vars(cfg),
                    "epochs": epochs,
                    "concurrency": concurrency,
                    **(config or {}),
                },
                n_tasks=len(tasks),
                epochs=epochs,
            )
            store.save_tasks(run_id, tasks)
        else:
            run_id = "r-" + uuid.uuid4().hex[:10]
        jobs = [dict(task=t, epoch=e) for e in range(epochs) for t in tasks]
        async with run_sandboxes(
            tasks, env_options, run_id=run_id, concurrency=concurrency
        ) as opts:
            results = await run_jobs(
                jobs,
                store=store,
                run_id=run_id,
                model=model,
                agent=cfg,
                judge=judge,
                env_options=opts,
                concurrency=concurrency,
                checkpoints=checkpoints and store is not None,
                on_episode=on_episode,
            )
    return RunResult(
        run_id=run_id,
        episodes=results,
        epochs=epochs,
        db=None if store is None else str(store.path),
    )


async def run_jobs(
    jobs: list[dict[str, Any]],
    *,
    store: TraceStore | None,
    run_id: str,
    model: Model,
    agent: AgentConfig,
    judge: Model | None,
    env_options: dict[str, Any] | None,
    concurrency: int,
    checkpoints: bool,
    on_episode: Callable[[EpisodeResult], None] | None,
) -> list[EpisodeResult]:
    """Run episodes (``run_episode`` keyword sets) under one semaphore and one checkpointer,
    and mark the run done or interrupted."""
    semaphore = asyncio.Semaphore(concurrency)
    async with contextlib.AsyncExitStack() as stack:
        checkpointer = None
        if checkpoints and store is not None:
            checkpointer = await stack.enter_async_context(open_checkpointer(store.path))

        async def one(job: dict[str, Any]) -> EpisodeResult:
            async with semaphore:
                res = await run_episode(
                    model=model,
                    agent=agent,
                    store=store,
                    run_id=run_id,
                    judge=judge,
                    env_options=env_options,
                    checkpointer=checkpointer,
                    **job,
                )
            if on_episode is not None:
                try:
                    on_episode(res)
                except Exception:  # a progress callback must not end the run
                    log.exception("on_episode callback failed for episode %s", res.episode_id)
            return res

        status = "interrupted"
        tasks = [asyncio.ensure_future(one(j)) for j in jobs]
        try:
            results = await asyncio.gather(*tasks)
            status = "done"
        except BaseException:
            # One failure ends the run: stop the other episodes before the store and the
            # checkpointer close under them.
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            if store is not None:
                store.finish_run(run_id, status)
    return list(results)


@contextlib.asynccontextmanager
async def open_store(
    db: str | Path | TraceStore | None, *, existing: bool = False
) -> AsyncIterator[TraceStore | None]:
    """An open TraceStore for a path (closed after), or the store given (flushed after).

    Raises:
        TraceFileError: ``existing`` and there is no file at the path (commands that read
            a trace must not create an empty one at a mistyped path), or the file is not
            a trace.
    """
    if db is None:
        yield None
        return
    from sandlot.traces.errors import TraceFileError
    from sandlot.traces.store import TraceStore

    if existing and not isinstance(db, TraceStore) and not Path(db).is_file():
        raise TraceFileError(
            f"no trace file at {db}; traces are written by `sandlot run --db FILE`"
        )

    if isinstance(db, TraceStore):
        try:
            yield db
        finally:
            db.flush()
        return
    store = TraceStore(db)
    try:
        yield store
    finally:
        store.close()
