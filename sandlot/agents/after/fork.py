"""Forking a recorded episode: continue it from its Nth tool call with another model (or
another prompt), as a new episode linked to the original.

The fork point ``at=N`` is the state after the original's first N tool calls
(``submit_answer`` is the answer, not a tool call, and is not counted). The fork builds a
fresh world with the original run's world options, and a :class:`ForkModel` serves the
original's recorded planner and executor outputs up to the one that asked for call N —
cut after call N when it asked for more — so the graph really runs those N calls and
builds the recorded conversation. Before the new model's first call the fork's tool
results are compared with the recorded ones; a difference fails the fork
(:class:`ForkMismatchError`, saying which call). From there the new model continues, and
the episode is scored against the task's checklist like any other.

The fork is recorded as one episode of a new run of kind ``fork`` (``parent_run``: the
original's run), with ``forked_from`` and ``fork_at`` on its episodes row and a ``fork``
event on its timeline.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sandlot.agents.after.replay import Divergence, compare_tool_calls
from sandlot.agents.models.base import Model, ModelRequest, ModelResponse
from sandlot.agents.models.fork import ForkModel
from sandlot.agents.models.replay import Recorded, response_from_payload
from sandlot.agents.running.results import EpisodeResult
from sandlot.agents.running.runner import (
    open_store,
    recorded_agent_config,
    resolve_model,
    run_episode,
    stored_agent_config,
)
from sandlot.agents.running.world_options import run_world_options, stored_world_options
from sandlot.environments.trajectory import SUBMIT_TOOL
from sandlot.errors import ForkError, ForkMismatchError
from sandlot.traces.store import TraceStore

__all__ = [
    "ForkError",
    "ForkMismatchError",
    "ForkPoint",
    "ForkReport",
    "fork_episode",
    "fork_point",
]

_SERVED = ("plan", "execute")  # the purposes a fork replays


@dataclass
class ForkPoint:
    """What restoring an episode's state after its first ``at`` tool calls takes."""

    at: int
    total: int  # tool calls the original made
    recorded: list[tuple[str, Recorded]]  # the model outputs to serve, the last one cut
    calls: list[dict[str, Any]]  # the original's first ``at`` tool_call events


@dataclass
class ForkReport:
    original: str
    at: int
    fork: EpisodeResult
    db: Path  # the trace file the fork was recorded in
    original_outcome: str | None = None
    original_score: float | None = None
    replayed_model_calls: int = 0


def _tool_calls(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["kind"] == "tool_call" and e["name"] != SUBMIT_TOOL]


def fork_point(events: list[dict[str, Any]], at: int, episode_id: str = "") -> ForkPoint:
    """The fork point after the first ``at`` tool calls of an episode's events.

    Raises:
        ForkError: ``at`` is not between 1 and the episode's tool calls, the episode has
            no recorded model outputs, or call ``at`` ended the episode.
    """
    ordered = sorted(events, key=lambda e: e["seq"])
    calls = _tool_calls(ordered)
    name = f"episode {episode_id}" if episode_id else "the episode"
    if not any(e["kind"] == "model_call" for e in ordered):
        raise ForkError(
            f"{name} has no recorded model calls, so its conversation cannot be restored; "
            "fork an episode recorded by `sandlot run --db`"
        )
    if not calls:
        raise ForkError(f"{name} made no tool calls: there is no step to fork at")
    if not 1 <= at <= len(calls):
        raise ForkError(
            f"--at {at} is out of range: {name} made {len(calls)} tool call(s); "
            f"fork at 1 to {len(calls)}"
        )
    if calls[at - 1]["payload"].get("ends_episode") is not None:
        raise ForkError(
            f"tool call {at} ({calls[at - 1]['name']}) ended {name}: nothing follows it; "
            "fork at an earlier call"
        )
    made: list[list[Any]] = []  # [purpose, payload, calls run] per plan/execute call
    count = 0
    for event in ordered:
        payload = event["payload"] if isinstance(event["payload"], dict) else {}
        if event["kind"] == "model_call":
            purpose = payload.get("purpose") or event["name"]
            if purpose in _SERVED:
                made.append([purpose, payload, 0])
        elif event["kind"] == "tool_call" and event["name"] != SUBMIT_TOOL:
            count += 1
            if made:
                made[-1][2] += 1
            if count == at:
                break
    if not made:
        raise ForkError(f"{name} has a tool call before any recorded model call")
    recorded: list[tuple[str, Recorded]] = [(p, response_from_payload(d)) for p, d, _ in made]
    purpose, last = recorded[-1]
    if not isinstance(last, ModelResponse):
        raise ForkError(f"the model call that asked for tool call {at} has no recorded response")
    recorded[-1] = (purpose, _cut(last, made[-1][2]))
    return ForkPoint(at=at, total=len(calls), recorded=recorded, calls=calls[:at])


def _cut(response: ModelResponse, run: int) -> ModelResponse:
    """``response`` with its tool calls after the ``run``-th tool call (submit_answer not
    counted) left out."""
    kept, seen = [], 0
    for call in response.tool_calls:
        if seen == run:
            break
        kept.append(call)
        seen += call.name != SUBMIT_TOOL
    return replace(response, tool_calls=kept)


def _describe(divergence: Divergence) -> str:
    return divergence.describe().replace("the replay", "the fork")


async def fork_episode(
    db: str | Path,
    episode_id: str,
    *,
    at: int,
    model: Model | str,
    policy_addition: str | None = None,
    db_out: str | Path | None = None,
    env_options: dict[str, Any] | None = None,
) -> ForkReport:
    """Continue ``episode_id`` of trace file ``db`` after its first ``at`` tool calls
    with ``model``, recorded as a new episode (in ``db``, or in ``db_out``).

    ``policy_addition`` is added after the task's own policy addition for the whole
    fork (the recorded outputs before the fork point are served as they were).

    Raises:
        ForkError: unknown episode, ``at`` out of range, no recorded model calls, the
            task's definition not in the trace.
        ForkMismatchError: a restored tool call's result differs from the recorded one
            (the fork is recorded, with outcome ``error``).
    """
    new_model = resolve_model(model)
    async with _stores(db, db_out) as (source, target):
        row = source.episode(episode_id)
        if row is None:
            raise ForkError(f"no episode {episode_id!r} in {db}")
        task = source.task(row["run_id"], row["task_id"])
        if task is None:
            raise ForkError(f"the trace holds no definition of task {row['task_id']!r}")
        point = fork_point(source.events(episode_id, messages=False), at, episode_id)
        if policy_addition and policy_addition.strip():
            joined = "\n\n".join(p for p in (task.policy_addition.strip(), policy_addition) if p)
            task = task.model_copy(update={"policy_addition": joined.strip()})
        await new_model.check()
        original_run = source.run(row["run_id"])
        cfg = stored_agent_config(original_run or {"agent": row.get("agent")})
        options, tools = run_world_options(stored_world_options(original_run, env_options))

        def on_handover(request: ModelRequest) -> str | None:
            found = _compare(point, target, request.episode_id)
            return None if found is None else _describe(found)

        fork_model = ForkModel(point.recorded, new_model, on_handover=on_handover)
        recorded_cfg = recorded_agent_config(cfg)
        run_id = target.start_run(
            model=new_model.name,
            agent=cfg.agent,
            kind="fork",
            parent_run=row["run_id"] if target is source else None,
            n_tasks=1,
            config={
                "forked_from": episode_id,
                "fork_at": at,
                "original_run": row["run_id"],
                "original_model": row.get("model"),
                "model": new_model.describe(),
                "policy_addition": policy_addition or None,
                "agent": recorded_cfg,
                "retriever": recorded_cfg["retriever"],
                "tools": tools,
            },
        )
        target.save_tasks(run_id, [task])
        result = await run_episode(
            task, model=fork_model, agent=cfg, store=target, run_id=run_id, env_options=options
        )
        found = _compare(point, target, result.episode_id)
        mismatch = fork_model.mismatch or (None if found is None else _describe(found))
        recorder = target.resume_episode(result.episode_id, reopen=False)
        recorder.event(
            "fork",
            "fork",
            {
                "forked_from": episode_id,
                "fork_at": at,
                "original_tool_calls": point.total,
                "replayed_model_calls": len(point.recorded),
                "original_model": row.get("model"),
                "model": new_model.name,
                "policy_addition": policy_addition or None,
                "matched": mismatch is None,
                "mismatch": mismatch,
                "recorded": {"outcome": row.get("outcome"), "score": row.get("score")},
            },
            parent=0,
        )
        target.update_episode(result.episode_id, forked_from=episode_id, fork_at=at)
        target.finish_run(run_id, "done")
        where = Path(target.path)
    if mismatch is not None:
        raise ForkMismatchError(
            f"fork {result.episode_id} of {episode_id} at tool call {at}: {mismatch}"
        )
    return ForkReport(
        original=episode_id,
        at=at,
        fork=result,
        db=where,
        original_outcome=row.get("outcome"),
        original_score=row.get("score"),
        replayed_model_calls=len(point.recorded),
    )


def _compare(point: ForkPoint, store: TraceStore, episode_id: str) -> Divergence | None:
    """How the fork's first tool calls differ from the original's, if they do."""
    store.flush()
    made = _tool_calls(store.events(episode_id, kinds=["tool_call"], messages=False))
    _, found = compare_tool_calls(point.calls, made[: point.at])
    return found


@contextlib.asynccontextmanager
async def _stores(
    db: str | Path, db_out: str | Path | None
) -> AsyncIterator[tuple[TraceStore, TraceStore]]:
    """The store holding the original and the one the fork is recorded in (the same
    store unless ``db_out`` names another file)."""
    async with open_store(db, existing=True) as source:
        assert source is not None
        if db_out is None or Path(db_out).resolve() == Path(db).resolve():
            yield source, source
            return
        async with open_store(db_out) as target:
            assert target is not None
            yield source, target
