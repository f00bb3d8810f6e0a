"""The store world: its rules refuse with reasons, episodes are isolated, and checks agree
between the live world and a stored snapshot."""

from __future__ import annotations

import asyncio
import json

import pytest

from sandlot.environments.base import make_environment
from sandlot.environments.tasks import StateCheck, Task
from sandlot.environments.worlds.store import StoreEnvironment
from sandlot.tools import ToolCall, invoke_tool


def _task(**extra) -> Task:
    return Task.model_validate({"id": "t", "environment": "store", "instruction": "x", **extra})


async def _world(**extra) -> StoreEnvironment:
    env = make_environment("store")
    await env.reset(_task(**extra))
    return env


async def _call(env, name, **args):
    return await invoke_tool(env.toolset, ToolCall("c", name, json.dumps(args)), env.context())


def test_the_world_has_at_least_18_tools_with_near_identical_twins():
    names = StoreEnvironment.default_toolset().names()
    assert len(names) >= 18
    for twin in [
        ("cancel_order", "cancel_order_item"),
        ("refund_order", "issue_store_credit"),
        ("get_order", "get_order_status"),
        ("update_customer_email", "update_customer_phone"),
    ]:
        assert set(twin) <= set(names)


@pytest.mark.parametrize(
    ("tool", "args", "reason"),
    [
        ("cancel_order", {"order_id": 1003, "reason": "x"}, "shipped and cannot be cancelled"),
        (
            "update_shipping_address",
            {"order_id": 1004, "address": "1 New Street"},
            "before the order ships",
        ),
        (
            "create_return",
            {"order_id": 1005, "product_id": 105, "quantity": 1, "reason": "x"},
            "within 30 days",
        ),
        (
            "create_return",
            {"order_id": 1003, "product_id": 107, "quantity": 1, "reason": "x"},
            "only delivered orders",
        ),
        (
            "create_return",
            {"order_id": 1004, "product_id": 102, "quantity": 3, "reason": "x"},
            "left to return",
        ),
        ("refund_order", {"order_id": 1004, "amount": 500, "reason": "x"}, "at most 138.99"),
        ("refund_order", {"order_id": 1001, "amount": 5, "reason": "x"}, "has not been paid"),
        (
            "issue_store_credit",
            {"customer_id": 3, "amount": 250, "reason": "x"},
            "manager's approval",
        ),
        (
            "place_order",
            {"customer_id": 2, "items": [{"product_id": 106, "quantity": 3}]},
            "only 2 of product 106",
        ),
        (
            "place_order",
            {"customer_id": 2, "items": [{"product_id": 112, "quantity": 1}]},
            "no longer sold",
        ),
        (
            "place_order",
            {
                "customer_id": 2,
                "items": [{"product_id": 102, "quantity": 1}],
                "discount_code": "WINTER20",
            },
            "expired",
        ),
        (
            "place_order",
            {
                "customer_id": 2,
                "items": [{"product_id": 102, "quantity": 1}],
                "discount_code": "STAFF50",
            },
            "not active",
        ),
        ("update_customer_email", {"customer_id": 3, "email": "ada@example.com"}, "already used"),
        ("update_customer_phone", {"customer_id": 3, "phone": "call me"}, "not a valid phone"),
        ("cancel_order_item", {"order_id": 1012, "product_id": 102}, "last item"),
        ("get_order", {"order_id": 99}, "no order with id 99"),
    ],
)
async def test_business_rules_refuse_with_a_reason(tool, args, reason):
    env = await _world()
    before = env.snapshot()
    out = await _call(env, tool, **args)
    assert out.error_kind == "tool_error" and reason in out.content
    assert env.snapshot() == before  # a refusal changes nothing
    await env.close()


async def test_placing_an_order_applies_the_discount_and_takes_stock():
    env = await _world()
    out = await _call(
        env,
        "place_order",
        customer_id=1,
        items=[{"product_id": 102, "quantity": 2}],
        discount_code="spring10",
    )
    assert out.ok and out.value["total"] == 44.1
    assert (
        await env.check_state(
            StateCheck(query="SELECT stock FROM products WHERE id = 102", equals=58)
        )
    )[0]
    await env.close()


async def test_episodes_never_see_each_others_changes():
    a, b = await asyncio.gather(_world(), _world())
    assert (await _call(a, "cancel_order", order_id=1001, reason="x")).ok
    q = StateCheck(query="SELECT status FROM orders WHERE id = 1001")
    assert (await a.check_state(q.model_copy(update={"equals": "cancelled"})))[0]
    assert (await b.check_state(q.model_copy(update={"equals": "pending"})))[0]
    c = await _world()  # a later episode starts from the seed again
    assert (await c.check_state(q.model_copy(update={"equals": "pending"})))[0]
    for env in (a, b, c):
        await env.close()


async def test_initial_state_sql_applies_and_bad_keys_are_refused():
    env = await _world(initial_state={"sql": ["UPDATE products SET stock = 3 WHERE id = 104"]})
    assert (
        await env.check_state(
            StateCheck(query="SELECT stock FROM products WHERE id = 104", equals=3)
        )
    )[0]
    await env.close()
    with pytest.raises(ValueError, match="unknown initial_state key"):
        await _world(initial_state={"files": {}})
    with pytest.raises(ValueError, match="initial_state sql"):
        await _world(initial_state={"sql": ["UPDATE nope SET x = 1"]})


@pytest.mark.parametrize(
    "check",
    [
        StateCheck(query="SELECT status FROM orders WHERE id = 1002", equals="paid"),
        StateCheck(query="SELECT status FROM orders WHERE id = 1002", equals="shipped"),
        StateCheck(query="SELECT total FROM orders WHERE id = 1011", equals=510.3),
        StateCheck(
            query="SELECT id FROM orders WHERE customer_id = 1 ORDER BY id", rows=[[1001], [1009]]
        ),
        StateCheck(query="SELECT id FROM returns", exists=False),
        StateCheck(query="SELECT email FROM customers WHERE id = 2", regex=r"^grace@"),
        StateCheck(query="SELECT nonsense FROM nowhere", equals=1),
    ],
)
async def test_live_checks_and_snapshot_checks_agree(check):
    env = await _world()
    live = await env.check_state(check)
    stored = StoreEnvironment.check_snapshot(json.loads(json.dumps(env.snapshot())), check)
    assert live[0] == stored[0]
    await env.close()


async def test_a_failing_query_is_evidence_not_an_exception():
    env = await _world()
    passed, evidence = await env.check_state(StateCheck(query="SELEC oops", equals=1))
    assert passed is False and "error" in evidence
    passed, evidence = await env.check_state(StateCheck(file="a.txt", equals="x"))
    assert passed is False and "use query" in evidence["error"]
    await env.close()
