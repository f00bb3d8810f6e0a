"""An episode that did nothing earns nothing: items that only forbid something (not
called, within a budget, a state the untouched world already has) pass trivially when
nothing is done, so with no tool call and no answer every item fails, saying why, and the
shipped tasks score a do-nothing episode at 0 while their reference still scores 1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandlot.environments.base import make_environment
from sandlot.environments.checklist import (
    NO_CREDIT,
    ScoreReport,
    ToolCallRecord,
    Trajectory,
    no_credit_reason,
    score_episode,
)
from sandlot.environments.loader import load_tasks
from sandlot.environments.tasks import Task
from sandlot.environments.trajectory import ModelCallRecord
from sandlot.tools import ToolCall, invoke_tool
from tests.environments.fakes import FakeEnvironment, FakeJudge

TASKS = Path(__file__).resolve().parents[2] / "examples" / "tasks"
STORE = load_tasks([TASKS / "store"])
WORKSPACE = load_tasks([TASKS / "workspace"])

# What the null model leaves behind: model calls that said nothing, no tool call, no answer.
NULL = Trajectory(model_calls=[ModelCallRecord(purpose="execute", content="") for _ in range(40)])


def _task(*items: dict) -> Task:
    return Task.model_validate(
        {"id": "t", "environment": "fake", "instruction": "x", "checklist": list(items)}
    )


FORBIDDING = _task(
    {"id": "not-called", "check": {"type": "not_called", "tool": "cancel_order"}},
    {"id": "budget", "check": {"type": "max_steps", "tool_calls": 3, "model_calls": 50}},
    {
        "id": "never",
        "check": {"type": "called", "tool": "cancel_order", "min_times": 0, "max_times": 0},
    },
    {"id": "kept", "check": {"type": "state", "query": "orders", "equals": 2}},
    {"id": "quiet", "check": {"type": "answer", "match": "not_contains", "value": "sorry"}},
    {"id": "asked", "check": {"type": "called", "tool": "get_order"}},
)


async def _fake_world() -> FakeEnvironment:
    env = FakeEnvironment()
    await env.reset(Task.model_validate({"id": "w", "environment": "fake", "instruction": "x"}))
    env.state = {"orders": 2}
    return env


async def test_every_item_an_idle_episode_would_pass_fails_and_says_why():
    report = await score_episode(FORBIDDING, NULL, environment=await _fake_world())
    verdicts = {v.item_id: v for v in report.verdicts}
    for item in ("not-called", "budget", "never", "kept"):
        assert verdicts[item].passed is False, item
        assert verdicts[item].evidence["no_credit"] == NO_CREDIT
    # what the check itself saw is kept under the reason
    assert verdicts["kept"].evidence["as_checked"] == {"value": 2}
    assert verdicts["budget"].evidence["as_checked"]["model_calls"] == 40
    # items that failed anyway keep their own evidence
    assert verdicts["quiet"].evidence["why"] == "the episode gave no final answer"
    assert verdicts["asked"].evidence["matching_calls"] == 0
    assert (report.score, report.success, report.no_credit) == (0.0, False, NO_CREDIT)
    assert report.summary() == (
        "0/6 items passed; score 0.000; failure (failed: not-called, budget, never, kept, "
        f"quiet, asked); {NO_CREDIT}"
    )


async def test_the_same_items_earn_credit_once_the_episode_acts():
    looked = Trajectory(tool_calls=[ToolCallRecord("get_order", {"order_id": 1}, True)])
    report = await score_episode(FORBIDDING, looked, environment=await _fake_world())
    assert [v.passed for v in report.verdicts] == [True, True, True, True, False, True]
    assert report.no_credit is None and report.success is False  # no answer: 'quiet' fails
    answered = Trajectory(answer="Order 1 is pending.")
    report = await score_episode(FORBIDDING, answered, environment=await _fake_world())
    assert [v.passed for v in report.verdicts] == [True, True, True, True, True, False]


@pytest.mark.parametrize(
    ("trajectory", "acted"),
    [
        (Trajectory(), False),
        (NULL, False),
        (Trajectory(answer=""), False),  # a blank answer is no answer
        (Trajectory(answer=" \n"), False),
        # submit_answer is the answer, not a tool use: without an answer it is nothing
        (Trajectory(tool_calls=[ToolCallRecord("submit_answer", None, False)]), False),
        (Trajectory(answer="I can't do that."), True),  # a refusal is an answer
        (Trajectory(tool_calls=[ToolCallRecord("nope", {}, False, "unknown_tool")]), True),
    ],
)
def test_an_episode_acts_with_a_tool_call_of_any_outcome_or_an_answer(trajectory, acted):
    assert (no_credit_reason(trajectory) is None) is acted


@pytest.mark.parametrize(
    "items",
    [[], [{"id": "j", "check": {"type": "judge", "rubric": "polite"}}]],
    ids=["empty checklist", "all skipped"],
)
async def test_nothing_to_check_is_still_no_credit_for_an_idle_episode(items):
    report = await score_episode(_task(*items), NULL, judge=None)
    assert (report.score, report.success) == (0.0, False)
    assert report.summary().endswith(f"and {NO_CREDIT}; score 0.000; failure")
    assert all(v.passed is None for v in report.verdicts)  # a skip stays a skip


async def test_a_judges_pass_does_not_credit_an_idle_episode():
    judge = FakeJudge('{"passed": true, "reason": "nothing wrong was done"}')
    report = await score_episode(
        _task({"id": "j", "check": {"type": "judge", "rubric": "no harm"}}), NULL, judge=judge
    )
    assert report.verdicts[0].passed is False
    assert report.verdicts[0].evidence["no_credit"] == NO_CREDIT
    assert report.score == 0.0


# --- the shipped tasks -----------------------------------------------------------------


async def _score_store(task: Task, trajectory: Trajectory) -> ScoreReport:
    env = make_environment("store")
    await env.reset(task)
    try:
        return await score_episode(task, trajectory, environment=env)
    finally:
        await env.close()


async def test_an_idle_episode_scores_nothing_on_every_store_task():
    reports = {t.id: await _score_store(t, NULL) for t in STORE}
    mean = sum(r.score for r in reports.values()) / len(reports)
    assert mean <= 0.05, {k: r.score for k, r in reports.items() if r.score}
    assert not [k for k, r in reports.items() if r.success]
    # without the rule, these items pass on the untouched world: the rule is what fails them
    withheld = [
        (task_id, v.item_id)
        for task_id, r in reports.items()
        for v in r.verdicts
        if isinstance(v.evidence, dict) and v.evidence.get("no_credit") == NO_CREDIT
    ]
    assert len(withheld) >= 30, withheld


async def test_the_store_references_still_score_one():
    for task in STORE:
        assert task.reference is not None
        env = make_environment("store")
        await env.reset(task)
        records = []
        for i, call in enumerate(task.reference.calls):
            out = await invoke_tool(
                env.toolset, ToolCall(f"c{i}", call.tool, json.dumps(call.args)), env.context()
            )
            records.append(ToolCallRecord(out.name, out.arguments, out.ok, out.error_kind))
        trajectory = Trajectory(tool_calls=records, answer=task.reference.answer)
        report = await score_episode(task, trajectory, environment=env)
        await env.close()
        assert (report.score, report.success, report.no_credit) == (1.0, True, None), task.id


async def test_an_idle_episode_scores_nothing_on_every_workspace_task():
    scores = []
    for task in WORKSPACE:
        env = make_environment("workspace", sandbox="local")
        await env.reset(task)
        try:
            report = await score_episode(task, NULL, environment=env)
        finally:
            await env.close()
        assert not report.success, task.id
        scores.append(report.score)
    assert sum(scores) / len(scores) <= 0.05
