"""``reference_state``: every world can compare an episode's final state with the state
its task's reference solution leaves (played on a fresh copy through the tools)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from sandlot.environments.base import make_environment
from sandlot.environments.checklist import ToolCallRecord, Trajectory, score_episode
from sandlot.environments.loader import TaskFileError, load_tasks
from sandlot.environments.snapshots import compare_states
from sandlot.environments.tasks import Task
from sandlot.environments.worlds.store import StoreEnvironment
from sandlot.tools import ToolCall, invoke_tool


def _task(ignore: list[str] | None = None, **extra: Any) -> Task:
    check: dict[str, Any] = {"type": "reference_state"}
    if ignore is not None:
        check["ignore"] = ignore
    return Task.model_validate(
        {
            "id": "r1",
            "environment": "store",
            "instruction": "Cancel order 1001.",
            "reference": {
                "calls": [
                    {"tool": "get_order", "args": {"order_id": 1001}},
                    {"tool": "cancel_order", "args": {"order_id": 1001, "reason": "changed mind"}},
                ],
                "answer": "Order 1001 is cancelled.",
            },
            "checklist": [{"id": "same", "check": check}],
            **extra,
        }
    )


async def _episode(task: Task, calls: list[tuple[str, dict[str, Any]]]):
    env = make_environment("store")
    await env.reset(task)
    records = []
    for i, (name, args) in enumerate(calls):
        out = await invoke_tool(
            env.toolset, ToolCall(str(i), name, json.dumps(args)), env.context()
        )
        records.append(ToolCallRecord(name, args, out.ok, content=out.content))
    return env, Trajectory(tool_calls=records, answer="done")


async def test_the_reference_itself_passes_live_and_from_the_stored_snapshot():
    task = _task()
    env, trajectory = await _episode(
        task, [("cancel_order", {"order_id": 1001, "reason": "changed mind"})]
    )
    report = await score_episode(task, trajectory, environment=env)
    assert report.success, report.verdicts[0].evidence
    assert report.verdicts[0].evidence["differences"] == 0
    stored = json.loads(json.dumps(env.snapshot()))
    rescored = await score_episode(
        task, trajectory, snapshot=stored, environment_class=StoreEnvironment
    )
    assert rescored.success
    await env.close()


CANCEL_AND_MORE = [
    ("cancel_order", {"order_id": 1001, "reason": "changed mind"}),
    ("update_customer_phone", {"customer_id": 3, "phone": "+44 0000"}),
]


async def test_a_different_final_state_fails_and_names_the_differences():
    task = _task()
    env, trajectory = await _episode(task, CANCEL_AND_MORE)
    report = await score_episode(task, trajectory, environment=env)
    verdict = report.verdicts[0]
    assert verdict.passed is False
    assert verdict.evidence["first"] == [
        {"path": "customers.3.phone", "actual": "+44 0000", "expected": "+44 161 555 0103"}
    ]
    await env.close()


async def test_an_episode_that_did_nothing_fails():
    task = _task()
    env, trajectory = await _episode(task, [("get_order", {"order_id": 1001})])
    report = await score_episode(task, trajectory, environment=env)
    assert report.verdicts[0].passed is False
    assert report.verdicts[0].evidence["differences"] >= 2  # the order and the stock
    await env.close()


async def test_ignored_paths_are_not_compared():
    env, trajectory = await _episode(_task(), CANCEL_AND_MORE)
    for ignore in (["customers"], ["customers.3"], ["customers.*.phone"]):
        report = await score_episode(_task(ignore=ignore), trajectory, environment=env)
        assert report.success, (ignore, report.verdicts[0].evidence)
        assert report.verdicts[0].evidence["ignored"] == ignore
    other = await score_episode(_task(ignore=["customers.*.email"]), trajectory, environment=env)
    assert not other.success
    await env.close()


def test_compare_states_lists_missing_unexpected_and_changed_values_by_path():
    passed, evidence = compare_states(
        {"a": {"x": 1, "y": 2}, "b": [1, 2]},
        {"a": {"x": 1.0, "z": 3}, "b": [1, 3]},
        ignore=[],
    )
    assert not passed
    assert evidence["first"] == [
        {"path": "a.y", "unexpected": 2},
        {"path": "a.z", "missing": 3},
        {"path": "b.1", "actual": 2, "expected": 3},
    ]
    assert compare_states({"a": {"k": 1}}, {"a": {"k": 2}}, ignore=["*.k"])[0]
    assert not compare_states({"a": {"k": 1}}, {"a": {"k": 2}}, ignore=["*.kk"])[0]
    files = {"files": {"log.txt": "a", "out.csv": "1"}}
    other = {"files": {"log.txt": "b", "out.csv": "1"}}
    assert compare_states(files, other, ignore=["files.log.txt"])[0]  # a key with a dot
    assert not compare_states(files, other, ignore=["files.log"])[0]


async def test_every_world_has_it_through_the_base_class():
    from tests.environments.test_base import CounterWorld

    task = Task.model_validate(
        {
            "id": "c",
            "environment": "counter",
            "instruction": "Bump twice.",
            "reference": {"calls": [{"tool": "bump"}, {"tool": "bump"}], "answer": "2"},
            "checklist": [{"id": "same", "check": {"type": "reference_state"}}],
        }
    )
    assert await CounterWorld.reference_snapshot(task) == {"count": 2}
    env = CounterWorld()
    await env.reset(task)
    once = Trajectory(tool_calls=[ToolCallRecord("bump", {}, True)], answer="1")
    await invoke_tool(env.toolset, ToolCall("1", "bump", "{}"), env.context())
    report = await score_episode(task, once, environment=env)
    assert report.verdicts[0].passed is False
    assert report.verdicts[0].evidence["first"] == [{"path": "count", "actual": 1, "expected": 2}]


def test_the_loader_refuses_reference_state_without_a_reference(tmp_path):
    data = _task().model_dump(exclude={"source"})
    data["reference"] = None
    path = tmp_path / "t.json"
    path.write_text(json.dumps(data))
    with pytest.raises(TaskFileError, match=r"field checklist\[0\].check: a reference_state check"):
        load_tasks([path])


def test_the_loader_accepts_reference_state_with_a_reference(tmp_path):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(_task(ignore=["tickets.*.created"]).model_dump(exclude={"source"})))
    [task] = load_tasks([path])
    assert task.checklist[0].check.ignore == ["tickets.*.created"]
