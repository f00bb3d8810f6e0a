"""Every store task is sound: its reference solution runs against its initial state, earns
every checklist item, and the policy tasks' checks catch the tempting wrong mutation.

A task with a wrong count, a reference call the world refuses, or a check that the right
answer cannot satisfy fails here, naming the task, before any agent is blamed for it.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from sandlot.environments.base import make_environment
from sandlot.environments.checklist import ScoreReport, ToolCallRecord, Trajectory, score_episode
from sandlot.environments.loader import load_tasks
from sandlot.environments.tasks import ReferenceCall, StateCheck, Task
from sandlot.environments.worlds.store import StoreEnvironment
from sandlot.tools import ToolCall, invoke_tool

TASK_DIR = Path(__file__).resolve().parents[2] / "examples" / "tasks" / "store"
TASKS = load_tasks([TASK_DIR])
POLICY_TASKS = [t for t in TASKS if t.metadata.get("wrong_calls")]


async def _play(
    task: Task, extra: list[ReferenceCall] = ()
) -> tuple[StoreEnvironment, ScoreReport]:
    """Reset the world for ``task``, make its reference calls (then ``extra``), score it."""
    assert task.reference is not None, f"{task.id}: no reference solution"
    env = make_environment("store")
    await env.reset(task)
    records = []
    for i, call in enumerate([*task.reference.calls, *extra]):
        outcome = await invoke_tool(
            env.toolset, ToolCall(f"c{i}", call.tool, json.dumps(call.args)), env.context()
        )
        assert outcome.ok, f"{task.id}: call {i} {call.tool}({call.args}) failed: {outcome.content}"
        records.append(ToolCallRecord(call.tool, call.args, True, content=outcome.content))
    trajectory = Trajectory(tool_calls=records, answer=task.reference.answer)
    return env, await score_episode(task, trajectory, environment=env)


def test_there_are_enough_tasks_of_every_kind():
    assert len(TASKS) >= 32
    assert all(t.environment == "store" for t in TASKS)
    assert len({t.id for t in TASKS}) == len(TASKS)
    sizes = [len(t.reference.calls) for t in TASKS]
    assert sizes.count(0) >= 3  # no tool needed
    assert sum(3 <= n <= 6 for n in sizes) >= 3  # multi-step
    kinds = Counter(item.check.type for t in TASKS for item in t.checklist)
    assert {"state", "called", "not_called", "order", "max_steps", "answer", "judge"} <= set(kinds)
    assert len(POLICY_TASKS) >= 8
    assert any(not item.required for t in TASKS for item in t.checklist)


@pytest.mark.parametrize("task", TASKS, ids=[t.id for t in TASKS])
def test_check_ids_are_unique_within_the_task(task):
    ids = [item.id for item in task.checklist]
    assert len(ids) == len(set(ids)), f"{task.id}: duplicate check ids {ids}"


@pytest.mark.parametrize("task", TASKS, ids=[t.id for t in TASKS])
async def test_the_reference_solution_passes_every_item(task):
    env, report = await _play(task)
    try:
        for verdict in report.verdicts:
            if verdict.kind == "judge":  # no judge model here: skipped, never failed
                assert verdict.passed is None, f"{task.id}/{verdict.item_id}"
                continue
            assert verdict.passed, f"{task.id}/{verdict.item_id} failed: {verdict.evidence}"
        assert report.success
        # The snapshot stored with an episode re-checks to the same verdicts.
        snapshot = json.loads(json.dumps(env.snapshot()))
        for item in task.checklist:
            if isinstance(item.check, StateCheck):
                assert StoreEnvironment.check_snapshot(snapshot, item.check)[0], (
                    f"{task.id}/{item.id} fails on the snapshot"
                )
    finally:
        await env.close()


@pytest.mark.parametrize(
    ("task", "wrong"),
    [(t, ReferenceCall.model_validate(w)) for t in POLICY_TASKS for w in t.metadata["wrong_calls"]],
    ids=[f"{t.id}-{w['tool']}" for t in POLICY_TASKS for w in t.metadata["wrong_calls"]],
)
async def test_a_policy_task_fails_when_the_tempting_mutation_is_made(task, wrong):
    # The wrong call succeeds (the world allows it), so only the checklist can catch it.
    env, report = await _play(task, [wrong])
    await env.close()
    caught = [
        v.item_id for v in report.verdicts if v.kind == "state" and v.required and not v.passed
    ]
    assert caught, f"{task.id}: no required state check notices {wrong.tool}({wrong.args})"
    assert not report.success
