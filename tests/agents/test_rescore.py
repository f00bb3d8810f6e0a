"""Re-scoring stored episodes against changed checklists, without running them again."""

from __future__ import annotations

import asyncio
from pathlib import Path

from typer.testing import CliRunner

from sandlot.agents.after.rescore import rescore
from sandlot.agents.running.runner import run
from sandlot.cli import app
from sandlot.console import console
from sandlot.environments.loader import load_tasks
from sandlot.environments.tasks import ChecklistItem
from sandlot.traces.store import TraceStore

ROOT = Path(__file__).resolve().parents[2]
STORE = load_tasks([ROOT / "examples/tasks/store"])
BY_ID = {t.id: t for t in STORE}


async def _recorded(tmp_path, task_ids):
    db = tmp_path / "t.db"
    result = await run([BY_ID[i] for i in task_ids], model="oracle", db=db)
    return db, {e.task_id: e.episode_id for e in result.episodes}


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


async def test_rescoring_says_why_an_episode_does_not_pass_with_its_evidence(tmp_path):
    db, _ = await _recorded(tmp_path, ["store-lookup-006"])
    task = BY_ID["store-lookup-006"]
    called = {"type": "called", "tool": "refund_order"}
    item = ChecklistItem.model_validate(
        {"id": "refunded", "description": "A refund was made", "check": called}
    )
    changed = task.model_copy(update={"checklist": [item]})
    (result,) = await rescore(db, [changed], write=False)
    assert result.new_success is False and result.why == "failed: refunded"
    assert result.failed == [
        ("refunded", "expected at least 1 matching call of refund_order, found 0")
    ]


def test_sandlot_score_prints_the_failed_checks_evidence(tmp_path):
    db, _ = asyncio.run(_recorded(tmp_path, ["store-lookup-006"]))
    tasks = tmp_path / "tasks.yaml"
    tasks.write_text(
        "environment: store\ntasks:\n  - id: store-lookup-006\n    instruction: x\n"
        "    checklist:\n      - {id: refunded, description: refund, "
        "check: {type: called, tool: refund_order}}\n"
    )
    runner = CliRunner()
    with console.capture() as captured:
        out = runner.invoke(app, ["score", str(db), "--tasks", str(tasks), "--dry-run"])
    assert out.exit_code == 0, out.output
    text = " ".join(captured.get().split())
    assert "refunded: expected at least 1 matching call of refund_order, found 0" in text
