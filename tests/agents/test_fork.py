"""Forking an episode: the fork restores the world and the conversation after the
original's first N tool calls, then another model continues; it is recorded as a new
episode linked to the original, scored like any other; a fork point out of range, an
unknown episode or a world that differs from the recording are clear errors."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sandlot.agents.after.fork import ForkError, ForkMismatchError, fork_episode, fork_point
from sandlot.agents.running.runner import run
from sandlot.cli import app
from sandlot.environments.loader import load_tasks
from sandlot.traces.store import TraceStore
from sandlot.traces.viewer.api import ViewerAPI

ROOT = Path(__file__).resolve().parents[2]
STORE = {t.id: t for t in load_tasks([ROOT / "examples/tasks/store"])}
TASK = STORE["store-orders-005"]  # find the customer, list orders, cancel one, answer


async def _recorded(tmp_path: Path) -> tuple[Path, str]:
    db = tmp_path / "t.db"
    result = await run([TASK], model="oracle", db=db)
    assert result.episodes[0].success
    return db, result.episodes[0].episode_id


def _calls(db: Path, episode_id: str) -> list[dict]:
    with TraceStore(db) as store:
        return [
            e
            for e in store.events(episode_id, kinds=["tool_call"], messages=False)
            if e["name"] != "submit_answer"
        ]


async def test_a_fork_at_call_1_with_the_null_model_continues_differently(tmp_path):
    db, original = await _recorded(tmp_path)
    report = await fork_episode(db, original, at=1, model="null")
    fork = report.fork
    recorded, made = _calls(db, original), _calls(db, fork.episode_id)
    # the first call ran again with the same result; the null model made no other
    assert len(made) == 1 and len(recorded) == 3
    assert made[0]["name"] == recorded[0]["name"]
    assert made[0]["payload"]["content"] == recorded[0]["payload"]["content"]
    assert fork.outcome == "budget" and fork.score is not None and fork.score < 1.0
    # the world at the fork point: the customer was found, no order was cancelled
    cancel = next(c for c in fork.verdicts if "cancel" in c.item_id or "cancelled" in c.item_id)
    assert not cancel.passed
    with TraceStore(db) as store:
        row = store.episode(fork.episode_id)
        assert (row["forked_from"], row["fork_at"]) == (original, 1)
        run_row = store.run(row["run_id"])
        assert run_row["kind"] == "fork" and run_row["config"]["forked_from"] == original
        assert run_row["parent_run"] == store.episode(original)["run_id"]
        event = store.events(fork.episode_id, kinds=["fork"])[0]["payload"]
        assert event["matched"] is True and event["fork_at"] == 1
        # the recorded plan and the first executor output were played, then the null model
        calls = store.events(fork.episode_id, kinds=["model_call"], messages=False)
        assert [c["payload"]["model"] for c in calls[:2]] == ["oracle", "oracle"]
        assert {c["payload"]["model"] for c in calls[2:]} == {"null"}
        assert row["model"] == "null"


async def test_the_conversation_up_to_the_fork_point_is_the_recorded_one(tmp_path):
    db, original = await _recorded(tmp_path)
    report = await fork_episode(db, original, at=2, model="null")
    with TraceStore(db) as store:
        old = store.events(original, kinds=["model_call"])
        new = store.events(report.fork.episode_id, kinds=["model_call"])
    # the new model's first request holds the conversation the original's next one held
    first_new = report.replayed_model_calls
    assert new[first_new]["payload"]["messages"] == old[first_new]["payload"]["messages"]


async def test_a_fork_with_the_oracle_passes(tmp_path):
    db, original = await _recorded(tmp_path)
    for at in (1, 3):
        report = await fork_episode(db, original, at=at, model="oracle")
        assert report.fork.outcome == "passed" and report.fork.score == 1.0
        assert [c["name"] for c in _calls(db, report.fork.episode_id)] == [
            c["name"] for c in _calls(db, original)
        ]


async def test_a_policy_addition_reaches_the_new_models_prompt(tmp_path):
    db, original = await _recorded(tmp_path)
    report = await fork_episode(
        db, original, at=1, model="null", policy_addition="Always be brief."
    )
    with TraceStore(db) as store:
        last = store.events(report.fork.episode_id, kinds=["model_call"])[-1]
        assert "Always be brief." in last["payload"]["messages"][0]["content"]
        assert store.task(store.episode(report.fork.episode_id)["run_id"], TASK.id)


async def test_out_of_range_and_unknown_episodes_are_refused(tmp_path):
    db, original = await _recorded(tmp_path)
    for at in (0, 4):
        with pytest.raises(ForkError, match="out of range.*3 tool call"):
            await fork_episode(db, original, at=at, model="null")
    with pytest.raises(ForkError, match="no episode"):
        await fork_episode(db, "nope", at=1, model="null")
    with TraceStore(db) as store:
        assert store.episode(original) and len(store.episodes()) == 1  # nothing recorded


def test_an_episode_without_model_calls_cannot_be_forked():
    calls = [{"seq": 1, "kind": "tool_call", "name": "t", "payload": {"content": "x"}}]
    with pytest.raises(ForkError, match="no recorded model calls"):
        fork_point(calls, 1, "ep")


async def test_a_world_that_differs_from_the_recording_fails_the_fork_where_it_differs(
    tmp_path,
):
    db, original = await _recorded(tmp_path)
    # order 1012 now reads as created a day earlier: call 2 (list orders) differs
    task = TASK.model_copy(
        update={
            "initial_state": {"sql": ["UPDATE orders SET created = '2026-03-14' WHERE id = 1012"]}
        }
    )
    conn = sqlite3.connect(db)
    conn.execute(
        "UPDATE tasks SET definition = ? WHERE task_id = ?", (task.model_dump_json(), task.id)
    )
    conn.commit()
    conn.close()
    await fork_episode(db, original, at=1, model="null")  # call 1 is unaffected
    with pytest.raises(ForkMismatchError, match=r"tool call 2 .*list_customer_orders"):
        await fork_episode(db, original, at=2, model="oracle")
    with TraceStore(db) as store:
        forks = [e for e in store.episodes() if e["fork_at"] == 2]
        assert len(forks) == 1 and forks[0]["outcome"] == "error"
        # the new model was never asked: every model call made was a recorded one
        calls = store.events(forks[0]["id"], kinds=["model_call"], messages=False)
        assert "did not reach the recorded state" in calls[-1]["payload"]["error"]
    # the command line: exit 1, naming the call
    out = await asyncio.to_thread(
        CliRunner().invoke, app, ["fork", str(db), original, "--at", "2", "--model", "null"]
    )
    assert out.exit_code == 1 and "tool call 2" in out.output


async def test_a_fork_can_be_recorded_in_another_trace_file(tmp_path):
    db, original = await _recorded(tmp_path)
    out = tmp_path / "forks.db"
    report = await fork_episode(db, original, at=1, model="oracle", db_out=out)
    assert report.db == out and report.fork.success
    with TraceStore(db) as store:
        assert len(store.episodes()) == 1
    with TraceStore(out) as store:
        assert store.episode(report.fork.episode_id)["forked_from"] == original


async def test_the_viewer_api_returns_the_link(tmp_path):
    db, original = await _recorded(tmp_path)
    report = await fork_episode(db, original, at=2, model="null")
    api = ViewerAPI(db)
    try:
        ep = api.episode(report.fork.episode_id)
        assert (ep["forked_from"], ep["fork_at"]) == (original, 2)
        assert api.episode(original)["forked_from"] is None
    finally:
        api.close()


def test_a_trace_from_before_forks_gets_the_columns(tmp_path):
    db = tmp_path / "old.db"
    with TraceStore(db):
        pass
    conn = sqlite3.connect(db)
    conn.execute("ALTER TABLE episodes DROP COLUMN forked_from")
    conn.execute("ALTER TABLE episodes DROP COLUMN fork_at")
    conn.commit()
    conn.close()
    with TraceStore(db):  # opening an older file adds the columns it lacks
        pass
    columns = {r[1] for r in sqlite3.connect(db).execute("PRAGMA table_info(episodes)")}
    assert {"forked_from", "fork_at"} <= columns


def test_cli_fork(tmp_path):
    db, original = asyncio.run(_recorded(tmp_path))
    runner = CliRunner()
    out = runner.invoke(app, ["fork", str(db), original, "--at", "2", "--model", "oracle"])
    assert out.exit_code == 0, out.output
    assert f"of {original} at tool call 2" in out.output and "passed" in out.output
    out = runner.invoke(app, ["fork", str(db), original, "--at", "9", "--model", "null"])
    assert out.exit_code == 2 and "out of range" in out.output
    out = runner.invoke(app, ["fork", str(db), "nope", "--at", "1", "--model", "null"])
    assert out.exit_code == 2 and "no episode" in out.output
    out = runner.invoke(app, ["fork", str(tmp_path / "no.db"), "x", "--at", "1", "--model", "null"])
    assert out.exit_code == 2 and "no trace file" in out.output
    policy = tmp_path / "policy.txt"
    policy.write_text("Answer in French.", encoding="utf-8")
    out = runner.invoke(
        app,
        ["fork", str(db), original, "--at", "1", "--model", "null", "--policy-file", str(policy)],
    )
    assert out.exit_code == 0, out.output
    out = runner.invoke(app, ["fork", "--help"])
    assert out.exit_code == 0 and "--at" in out.output and "--policy-addition" in out.output
