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
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandlot.agents.graph.build import graph_for
from sandlot.agents.graph.demos import DemoSource, select_demos
from sandlot.agents.graph.prompts import demos_message
from sandlot.agents.graph.runtime import AgentConfig, EpisodeRuntime
from sandlot.agents.graph.state import initial_state, trajectory_of
from sandlot.agents.models.base import Model
from sandlot.agents.running.checkpoints import open_checkpointer
from sandlot.agents.running.executors import Executor, make_executor
from sandlot.agents.running.judging import RecordedJudge
from sandlot.agents.running.restore import restore_world
from sandlot.agents.running.results import EpisodeResult, RunResult
from sandlot.agents.running.sandboxes import check_backend, run_sandboxes
from sandlot.agents.running.world_options import run_world_options, world_options
from sandlot.environments.base import Environment, make_environment
from sandlot.environments.checklist import score_episode
from sandlot.environments.trajectory import decide_outcome
from sandlot.environments.users import UserPlayer, user_player_for
from sandlot.errors import ModelError, UserError, WriterError
from sandlot.retrieval import resolve_retriever, retriever_for, spec_name
from sandlot.traces.recorder import EpisodeRecorder, NullRecorder

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.environments.tasks import Task
    from sandlot.traces.store import TraceStore

__all__ = [
    "agent_config",
    "execute_jobs",
    "open_store",
    "recorded_agent_config",
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


def recorded_agent_config(config: AgentConfig) -> dict[str, Any]:
    """What a run records of its agent config (``runs.config["agent"]``): every field,
    the retriever as the name or import path that rebuilds it (:func:`spec_name`)."""
    demos = config.demos.recorded() if config.demos is not None else None
    return {**vars(config), "retriever": spec_name(config.retriever), "demos": demos}


def stored_agent_config(run: dict[str, Any]) -> AgentConfig:
    """The agent config a stored run was made with (its ``config["agent"]``, and its
    ``config["retriever"]``), so a resume or a replay runs under the same budgets, ``k``
    and retriever; the defaults for what it lacks (a trace from before retrievers were
    recorded used bm25)."""
    config = run.get("config")
    config = config if isinstance(config, dict) else {}
    stored = config.get("agent")
    if not isinstance(stored, dict):
        return agent_config(run.get("agent") or "plan-execute")
    known = {f.name for f in dataclasses.fields(AgentConfig)}
    fields = {k: v for k, v in stored.items() if k in known}
    retriever = fields.get("retriever", config.get("retriever"))
    fields["retriever"] = retriever if isinstance(retriever, str) and retriever else "bm25"
    fields["demos"] = DemoSource.from_recorded(fields.get("demos"))
    return AgentConfig(**fields)


async def run_episode(
    task: Task,
    *,
    model: Model | str,
    agent: str | AgentConfig = "plan-execute",
    store: TraceStore | None = None,
    run_id: str | None = None,
    epoch: int = 0,
    judge: Model | None = None,
    user_model: Model | None = None,
    user: UserPlayer | None = None,
    env_options: dict[str, Any] | None = None,
    checkpointer: Any = None,
    resume: str | None = None,
) -> EpisodeResult:
    """Run one episode of ``task`` and score it.

    Never raises for the episode's own failures (model, tools, environment): they come
    back as status "error". With a LangGraph ``checkpointer`` every step is saved under
    the episode's id; ``resume=EPISODE_ID`` continues that episode from its last
    checkpoint (the world is rebuilt by re-running the tool calls the checkpoint holds).
    ``env_options`` go to the world's constructor; their ``tools`` and
    ``installed_tools`` keys add tools first (see :mod:`.world_options`).
    A task with a simulated user is played by ``user`` when given (replay passes the
    recorded turns), else by its script, or by ``user_model`` for a user played by a
    model (docs/users.md).
    """
    model = resolve_model(model)
    player = user if user is not None or task.user is None else user_player_for(task, user_model)
    world_opts, _ = world_options(env_options)
    config = _budgeted(agent_config(agent), model, task)
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
    state: dict[str, Any] = {}  # the last graph state reached: the episode's record
    root: int | None = 0 if resume else None
    graph = graph_for(checkpointer)
    run_config = {
        "recursion_limit": 20 + 4 * config.max_model_calls,
        "configurable": {"thread_id": recorder.episode_id},
    }
    try:
        saved = None
        if resume is not None:
            saved = await graph.aget_state(run_config)
            if "branch" in (saved.next or ()):
                # killed while parallel branches ran: the checkpoint holds some branches'
                # records without their events, so the episode starts again from scratch
                await checkpointer.adelete_thread(recorder.episode_id)
                saved = await graph.aget_state(run_config)
            # the events the checkpoint covers keep their numbers, even those a kill lost
            recorder.skip_to(int((saved.values or {}).get("trace_seq") or 0))
        env = make_environment(task.environment, **world_opts)
        root = _root_event(recorder, task, model, config, epoch, env, resume)
        await env.reset(task)
        env.task = env.task or task  # what unavailable_tools reads the task's graph from
        if env.sandbox is not None:
            recorder.event(
                "sandbox", env.sandbox.backend, {"backend": env.sandbox.backend}, parent=root
            )
            result.sandbox_backend = env.sandbox.backend  # an episode that fails says it too
        # one index per retriever and toolset content, shared by the run's episodes
        retriever = (
            None if config.agent == "single" else retriever_for(env.toolset, config.retriever)
        )
        rt = EpisodeRuntime(
            task=task,
            environment=env,
            model=model,
            recorder=recorder,
            config=config,
            ctx=env.context(episode_id=recorder.episode_id, task_id=task.id),
            retriever=retriever,
            root=root,
            user=player,
        )
        graph_input: Any = initial_state(task.id)
        final: dict[str, Any] | None = None
        if saved is not None:
            graph_input, final, state = await restore_world(saved, rt)
        if config.demos is not None and graph_input is not None and final is None:
            # a fresh start (not a resume from a checkpoint, which holds its messages)
            graph_input["messages"] = _demonstrations(rt, config.demos, run_id)
        g0 = time.perf_counter()
        if final is None:
            # every state reached is kept: an episode that raises still has its record
            async for values in graph.astream(
                graph_input, run_config, context=rt, stream_mode="values"
            ):
                state = values
        else:
            state = final
        result.graph_time = time.perf_counter() - g0
        result.node_runs = int(state.get("node_runs") or 0)
        result.trajectory = trajectory = trajectory_of(state)
        if trajectory.ended in ("model_error", "budget", "gave_up"):
            # why the episode ended early, on its timeline
            name = "episode" if trajectory.ended == "model_error" else trajectory.ended
            recorder.event("error", name, {"message": trajectory.error}, parent=root)
        passed = await _score(result, rt, judge)
        result.outcome = decide_outcome(trajectory.ended, passed)
        snapshot = await env.snapshot_async()
        result.sandbox_backend = env.sandbox_backend
    except (asyncio.CancelledError, KeyboardInterrupt):
        result.trajectory = trajectory_of(state)
        result.trajectory.ended, result.trajectory.error = "interrupted", "interrupted"
        result.outcome = "interrupted"
        raise
    except Exception as exc:  # the episode failed; the run goes on
        # what it did before it failed is in the last state reached
        result.trajectory = trajectory_of(state)
        result.trajectory.ended = "error"
        result.trajectory.error = f"{type(exc).__name__}: {exc}"
        result.outcome = "error"
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
        if store is not None and result.outcome != "interrupted":
            _finish(store, result, snapshot)
    return result


def _demonstrations(
    rt: EpisodeRuntime, source: DemoSource, run_id: str | None
) -> list[dict[str, Any]]:
    """Select the episode's demonstrations, record which (a ``demonstrations`` event),
    and the message that shows them (none when nothing similar passed)."""
    demos = select_demos(source, rt.task.instruction, rt.task.id, run_id=run_id)
    rt.recorder.event(
        "demonstrations",
        Path(source.path).name,
        {
            "source": Path(source.path).name,
            "path": str(source.path),
            "k": source.k,
            "episodes": [d.episode_id for d in demos],
            "task_ids": [d.task_id for d in demos],
            "runs": [d.run_id for d in demos],
            "scores": [d.score for d in demos],
        },
        parent=rt.root,
    )
    if not demos:
        return []
    return [{"role": "user", "content": demos_message([d.text for d in demos])}]


def _budgeted(config: AgentConfig, model: Model, task: Task) -> AgentConfig:
    """The config with the model-call budget raised to what ``model`` is known to need
    for ``task`` (the oracle plays a reference solution of a known length)."""
    needed = model.model_calls_needed(task, config.agent)
    if needed is None or needed <= config.max_model_calls:
        return config
    return dataclasses.replace(config, max_model_calls=needed)


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
            # the world's policy with the task's addition, as the agent's prompts carry it
            "policy": env.system_prompt(task),
            # the tools the world offers for this task (reset has not run yet)
            "tool_schemas": {t.name: t.schema() for t in env.toolset_for(task)},
        },
    )


async def _score(result: EpisodeResult, rt: EpisodeRuntime, judge: Model | None) -> bool:
    """Score the episode's record against its checklist; whether every required item
    passed. The judge's calls are recorded and counted as the episode's model calls."""
    recorded = RecordedJudge(judge, rt) if judge is not None else None
    try:
        report = await score_episode(
            rt.task, result.trajectory, environment=rt.environment, judge=recorded
        )
    finally:
        if recorded is not None:
            result.trajectory.model_calls.extend(recorded.calls)
    result.verdicts, result.score = report.verdicts, report.score
    for v in report.verdicts:
        rt.recorder.event(
            "check",
            v.item_id,
            {"item_id": v.item_id, "passed": v.passed, "evidence": v.evidence},
            parent=rt.root,
        )
    return report.success


def _finish(store: TraceStore, result: EpisodeResult, snapshot: dict[str, Any] | None) -> None:
    if result.verdicts:
        store.replace_checks(result.episode_id, [v.as_row() for v in result.verdicts])
    assert result.outcome is not None
    store.finish_episode(
        result.episode_id,
        outcome=result.outcome,
        end_reason=result.end_reason,
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
        cost=result.cost,
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
    check_model: bool = True,
    demos: DemoSource | None = None,
    user_model: Model | None = None,
    executor: str | Executor | None = None,
) -> RunResult:
    """Run every task ``epochs`` times with at most ``concurrency`` episodes at once.

    Before anything is recorded (``check_model``), the model and the judge are asked
    once whether they can answer (:meth:`Model.check`): a wrong endpoint, key or model
    name raises ``ModelError`` here instead of failing every episode.

    With ``db`` (a path or an open TraceStore) every episode is recorded and scored
    there, and (``checkpoints``) each graph step is checkpointed beside it so that an
    interrupted run can be resumed (``sandlot run --resume``).

    ``demos`` (or ``AgentConfig.demos``) shows each episode's executor past successful
    episodes of other, similar tasks from a trace file (:mod:`sandlot.agents.graph.demos`).

    ``user_model`` plays the simulated user of the tasks whose user is played by a model
    (``user.llm: true``; docs/users.md); scripted users follow their script. Its name is
    recorded (``runs.config["user_model"]``) for a resume to rebuild it from.

    ``executor`` runs the episodes elsewhere: ``"ray"`` (or a
    :class:`~sandlot.agents.running.ray_executor.RayExecutor`) on a Ray cluster, each
    episode written to the trace whole when it comes back (docs/ray.md). The default runs
    them in this process.
    """
    exe = None if executor in (None, "local") else make_executor(executor)
    tasks = list(tasks)
    for task in tasks:  # a task whose user needs a model fails before anything runs
        user_player_for(task, user_model)
    if concurrency < 1:
        raise ValueError(f"concurrency must be at least 1, got {concurrency}")
    if epochs < 1:
        raise ValueError(f"epochs must be at least 1, got {epochs}")
    model = resolve_model(model)
    cfg = agent_config(agent)
    if demos is not None:
        cfg = dataclasses.replace(cfg, demos=demos)
    resolve_retriever(cfg.retriever)  # an unknown retriever fails before anything runs
    talking = [t.id for t in tasks if t.user is not None]
    if cfg.parallel_steps and talking:  # branches would interleave one conversation
        raise UserError(
            "parallel steps cannot run tasks with a simulated user (their branches would "
            f"talk over each other): {', '.join(talking[:3])}"
            + (f" and {len(talking) - 3} more" if len(talking) > 3 else "")
        )
    if cfg.demos is not None:
        if not Path(cfg.demos.path).is_file():
            raise UserError(f"no trace file at {cfg.demos.path} to take demonstrations from")
        if cfg.demos.before is None:  # only episodes that ended before this run started
            cfg = dataclasses.replace(cfg, demos=dataclasses.replace(cfg.demos, before=time.time()))
    opts, recorded_tools = run_world_options(env_options)
    if exe is None or exe.local_sandboxes:  # else the workers' machines need the backend
        await asyncio.to_thread(check_backend, tasks, opts)
    if exe is not None:
        await asyncio.to_thread(exe.check)
    if check_model:
        await model.check()
        for role, checked in (
            ("judge (--judge)", judge),
            ("user model (--user-model)", user_model),
        ):
            if checked is not None:
                try:
                    await checked.check()
                except ModelError as exc:  # said as the role's, not the agent's model
                    raise ModelError(f"the {role}: {exc}") from exc
    async with open_store(db) as store:
        if store is not None:
            for secret in [m for x in (model, judge, user_model) if x for m in x.secrets()]:
                store.add_secret(secret)
            run_id = store.start_run(
                model=model.name,
                agent=cfg.agent,
                config={
                    "model": model.describe(),
                    "agent": recorded_agent_config(cfg),
                    "retriever": spec_name(cfg.retriever),
                    **({"demos": cfg.demos.recorded()} if cfg.demos is not None else {}),
                    "epochs": epochs,
                    "concurrency": concurrency,
                    "tools": recorded_tools,
                    **(
                        {"sandbox": opts["sandbox"]} if isinstance(opts.get("sandbox"), str) else {}
                    ),
                    # the name a resume rebuilds the user model from (oracle), if it can
                    **({"user_model": user_model.name} if user_model is not None else {}),
                    **(exe.recorded() if exe is not None else {}),
                    **(config or {}),
                },
                n_tasks=len(tasks),
                epochs=epochs,
            )
            store.save_tasks(run_id, tasks)
        else:
            run_id = "r-" + uuid.uuid4().hex[:10]
        jobs = [dict(task=t, epoch=e) for e in range(epochs) for t in tasks]
        if user_model is not None:
            for job in jobs:
                job["user_model"] = user_model
        results = await execute_jobs(
            jobs,
            exe,
            sandbox_tasks=tasks,
            store=store,
            run_id=run_id,
            model=model,
            agent=cfg,
            judge=judge,
            env_options=opts,
            tool_options=recorded_tools,
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


async def execute_jobs(
    jobs: list[dict[str, Any]],
    exe: Executor | None,
    *,
    sandbox_tasks: list[Task],
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
    """Run a run's (or a resume's) jobs: on ``exe`` when it brings its own sandboxes (Ray),
    else here, in the run's sandbox pool for ``sandbox_tasks``."""
    if exe is not None and not exe.local_sandboxes:
        return await exe.run_jobs(
            jobs,
            store=store,
            run_id=run_id,
            model=model,
            agent=agent,
            judge=judge,
            env_options={**env_options, "run_id": run_id},
            tool_options=tool_options,
            concurrency=concurrency,
            checkpoints=checkpoints,
            on_episode=on_episode,
        )
    async with run_sandboxes(
        sandbox_tasks, env_options, run_id=run_id, concurrency=concurrency
    ) as pooled:
        return await run_jobs(
            jobs,
            store=store,
            run_id=run_id,
            model=model,
            agent=agent,
            judge=judge,
            env_options=pooled,
            concurrency=concurrency,
            checkpoints=checkpoints,
            on_episode=on_episode,
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
            # the store's redactor: the checkpoints hold none of the run's secrets either
            checkpointer = await stack.enter_async_context(
                open_checkpointer(store.path, store.redactor)
            )

        finished: list[str] = []  # episodes recorded as finished: no checkpoint needed

        async def one(job: dict[str, Any]) -> EpisodeResult:
            async with semaphore:
                if store is not None and store.write_failure is not None:
                    # never start an episode the trace cannot record
                    raise _stopped(store, run_id, store.write_failure)
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
            if res.outcome != "interrupted":
                finished.append(res.episode_id)
            if on_episode is not None:
                try:
                    on_episode(res)
                except Exception:  # a progress callback must not end the run
                    log.exception("on_episode callback failed for episode %s", res.episode_id)
            return res

        status = "interrupted"
        tasks = [asyncio.ensure_future(one(j)) for j in jobs]
        try:
            results = await _episodes_or_stop(tasks, store, run_id)
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
            _forget_finished(store, checkpointer, finished)
    if store is not None and store.write_failure is not None:  # the run's last writes
        raise _stopped(store, run_id, store.write_failure)
    return list(results)


async def _episodes_or_stop(
    tasks: Sequence[asyncio.Future[EpisodeResult]], store: TraceStore | None, run_id: str
) -> list[EpisodeResult]:
    """Every episode's result — or, as soon as the trace stops taking writes (disk full,
    I/O error), a WriterError: the run stops there, as a kill would stop it, instead of
    running episodes it cannot record. The caller cancels the episodes still running."""
    gathered = asyncio.gather(*tasks)
    gathered.add_done_callback(_retrieved)
    if store is None:
        return await gathered
    loop = asyncio.get_running_loop()
    stopped: asyncio.Future[list[EpisodeResult]] = loop.create_future()

    def settle() -> None:
        if not stopped.done():
            stopped.set_result([])

    def wake(_exc: BaseException) -> None:  # from the writer's thread
        with contextlib.suppress(RuntimeError):  # the loop has closed: the run is over
            loop.call_soon_threadsafe(settle)

    forget = store.on_write_failure(wake)
    try:
        await asyncio.wait([gathered, stopped], return_when=asyncio.FIRST_COMPLETED)
    finally:
        forget()
    if store.write_failure is not None:
        raise _stopped(store, run_id, store.write_failure)
    return gathered.result()


def _retrieved(future: asyncio.Future[Any]) -> None:
    """Mark an outcome as seen: the episodes' own errors are raised or recorded elsewhere."""
    if not future.cancelled():
        future.exception()


def _stopped(store: TraceStore, run_id: str, failure: BaseException) -> WriterError:
    return WriterError(
        f"the trace {store.path} stopped taking writes ({failure}), so run {run_id} stopped "
        "there: what was written before is kept, and episodes not finished read "
        "'interrupted' when the trace is next opened. Free some space (or make the file "
        f"writable), then continue the run with `sandlot run --resume --db {store.path}`"
    )


def _forget_finished(store: TraceStore | None, checkpointer: Any, finished: list[str]) -> None:
    """Drop the checkpoints of episodes the trace records as finished: nothing resumes
    them, and their last checkpoint would hold their whole record a second time."""
    if store is None or checkpointer is None or not finished or store.write_failure:
        return  # (a trace that stopped taking writes keeps the checkpoints for --resume)
    try:
        store.flush()  # only what the trace holds as finished is forgotten
    except Exception:  # the trace did not take it: keep the checkpoints for a resume
        log.exception("the trace could not be written; checkpoints kept for --resume")
        return
    checkpointer.delete_threads(finished)


@contextlib.asynccontextmanager
async def open_store(
    db: str | Path | TraceStore | None, *, existing: bool = False, readonly: bool = False
) -> AsyncIterator[TraceStore | None]:
    """An open TraceStore for a path (closed after), or the store given (flushed after);
    ``readonly`` opens the path for reading only (a trace on read-only media can be read).
    While an error is on its way out, the store's own write error is not raised over it.

    Raises:
        TraceFileError: ``existing`` and there is no file at the path (commands that read
            a trace must not create an empty one at a mistyped path), the file is not a
            trace, or (to write) it or its folder is read-only.
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
        except BaseException:
            with contextlib.suppress(WriterError):  # the error in flight says more
                db.flush()
            raise
        db.flush()
        return
    store = TraceStore(db, readonly=readonly)
    try:
        yield store
    except BaseException:
        with contextlib.suppress(WriterError):  # the error in flight says more
            store.close()
        raise
    store.close()
