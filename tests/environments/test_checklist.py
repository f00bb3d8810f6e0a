"""Every checklist kind passes and fails as documented, scores are weighted, success
needs every required item, skips are explained and count neither way, and a broken
check fails only its own item."""

from __future__ import annotations

import json

import pytest

from sandlot.environments.checklist import (
    ScoreReport,
    ToolCallRecord,
    Trajectory,
    Verdict,
    score_episode,
    trajectory_from_events,
)
from sandlot.environments.tasks import Task
from sandlot.environments.trajectory import ModelCallRecord
from tests.environments.fakes import FakeEnvironment


def _task(*items: dict, **extra) -> Task:
    return Task.model_validate(
        {"id": "t", "environment": "fake", "instruction": "x", "checklist": list(items), **extra}
    )


def _item(check: dict, **extra) -> dict:
    return {"id": extra.pop("id", "i"), "check": check, **extra}


TRAJ = Trajectory(
    tool_calls=[
        ToolCallRecord("get_order", {"order_id": 1001, "expand": {"lines": [1, 2]}}, True),
        ToolCallRecord("cancel_order", {"order_id": 1001, "reason": "x"}, False, "tool_error"),
        ToolCallRecord("refund_order", {"order_id": 1001, "amount": 5.0, "notify": True}, True),
        ToolCallRecord("refund_order", None, False, "invalid_arguments"),
    ],
    model_calls=[ModelCallRecord(purpose="execute") for _ in range(4)],
    answer="Refunded $5.00 on order 1,001.",
)


async def _verdict(check: dict, trajectory: Trajectory = TRAJ) -> Verdict:
    report = await score_episode(_task(_item(check)), trajectory)
    return report.verdicts[0]


@pytest.mark.parametrize(
    ("check", "passed"),
    [
        # called: ok calls whose arguments contain every given key with an equal value
        ({"type": "called", "tool": "get_order"}, True),
        ({"type": "called", "tool": "get_order", "args": {"order_id": 1001}}, True),
        ({"type": "called", "tool": "get_order", "args": {"order_id": 1002}}, False),
        ({"type": "called", "tool": "get_order", "args": {"order_id": "1001"}}, False),
        ({"type": "called", "tool": "get_order", "args": {"expand": {"lines": [1, 2.0]}}}, True),
        ({"type": "called", "tool": "get_order", "args": {"expand": {"lines": [2, 1]}}}, False),
        ({"type": "called", "tool": "get_order", "args": {"missing": None}}, False),
        ({"type": "called", "tool": "refund_order", "args": {"amount": 5}}, True),  # 5 == 5.0
        ({"type": "called", "tool": "refund_order", "args": {"notify": 1}}, False),  # True != 1
        ({"type": "called", "tool": "cancel_order"}, False),  # it failed
        ({"type": "called", "tool": "cancel_order", "allow_error": True}, True),
        ({"type": "called", "tool": "refund_order", "min_times": 2}, False),  # one ok call
        ({"type": "called", "tool": "refund_order", "min_times": 2, "allow_error": True}, True),
        ({"type": "called", "tool": "get_order", "max_times": 0, "min_times": 0}, False),
        ({"type": "called", "tool": "issue_store_credit", "min_times": 0}, True),
        # not_called: any outcome counts, arguments narrow it
        ({"type": "not_called", "tool": "cancel_order"}, False),  # failed calls count
        ({"type": "not_called", "tool": "cancel_order", "args": {"order_id": 7}}, True),
        ({"type": "not_called", "tool": "issue_store_credit"}, True),
        # order: first successful calls, in order
        ({"type": "order", "tools": ["get_order", "refund_order"]}, True),
        ({"type": "order", "tools": ["refund_order", "get_order"]}, False),
        ({"type": "order", "tools": ["get_order", "cancel_order"]}, False),  # never succeeded
        # max_steps: every tool call counts, model calls too
        ({"type": "max_steps", "tool_calls": 4, "model_calls": 4}, True),
        ({"type": "max_steps", "tool_calls": 3}, False),
        ({"type": "max_steps", "model_calls": 3}, False),
        # answer
        ({"type": "answer", "match": "exact", "value": " refunded $5.00 on order 1,001. "}, True),
        ({"type": "answer", "match": "exact", "value": "Refunded", "case_sensitive": True}, False),
        ({"type": "answer", "match": "contains", "value": ["refunded", "5.00"]}, True),
        ({"type": "answer", "match": "contains", "value": ["refunded", "credit"]}, False),
        (
            {"type": "answer", "match": "contains", "value": "refunded", "case_sensitive": True},
            False,
        ),
        ({"type": "answer", "match": "not_contains", "value": ["credit", "cancel"]}, True),
        ({"type": "answer", "match": "not_contains", "value": ["credit", "ORDER"]}, False),
        ({"type": "answer", "match": "regex", "value": r"\$\d+\.\d\d"}, True),
        ({"type": "answer", "match": "regex", "value": "^REFUNDED"}, True),
        ({"type": "answer", "match": "regex", "value": "^REFUNDED", "case_sensitive": True}, False),
        ({"type": "answer", "match": "number", "value": 5, "tolerance": 0.01}, True),
        ({"type": "answer", "match": "number", "value": "5.0"}, True),
        ({"type": "answer", "match": "number", "value": 6, "tolerance": 0.5}, False),
    ],
)
async def test_each_trajectory_and_answer_check(check, passed):
    verdict = await _verdict(check)
    assert verdict.passed is passed
    assert verdict.kind == check["type"] and verdict.evidence is not None


async def test_number_reads_the_first_number_with_thousands_commas():
    answer = Trajectory(tool_calls=[], answer="The total is -1,234.50 dollars, not 7.")
    verdict = await _verdict({"type": "answer", "match": "number", "value": -1234.5}, answer)
    assert verdict.passed is True and verdict.evidence["number"] == -1234.5
    nothing = Trajectory(tool_calls=[], answer="no digits")
    verdict = await _verdict({"type": "answer", "match": "number", "value": 1}, nothing)
    assert verdict.passed is False and verdict.evidence["why"] == "no number in the answer"


@pytest.mark.parametrize("match", ["exact", "contains", "not_contains", "regex", "number"])
async def test_a_missing_answer_fails_every_answer_match(match):
    verdict = await _verdict({"type": "answer", "match": match, "value": "1"}, Trajectory())
    assert verdict.passed is False and verdict.evidence["answer"] is None


async def test_evidence_says_what_was_seen():
    called = await _verdict({"type": "called", "tool": "get_order", "args": {"order_id": 9}})
    assert called.evidence["matching_calls"] == 0 and called.evidence["calls_of_tool"] == 1
    assert called.evidence["calls"][0]["arguments"]["order_id"] == 1001  # the near miss
    order = await _verdict({"type": "order", "tools": ["get_order", "cancel_order"]})
    assert order.evidence["missing"] == ["cancel_order"]
    regex = await _verdict({"type": "answer", "match": "regex", "value": r"\$[\d.]+"})
    assert regex.evidence["matched"] == "$5.00"
    contains = await _verdict({"type": "answer", "value": ["refunded", "credit"]})
    assert contains.evidence["missing"] == ["credit"]
    assert json.dumps([called.as_row(), order.as_row(), regex.as_row()])  # storable as JSON


# --- state checks --------------------------------------------------------------------

STATE = _item({"type": "state", "query": "orders", "equals": 2}, id="s")


async def test_state_items_ask_the_live_environment():
    env = FakeEnvironment()
    await env.reset(_task(initial_state={"orders": 2}))
    report = await score_episode(_task(STATE), TRAJ, environment=env)
    assert report.verdicts[0].passed is True and report.verdicts[0].evidence == {"value": 2}
    env.state["orders"] = 3
    report = await score_episode(_task(STATE), TRAJ, environment=env)
    assert report.verdicts[0].passed is False


async def test_state_items_use_a_snapshot_with_the_environment_class():
    report = await score_episode(
        _task(STATE), TRAJ, snapshot={"orders": 2}, environment_class=FakeEnvironment
    )
    assert report.verdicts[0].passed is True


async def test_a_snapshot_the_world_cannot_check_skips_the_item_with_its_reason():
    item = _item({"type": "state", "query": "live-only", "equals": 1})
    report = await score_episode(_task(item), TRAJ, snapshot={}, environment_class=FakeEnvironment)
    verdict = report.verdicts[0]
    assert verdict.passed is None and verdict.skipped_reason == "live-only needs the live world"


async def test_state_items_without_any_state_are_skipped():
    for kwargs in ({}, {"snapshot": {"orders": 2}}, {"environment_class": FakeEnvironment}):
        report = await score_episode(_task(STATE), TRAJ, **kwargs)
        assert report.verdicts[0].passed is None
        assert report.verdicts[0].skipped_reason == "no environment state available"


async def test_a_broken_check_fails_its_item_with_the_error_and_the_others_are_scored():
    env = FakeEnvironment()
    await env.reset(_task())
    broken = _item({"type": "state", "query": "boom", "equals": 1}, id="broken")
    fine = _item({"type": "called", "tool": "get_order"}, id="fine")
    report = await score_episode(_task(broken, fine), TRAJ, environment=env)
    assert report.verdicts[0].passed is False
    assert report.verdicts[0].evidence == {"error": "RuntimeError: the check broke"}
    assert report.verdicts[1].passed is True and report.score == 0.5


# --- scoring -------------------------------------------------------------------------


async def test_score_is_the_weighted_fraction_of_checked_items():
    task = _task(
        _item({"type": "called", "tool": "get_order"}, id="a", weight=3),
        _item({"type": "called", "tool": "nope"}, id="b", weight=1, required=False),
        _item({"type": "judge", "rubric": "polite"}, id="c", weight=100),  # skipped
    )
    report = await score_episode(task, TRAJ)
    assert report.score == 0.75  # 3 / (3 + 1): the skipped item counts neither way
    assert report.success is True  # the only failure is not required
    assert [v.passed for v in report.verdicts] == [True, False, None]
    assert report.summary() == "1/2 items passed, 1 skipped; score 0.750; success (failed: b)"


async def test_a_failed_required_item_means_failure_whatever_the_score():
    task = _task(
        _item({"type": "called", "tool": "get_order"}, id="a", weight=9),
        _item({"type": "called", "tool": "nope"}, id="b", weight=1),
    )
    report = await score_episode(task, TRAJ)
    assert report.score == 0.9 and report.success is False
    assert report.summary().endswith("failure (failed: b)")


async def test_a_skipped_required_item_does_not_decide_success():
    task = _task(
        _item({"type": "called", "tool": "get_order"}, id="a"),
        _item({"type": "judge", "rubric": "polite"}, id="j", required=True),
    )
    report = await score_episode(task, TRAJ)
    assert report.success is True and report.score == 1.0


@pytest.mark.parametrize(
    ("items", "summary"),
    [
        ([], "nothing to check (empty checklist); score 1.000; success"),
        (
            [_item({"type": "judge", "rubric": "polite"}, id="j")],
            "nothing to check (all 1 items skipped); score 1.000; success",
        ),
    ],
)
async def test_nothing_to_check_scores_one_and_succeeds(items, summary):
    report = await score_episode(_task(*items), TRAJ)
    assert (report.score, report.success, report.summary()) == (1.0, True, summary)


async def test_zero_weight_items_decide_success_and_an_all_zero_score_is_all_or_nothing():
    good = _item({"type": "called", "tool": "get_order"}, id="a", weight=0)
    bad = _item({"type": "called", "tool": "nope"}, id="b", weight=0)
    assert (await score_episode(_task(good), TRAJ)).score == 1.0
    report = await score_episode(_task(good, bad), TRAJ)
    assert report.score == 0.0 and report.success is False


async def test_verdicts_keep_checklist_order_and_become_store_rows():
    task = _task(
        _item({"type": "max_steps", "tool_calls": 1}, id="z", description="few calls"),
        _item({"type": "called", "tool": "get_order"}, id="a", required=False, weight=2),
    )
    report = await score_episode(task, TRAJ)
    assert isinstance(report, ScoreReport)
    assert report.verdicts[0].as_row() == {
        "item_id": "z",
        "description": "few calls",
        "kind": "max_steps",
        "passed": False,
        "weight": 1.0,
        "required": True,
        "evidence": {
            "tool_calls": 4,
            "model_calls": 4,
            "limits": {"tool_calls": 1, "model_calls": None},
        },
        "skipped_reason": None,
    }
    assert report.verdicts[1].item_id == "a" and report.verdicts[1].weight == 2


# --- trajectories from stored events -------------------------------------------------


def test_trajectory_from_events_sorts_by_seq_and_leaves_out_submit_answer():
    events = [
        {"seq": 4, "kind": "tool_call", "name": "submit_answer", "payload": {"ok": True}},
        {
            "seq": 3,
            "kind": "tool_call",
            "name": "refund_order",
            "payload": {
                "arguments": None,
                "arguments_raw": "{bad",
                "ok": False,
                "error_kind": "invalid_arguments",
                "content": "invalid JSON",
            },
        },
        {
            "seq": 1,
            "kind": "tool_call",
            "name": "get_order",
            "payload": json.dumps({"arguments": {"order_id": 1}, "ok": True, "content": "{}"}),
        },
        {"seq": 0, "kind": "model_call", "name": "plan", "payload": {}},
        {"seq": 2, "kind": "model_call", "name": "execute", "payload": {}},
        {"seq": 5, "kind": "node", "name": "executor", "payload": {}},
    ]
    trajectory = trajectory_from_events(events, "done")
    assert trajectory.tools_used == [
        ToolCallRecord("get_order", {"order_id": 1}, True, None, "{}", seq=1),
        ToolCallRecord(
            "refund_order",
            None,
            False,
            "invalid_arguments",
            "invalid JSON",
            arguments_raw="{bad",
            seq=3,
        ),
    ]
    # the submit_answer call is recorded, but it is the answer, not a tool use
    assert [c.name for c in trajectory.tool_calls] == [
        "get_order",
        "refund_order",
        "submit_answer",
    ]
    assert trajectory.n_model_calls == 2 and trajectory.answer == "done"


async def test_a_stored_trajectory_scores_like_the_live_one():
    events = [
        {
            "seq": i,
            "kind": "tool_call",
            "name": c.name,
            "payload": {"arguments": c.arguments, "ok": c.ok, "error_kind": c.error_kind},
        }
        for i, c in enumerate(TRAJ.tool_calls)
    ] + [
        {"seq": 10 + i, "kind": "model_call", "name": "execute"} for i in range(TRAJ.n_model_calls)
    ]
    task = _task(
        _item({"type": "called", "tool": "refund_order", "args": {"amount": 5}}, id="a"),
        _item({"type": "not_called", "tool": "cancel_order"}, id="b"),
        _item({"type": "max_steps", "tool_calls": 4, "model_calls": 4}, id="c"),
    )
    live = await score_episode(task, TRAJ)
    stored = await score_episode(task, trajectory_from_events(events, TRAJ.answer))
    assert [v.passed for v in stored.verdicts] == [v.passed for v in live.verdicts]
    assert [v.passed for v in live.verdicts] == [True, False, True]
