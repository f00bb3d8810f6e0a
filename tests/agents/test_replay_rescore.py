"""Re-execution replay (matches, or reports the first divergence at the right step) and
re-scoring stored episodes against changed checklists."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from sandlot.agents.after.replay import replay_episode
from sandlot.agents.after.rescore import rescore
from sandlot.agents.running.runner import run
from sandlot.cli import app
from sandlot.environments.loader import load_tasks
from sandlot.traces.store import TraceStore

ROOT = Path(__file__).resolve().parents[2]
STORE = load_tasks([ROOT / "examples/tasks/store"])
BY_ID = {t.id: t for t in STORE}


async def _recorded(tmp_path, task_ids):
    db = tmp_path / "t.db"
    result = await run([BY_ID[i] for i in task_ids], model="oracle", db=db)
    return db, {e.task_id: e.episode_id for e in result.episodes}


async def test_replaying_an_oracle_episode_matches_exactly(tmp_path):
    db, ids = await _recorded(tmp_path, ["store-orders-005"])
    report = await replay_episode(db, ids["store-orders-005"])
    assert report.matched and report.compared == 3
    assert report.replay.success is True and report.replay.score == 1.0
    with TraceStore(db) as store:
        row = store.episode(report.replay.episode_id)
        assert row["replay_of"] == ids["store-orders-005"] and row["status"] == "done"
        # annotating the replay with its comparison leaves it finished and scored
        assert row["success"] == 1 and row["score"] == 1.0 and row["ended"] is not None
        assert store.run(row["run_id"])["kind"] == "replay"
        summary = [e for e in store.events(row["id"], kinds=["replay"]) if e["name"] == "summary"]
        assert summary[0]["payload"]["matched"] is True


async def test_a_changed_world_diverges_at_the_right_step(tmp_path):
    db, ids = await _recorded(tmp_path, ["store-orders-005"])
    # Change the world under the trace: order 1012 now reads as created a day earlier.
    # The first call (find the customer) is unaffected; the second (list orders) is not.
    conn = sqlite3.connect(db)
    task = BY_ID["store-orders-005"].model_copy(
        update={
            "initial_state": {"sql": ["UPDATE orders SET created = '2026-03-14' WHERE id = 1012"]}
        }
    )
    conn.execute(
        "UPDATE tasks SET definition = ? WHERE task_id = ?", (task.model_dump_json(), task.id)
    )
    conn.commit()
    conn.close()
    report = await replay_episode(db, ids["store-orders-005"])
    assert not report.matched
    d = report.divergence
    assert (d.index, d.tool) == (1, "list_customer_orders")
    assert "2026-03-15" in d.recorded and "2026-03-14" in d.new
    assert "content" in d.reason


async def test_rescoring_applies_a_changed_checklist_without_running(tmp_path):
    db, ids = await _recorded(tmp_path, ["store-orders-001", "store-lookup-006"])
    changed = []
    for task_id in ("store-orders-001", "store-lookup-006"):
        task = BY_ID[task_id]
        items = [i.model_copy() for i in task.checklist]
        if task_id == "store-orders-001":
            items[-1] = items[-1].model_copy(
                update={"check": items[-1].check.model_copy(update={"value": "refunded in full"})}
            )
        changed.append(task.model_copy(update={"checklist": items}))
    results = {r.task_id: r for r in await rescore(db, changed)}
    orders = results["store-orders-001"]
    assert orders.old_success is True and orders.new_success is False  # the answer item now fails
    assert orders.unchecked == []  # state items were re-checked from the stored snapshot
    lookup = results["store-lookup-006"]
    assert lookup.new_success is True
    assert lookup.unchecked == [("complete", "no judge model configured")]
    with TraceStore(db) as store:
        row = store.episode(ids["store-orders-001"])
        assert row["success"] == 0
        assert [c["passed"] for c in store.checks(ids["store-orders-001"])][-1] == 0


def test_cli_replay_score_and_export(tmp_path):
    import asyncio

    db, ids = asyncio.run(_recorded(tmp_path, ["store-lookup-001"]))
    runner = CliRunner()
    out = runner.invoke(app, ["replay", str(db), ids["store-lookup-001"]])
    assert out.exit_code == 0 and "matched" in out.output
    out = runner.invoke(
        app, ["score", str(db), "--tasks", str(ROOT / "examples/tasks/store/lookups.yaml")]
    )
    assert out.exit_code == 0 and "re-scored" in out.output
    html = tmp_path / "ep.html"
    out = runner.invoke(app, ["export", str(db), ids["store-lookup-001"], "--html", str(html)])
    assert out.exit_code == 0 and html.exists()
    out = runner.invoke(app, ["replay", str(db), "nope"])
    assert out.exit_code != 0 and "no episode" in out.output
