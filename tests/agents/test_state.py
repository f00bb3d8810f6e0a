"""One episode record: the checkpointed state holds every call, the episodes row and the
summary read it, success is decided once, and ending early is never a success."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

from sandlot.agents.after.rescore import rescore
from sandlot.agents.graph.runtime import AgentConfig, EpisodeRuntime
from sandlot.agents.models import ScriptedModel
from sandlot.agents.running.checkpoints import open_checkpointer
from sandlot.agents.running.runner import run, run_episode
from sandlot.environments.loader import load_tasks
from sandlot.environments.tasks import Task
from sandlot.environments.trajectory import (
    ModelCallRecord,
    ToolCallRecord,
    decide_outcome,
    trajectory_from_events,
)
from sandlot.traces.store import TraceStore
from tests.agents.conftest import notes_task

ROOT = Path(__file__).resolve().parents[2]
STORE = load_tasks([ROOT / "examples/tasks/store"])


@pytest.mark.parametrize(
    ("ended", "passed", "outcome"),
    [
        ("answered", True, "passed"),
        ("plan_finished", True, "passed"),
        ("answered", False, "failed"),
        ("answered", None, "failed"),
        ("budget", True, "budget"),
        ("gave_up", True, "gave_up"),
        ("model_error", True, "error"),
        ("error", True, "error"),
        ("interrupted", True, "interrupted"),
        (None, True, "error"),
    ],
)
def test_only_an_episode_that_ended_by_itself_and_passed_is_passed(ended, passed, outcome):
    assert decide_outcome(ended, passed) == outcome


async def test_the_checkpointed_state_is_the_record_the_row_and_the_events_agree_with(
    tmp_path, task
):
    db = tmp_path / "t.db"
    store = TraceStore(db)
    run_id = store.start_run(model="oracle", agent="plan-execute", config={})
    async with open_checkpointer(db) as saver:
        result = await run_episode(
            task, model="oracle", store=store, run_id=run_id, checkpointer=saver
        )
        latest = await saver.aget_tuple({"configurable": {"thread_id": result.episode_id}})
    row = store.episode(result.episode_id)
    events = store.events(result.episode_id)
    store.close()
    if latest is not None:  # a finished episode's checkpoints may be dropped
        values = latest.checkpoint["channel_values"]
        assert all(isinstance(m, ModelCallRecord) for m in values["model_log"])
        assert all(isinstance(c, ToolCallRecord) for c in values["tool_log"])
        assert len(values["model_log"]) == result.model_calls
    stored = trajectory_from_events(events, row["answer"])
    assert result.outcome == row["outcome"] == "passed" and row["end_reason"] == "answered"
    assert (result.model_calls, result.tool_calls) == (row["model_calls"], row["tool_calls"])
    assert (stored.n_model_calls, stored.n_tool_calls) == (row["model_calls"], row["tool_calls"])
    assert [c.seq for c in stored.tool_calls] == [c.seq for c in result.trajectory.tool_calls]
    assert row["tokens"] == result.tokens == stored.prompt_tokens + stored.completion_tokens


def test_the_run_context_is_immutable(task):
    config = AgentConfig()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.k = 3  # type: ignore[misc]
    assert dataclasses.fields(EpisodeRuntime)  # a dataclass...
    assert EpisodeRuntime.__dataclass_params__.frozen  # ...that nodes cannot change
    assert not {"calls", "model_calls", "called_ok", "offered_now"} & {
        f.name for f in dataclasses.fields(EpisodeRuntime)
    }


def _budget_task() -> Task:
    """A store task whose tool budget is exactly its reference, checked by state only."""
    base = next(
        t
        for t in STORE
        if t.reference
        and len(t.reference.calls) >= 2
        and any(i.check.type == "state" for i in t.checklist)
    )
    checklist = [i for i in base.checklist if i.check.type == "state"]
    return base.model_copy(
        update={
            "id": "budget-only-state",
            "max_tool_calls": len(base.reference.calls),
            "checklist": [i.model_copy(update={"required": True}) for i in checklist],
        }
    )


def _reference_batch(task: Task) -> ScriptedModel:
    """Every reference call in one reply, then one call more: the tool budget runs out."""
    batch = [{"tool": c.tool, "args": c.args} for c in task.reference.calls]
    return ScriptedModel([batch, batch[:1]], plan=["Do everything"])


async def test_an_episode_that_ran_out_of_budget_is_never_a_success_even_after_rescoring(
    tmp_path,
):
    task = _budget_task()
    db = tmp_path / "t.db"
    result = await run([task], model=_reference_batch(task), db=db)
    (ep,) = result.episodes
    assert ep.end_reason == "budget" and ep.outcome == "budget" and not ep.success
    # every state item passed: only the ending keeps it from being a success
    assert ep.verdicts and all(v.passed for v in ep.verdicts) and ep.score == 1.0
    rescored = await rescore(db, [task])
    assert [(r.new_outcome, r.new_success) for r in rescored] == [("budget", False)]
    with TraceStore(db) as store:
        row = store.episode(ep.episode_id)
        assert (row["outcome"], row["success"], row["status"]) == ("budget", 0, "done")
        assert store.summary(result.run_id)["budget"] == 1


async def test_errored_episodes_are_reported_apart_and_not_averaged(tmp_path):
    ok = notes_task("notes-ok")
    broken = notes_task("notes-broken", initial_state={"explode": True})
    result = await run([ok, broken], model="oracle", db=tmp_path / "t.db")
    summary = result.summary()
    assert (summary["passed"], summary["errors"], summary["scored"]) == (1, 1, 1)
    assert summary["success_rate"] == 1.0 and summary["mean_score"] == 1.0
    with TraceStore(tmp_path / "t.db") as store:
        assert store.summary(result.run_id) | {"duration": 0} == summary | {"duration": 0}


async def test_gave_up_and_model_error_are_their_own_outcomes(tmp_path, task):
    gives_up = ScriptedModel(lambda r: "STEP FAILED: cannot", plan=["one step"])
    failing = ScriptedModel([], plan=None)
    result = await run([task], model=gives_up, db=tmp_path / "a.db")
    assert [e.outcome for e in result.episodes] == ["gave_up"]
    result = await run([task], model=failing, db=tmp_path / "b.db")
    assert [e.outcome for e in result.episodes] == ["error"]
    assert result.episodes[0].end_reason == "model_error"
    conn = sqlite3.connect(tmp_path / "b.db")
    assert conn.execute("SELECT outcome, end_reason, status FROM episodes").fetchone() == (
        "error",
        "model_error",
        "error",
    )


async def test_a_finished_run_keeps_no_checkpoint_of_its_finished_episodes(tmp_path):
    from sandlot.agents.running.checkpoints import checkpoint_path

    db = tmp_path / "t.db"
    result = await run([notes_task("a"), notes_task("b")], model="oracle", db=db)
    assert all(e.outcome == "passed" for e in result.episodes)
    conn = sqlite3.connect(checkpoint_path(db))
    threads = {r[0] for r in conn.execute("SELECT DISTINCT thread_id FROM checkpoints")}
    conn.close()
    assert not threads & {e.episode_id for e in result.episodes}
