"""Store tasks whose checks mis-scored: a correct answer that names a customer id before
the amount, a wrong answer that happens to contain a digit, a wrong solution that leaves
two rows where the check read only the first."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandlot.environments.base import make_environment
from sandlot.environments.checklist import ToolCallRecord, Trajectory, score_episode
from sandlot.environments.loader import load_tasks
from sandlot.environments.trajectory import ModelCallRecord
from sandlot.tools import ToolCall, invoke_tool

TASK_DIR = Path(__file__).resolve().parents[2] / "examples" / "tasks" / "store"
TASKS = {t.id: t for t in load_tasks([TASK_DIR])}


async def _score(task_id: str, calls: list[tuple[str, dict]], answer: str):
    task = TASKS[task_id]
    env = make_environment("store")
    await env.reset(task)
    records = []
    for i, (tool, args) in enumerate(calls):
        out = await invoke_tool(
            env.toolset, ToolCall(f"c{i}", tool, json.dumps(args)), env.context()
        )
        records.append(ToolCallRecord(out.name, out.arguments, out.ok, out.error_kind, out.content))
    report = await score_episode(
        task,
        Trajectory(
            tool_calls=records,
            answer=answer,
            model_calls=[ModelCallRecord(purpose="execute") for _ in range(len(calls) + 1)],
        ),
        environment=env,
    )
    await env.close()
    return report


CREDIT = ("issue_store_credit", {"customer_id": 7, "amount": 10, "reason": "late delivery"})
GRACE = ("find_customer_by_email", {"email": "grace@example.com"})
HUB = ("check_stock", {"product_id": 104})
DESK = ("check_stock", {"product_id": 106})


@pytest.mark.parametrize(
    ("task_id", "calls", "answer"),
    [
        (
            "store-returns-006",
            [CREDIT],
            "Customer 7 (Donald Knuth) now has $15.00 of store credit.",
        ),
        ("store-returns-006", [CREDIT], "Done - his balance is now 15 dollars."),
        (
            "store-lookup-003",
            [GRACE],
            "grace@example.com (customer 2, Grace Hopper) has $15.00 of store credit.",
        ),
        ("store-lookup-009", [HUB], "Yes, as of 2026-03-15 there are 3 units in stock."),
        ("store-lookup-009", [HUB], "Good news: three USB-C Hubs are available."),
        ("store-orders-007", [DESK], "Sorry customer 2, we only have 2 Standing Desks in stock."),
    ],
)
async def test_correct_answers_pass(task_id, calls, answer):
    report = await _score(task_id, calls, answer)
    assert report.success, report.summary()


@pytest.mark.parametrize(
    ("task_id", "calls", "answer"),
    [
        ("store-returns-006", [CREDIT], "Customer 7 now has $25.00 of store credit."),
        ("store-returns-006", [CREDIT], "Donald now has $15.50 of store credit."),
        ("store-lookup-003", [GRACE], "Customer 15 (Grace Hopper) has $0.00 of store credit."),
        (
            "store-lookup-009",
            [HUB],
            "Sorry, the USB-C Hub is still not available as of 2026-03-15.",
        ),
        ("store-lookup-009", [HUB], "It is not in stock; 3 days until the next delivery."),
        ("store-orders-007", [DESK], "Sorry customer 2, the Standing Desk is sold out."),
        ("store-orders-007", [DESK], "We can't fill 3 desks; 12 are on backorder."),
    ],
)
async def test_wrong_answers_fail(task_id, calls, answer):
    report = await _score(task_id, calls, answer)
    assert not report.success, report.summary()


async def test_returning_both_mice_fails_the_one_mouse_return_task():
    one = {"order_id": 1004, "product_id": 102, "quantity": 1, "reason": "double-clicks"}
    report = await _score(
        "store-returns-001",
        [("create_return", one), ("create_return", one)],
        "A return for the mouse from order 1004 is open.",
    )
    assert not report.success, report.summary()
    report = await _score(
        "store-returns-001", [("create_return", one)], "A return for the mouse is open."
    )
    assert report.success, report.summary()
