"""A world may speak its own state-check language: the store's ``changed``, checked on
the live world and on a stored snapshot, and refused by the loader when it has the
wrong shape."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sandlot.environments.base import make_environment
from sandlot.environments.loader import TaskFileError, load_tasks
from sandlot.environments.tasks import StateCheck, Task
from sandlot.environments.worlds.store import StoreEnvironment
from sandlot.tools import ToolCall, invoke_tool


def _write(tmp_path, data: dict[str, Any]):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(data))
    return path


CANCEL = {
    "id": "s1",
    "environment": "store",
    "instruction": "Cancel order 1001.",
    "reference": {
        "calls": [{"tool": "cancel_order", "args": {"order_id": 1001, "reason": "x"}}],
        "answer": "cancelled",
    },
}


async def _store_after(calls: list[tuple[str, dict[str, Any]]]) -> StoreEnvironment:
    env = make_environment("store")
    await env.reset(Task.model_validate(CANCEL))
    for i, (name, args) in enumerate(calls):
        outcome = await invoke_tool(
            env.toolset, ToolCall(str(i), name, json.dumps(args)), env.context()
        )
        assert outcome.ok, outcome.content
    return env


def _changed(changed: dict[str, Any]) -> StateCheck:
    return StateCheck.model_validate({"type": "state", "changed": changed})


async def test_changed_passes_when_the_changed_rows_are_exactly_these():
    env = await _store_after([("cancel_order", {"order_id": 1001, "reason": "x"})])
    right = _changed({"orders": [{"id": 1001, "status": "cancelled"}], "refunds": []})
    passed, evidence = await env.check_state(right)
    assert passed, evidence
    stored = json.loads(json.dumps(env.snapshot()))
    assert StoreEnvironment.check_snapshot(stored, right)[0]  # re-scoring agrees
    await env.close()


@pytest.mark.parametrize(
    "changed",
    [
        {"orders": [{"id": 1001, "status": "shipped"}]},  # the wrong value
        {"orders": []},  # says nothing changed
        {"orders": [{"id": 1001}, {"id": 1002}]},  # a row that did not change
        {"products": []},  # cancelling restocked the product
    ],
)
async def test_changed_fails_when_the_changes_differ(changed):
    env = await _store_after([("cancel_order", {"order_id": 1001, "reason": "x"})])
    passed, evidence = await env.check_state(_changed(changed))
    assert not passed, evidence
    stored = json.loads(json.dumps(env.snapshot()))
    assert not StoreEnvironment.check_snapshot(stored, _changed(changed))[0]
    await env.close()


async def test_changed_with_no_changes_passes_only_for_empty_tables():
    env = await _store_after([])
    assert (await env.check_state(_changed({"orders": [], "refunds": []})))[0]
    assert not (await env.check_state(_changed({"orders": [{"id": 1001}]})))[0]
    await env.close()


@pytest.mark.parametrize(
    ("check", "needle"),
    [
        ({"changed": {"order": []}}, "no table 'order' in the store"),
        ({"changed": {"orders": [{"state": "x"}]}}, "changed.orders: no column(s) ['state']"),
        ({"changed": {"orders": []}, "equals": 1}, "changed takes no equals"),
        ({"changed": {"orders": []}, "query": "SELECT 1"}, "one of query or changed"),
        ({"file": "a.txt", "contains": "x"}, "the store world has no files or commands"),
        ({"query": "SELECT 1", "equal": 1}, "unknown field 'equal'; did you mean 'equals'?"),
    ],
)
def test_the_loader_refuses_store_checks_of_the_wrong_shape(tmp_path, check, needle):
    data = {**CANCEL, "checklist": [{"id": "k", "check": {"type": "state", **check}}]}
    with pytest.raises(TaskFileError) as caught:
        load_tasks([_write(tmp_path, data)])
    assert "task 's1', field checklist[0].check" in str(caught.value)
    assert needle in str(caught.value), str(caught.value)
