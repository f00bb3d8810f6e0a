"""Store rules that money and stock cannot slip past, and state checks that do not
silently read one row of many."""

from __future__ import annotations

import json

import pytest

from sandlot.environments.base import make_environment
from sandlot.environments.tasks import StateCheck, Task
from sandlot.environments.worlds.store import StoreEnvironment
from sandlot.tools import ToolCall, invoke_tool


async def _world() -> StoreEnvironment:
    env = make_environment("store")
    await env.reset(Task.model_validate({"id": "t", "environment": "store", "instruction": "x"}))
    return env


async def _call(env, name, raw: str | None = None, **args):
    return await invoke_tool(
        env.toolset,
        ToolCall("c", name, raw if raw is not None else json.dumps(args)),
        env.context(),
    )


def _one(env, sql):
    return env.state.conn.execute(sql).fetchone()


async def test_cancelling_an_item_of_a_fully_refunded_order_refunds_nothing_more():
    env = await _world()
    paid = _one(env, "SELECT paid FROM orders WHERE id = 1007")[0]
    assert (await _call(env, "refund_order", order_id=1007, amount=paid, reason="full")).ok
    out = await _call(env, "cancel_order_item", order_id=1007, product_id=109)
    assert out.ok and out.value["refunded_to_card"] == 0
    total = _one(env, "SELECT sum(amount) FROM refunds WHERE order_id = 1007")[0]
    assert total == pytest.approx(paid)
    await env.close()


async def test_cancelling_an_item_of_a_partly_refunded_order_refunds_only_what_is_left():
    env = await _world()
    paid = _one(env, "SELECT paid FROM orders WHERE id = 1007")[0]
    partial = round(paid - 5, 2)  # less than the item's 12.00 is left
    assert (await _call(env, "refund_order", order_id=1007, amount=partial, reason="p")).ok
    out = await _call(env, "cancel_order_item", order_id=1007, product_id=109)
    assert out.ok and out.value["refunded_to_card"] == 5.0
    total = _one(env, "SELECT sum(amount) FROM refunds WHERE order_id = 1007")[0]
    assert total == pytest.approx(paid)
    await env.close()


async def test_two_lines_of_one_product_are_checked_against_stock_together():
    env = await _world()
    stock = _one(env, "SELECT stock FROM products WHERE id = 106")[0]
    before = env.snapshot()
    out = await _call(
        env,
        "place_order",
        customer_id=6,
        items=[{"product_id": 106, "quantity": stock}, {"product_id": 106, "quantity": 1}],
    )
    assert out.error_kind == "tool_error" and f"{stock + 1} requested" in out.content
    assert env.snapshot() == before
    out = await _call(
        env,
        "place_order",
        customer_id=6,
        items=[{"product_id": 106, "quantity": 1}, {"product_id": 106, "quantity": stock - 1}],
    )
    assert out.ok and _one(env, "SELECT stock FROM products WHERE id = 106")[0] == 0
    await env.close()


@pytest.mark.parametrize(
    ("tool", "raw", "needle"),
    [
        ("refund_order", '{"order_id": 1008, "amount": NaN, "reason": "x"}', "finite"),
        ("refund_order", '{"order_id": 1008, "amount": Infinity, "reason": "x"}', "finite"),
        ("issue_store_credit", '{"customer_id": 7, "amount": NaN, "reason": "x"}', "finite"),
        ("issue_store_credit", '{"customer_id": 7, "amount": -Infinity, "reason": "x"}', "finite"),
        ("refund_order", '{"order_id": 1008, "amount": 0.001, "reason": "x"}', "at least 0.01"),
        ("issue_store_credit", '{"customer_id": 7, "amount": 0.004, "reason": "x"}', "0.01"),
    ],
)
async def test_money_amounts_must_be_finite_and_at_least_a_cent(tool, raw, needle):
    env = await _world()
    before = env.snapshot()
    out = await _call(env, tool, raw)
    assert out.error_kind == "tool_error" and needle in out.content, out.content
    assert env.snapshot() == before
    await env.close()


async def test_equals_on_a_query_of_several_rows_fails_with_the_rows_as_evidence():
    env = await _world()
    check = StateCheck(query="SELECT status FROM orders ORDER BY id", equals="pending")
    passed, evidence = await env.check_state(check)
    assert passed is False and len(evidence["rows"]) > 1 and "one row" in evidence["error"]
    stored = StoreEnvironment.check_snapshot(json.loads(json.dumps(env.snapshot())), check)
    assert stored[0] is False
    one = StateCheck(query="SELECT status FROM orders WHERE id = 1001", equals="pending")
    assert (await env.check_state(one))[0]
    none = StateCheck(query="SELECT status FROM orders WHERE id = 99", equals="pending")
    assert not (await env.check_state(none))[0]
    await env.close()


async def test_initial_state_sql_must_be_a_list_of_statements(tmp_path):
    from sandlot.environments.loader import TaskFileError, load_task_file

    task = Task.model_validate(
        {
            "id": "t",
            "environment": "store",
            "instruction": "x",
            "initial_state": {"sql": "UPDATE products SET stock = 3 WHERE id = 104"},
        }
    )
    env = make_environment("store")
    with pytest.raises(ValueError, match="must be a list of SQL statements"):
        await env.reset(task)
    path = tmp_path / "t.yaml"
    path.write_text(
        "id: t\nenvironment: store\ninstruction: x\n"
        "initial_state: {sql: 'UPDATE products SET stock = 3 WHERE id = 104'}\n"
        "checklist: [{id: a, check: {type: answer, value: x}}]\n"
    )
    with pytest.raises(TaskFileError, match="field initial_state.sql: initial_state sql must be"):
        load_task_file(path)
