"""Resuming runs of multi-turn tasks: a user played by a model is played on by the run's
recorded user model (or the one given again), a scripted user by its script."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from sandlot.agents.after.rescore import rescore
from sandlot.agents.after.resume import ResumeError, resume_run
from sandlot.agents.models import OracleModel, ScriptedModel
from sandlot.agents.models.base import ModelRequest, ModelResponse
from sandlot.agents.running.runner import run
from sandlot.environments.loader import load_tasks
from sandlot.environments.tasks import Task
from sandlot.traces.store import TraceStore

ROOT = Path(__file__).resolve().parents[2]
LOCAL = {"sandbox": "local"}
CANCEL = {"id": "cancelled", "check": {"type": "state", "query": "SELECT status FROM orders WHERE id = 1001", "equals": "cancelled"}}  # fmt: skip


def llm_user_task(task_id: str) -> Task:
    """A task whose user is played by a model; the oracle asks for the order first."""
    return Task.model_validate(
        {
            "id": task_id,
            "environment": "store",
            "instruction": "Cancel my order, please.",
            "user": {"goal": "Cancel order 1001.", "hidden": {"order_id": "1001"}, "llm": True},
            "reference": {
                "asks": [{"text": "Which order id? Do you confirm?", "before": 0}],
                "calls": [{"tool": "cancel_order", "args": {"order_id": 1001, "reason": "x"}}],
                "answer": "Cancelled.",
            },
            "checklist": [CANCEL],
        }
    )


class StoppingOracle(OracleModel):
    """The oracle, except that on task ``stop_on`` it waits for ever once the user has
    answered (the run is cancelled there, as a kill would stop it)."""

    def __init__(self, stop_on: str) -> None:
        super().__init__()
        self.stop_on = stop_on
        self.stopped = asyncio.Event()

    async def complete(self, request: ModelRequest) -> ModelResponse:
        users = [m for m in request.messages if m.get("role") == "user"]
        if request.task is not None and request.task.id == self.stop_on and len(users) >= 2:
            self.stopped.set()
            await asyncio.Event().wait()
        return await super().complete(request)


async def _interrupted_run(db: Path, tasks: list[Task], stop_on: str, **options: Any) -> str:
    """Run ``tasks`` one at a time, cancelled inside ``stop_on``'s episode after the user
    answered; the run's id."""
    model = StoppingOracle(stop_on)
    first = asyncio.create_task(
        run(tasks, model=model, db=db, agent="single", env_options=LOCAL, concurrency=1, **options)
    )
    stopped = asyncio.create_task(model.stopped.wait())
    done, _ = await asyncio.wait([first, stopped], return_when=asyncio.FIRST_COMPLETED)
    assert stopped in done, "the run ended before the marked task's user answered"
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    with TraceStore(db) as store:
        (row,) = store.runs()
        episodes = {e["task_id"]: e["status"] for e in store.episodes(row["id"])}
    assert episodes[stop_on] != "done" and len(episodes) < len(tasks) + 1
    return row["id"]


def _config(db: Path, run_id: str) -> dict[str, Any]:
    with sqlite3.connect(db) as conn:
        (config,) = conn.execute("SELECT config FROM runs WHERE id = ?", (run_id,)).fetchone()
    conn.close()
    return json.loads(config)


async def test_a_run_with_a_model_user_resumes_with_the_recorded_user_model(tmp_path):
    db = tmp_path / "t.db"
    tasks = [llm_user_task("u1"), llm_user_task("u2"), llm_user_task("u3")]
    run_id = await _interrupted_run(db, tasks, "u2", user_model=OracleModel())
    assert _config(db, run_id)["user_model"] == "oracle"

    resumed = await resume_run(db)  # the oracle is rebuilt to play the users
    assert resumed.run_id == run_id
    assert sorted(e.task_id for e in resumed.episodes) == ["u1", "u2", "u3"]
    assert all(e.success for e in resumed.episodes), [
        (e.task_id, e.error) for e in resumed.episodes
    ]
    for episode in resumed.episodes:
        assert episode.trajectory.user_turns[0].text == "My order id is 1001."
    with TraceStore(db) as store:
        assert len(store.episodes(run_id)) == 3  # the stopped one continued, not restarted
        assert store.run(run_id)["status"] == "done"


async def test_a_user_model_that_cannot_be_rebuilt_is_given_again(tmp_path):
    db = tmp_path / "t.db"
    tasks = [llm_user_task("u1"), llm_user_task("u2"), llm_user_task("u3")]
    scripted = ScriptedModel(["Order 1001, yes."] * 4)
    run_id = await _interrupted_run(db, tasks, "u2", user_model=scripted)
    assert _config(db, run_id)["user_model"] == "scripted"

    with pytest.raises(ResumeError, match="(?s)user model .scripted.*--user-model"):
        await resume_run(db, model="oracle")
    again = ScriptedModel(["Order 1001, yes."] * 4, name="user-again")
    resumed = await resume_run(db, model="oracle", user_model=again)
    assert all(e.success for e in resumed.episodes), [
        (e.task_id, e.error) for e in resumed.episodes
    ]
    assert len(resumed.episodes) == 3
    # u3, never started, talks to the model given again
    assert again.requests and all(r.purpose == "user" for r in again.requests)


async def test_a_run_with_scripted_users_resumes(tmp_path):
    db = tmp_path / "t.db"
    tasks = load_tasks(ROOT / "examples/tasks/store_multiturn")[:3]
    assert all(t.user is not None and not t.user.llm for t in tasks)
    run_id = await _interrupted_run(db, tasks, tasks[1].id)
    assert "user_model" not in _config(db, run_id)

    resumed = await resume_run(db)
    assert sorted(e.task_id for e in resumed.episodes) == sorted(t.id for t in tasks)
    assert all(e.success for e in resumed.episodes), [
        (e.task_id, e.error) for e in resumed.episodes
    ]
    by_task = {e.task_id: e for e in resumed.episodes}
    again = by_task[tasks[1].id]
    assert tasks[1].reference is not None
    assert [u.prompt for u in again.trajectory.user_turns] == [
        a.text for a in tasks[1].reference.asks
    ]
    # the kept episodes' user turns come back from the trace: their asked checks re-check
    kept = by_task[tasks[0].id]
    assert kept.trajectory.user_turns and kept.trajectory.user_turns[0].text
    rescored = await rescore(db, tasks, write=False)
    assert all(r.new_success for r in rescored), [r.task_id for r in rescored]
