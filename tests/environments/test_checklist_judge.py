"""Judge items go to the judge model with the whole episode, pass or fail on its JSON
reply, and are skipped (never failed) with the reason when no model can judge."""

from __future__ import annotations

import pytest

from sandlot.agents.models.base import ModelError
from sandlot.environments.checklist import ToolCallRecord, Trajectory, score_episode
from sandlot.environments.checklist_judge import parse_judge_reply
from sandlot.environments.tasks import Task
from sandlot.environments.trajectory import ModelCallRecord
from tests.environments.fakes import FakeJudge

TASK = Task.model_validate(
    {
        "id": "t",
        "environment": "store",
        "instruction": "Refund order 1001.",
        "checklist": [{"id": "j", "check": {"type": "judge", "rubric": "mentions the refund"}}],
    }
)
TRAJ = Trajectory(
    tool_calls=[
        ToolCallRecord("get_order", {"order_id": 1001}, True, content='{"total": 5}'),
        ToolCallRecord("refund_order", {"order_id": 1001}, False, "tool_error", "x" * 1000),
    ],
    model_calls=[ModelCallRecord(purpose="execute") for _ in range(3)],
    answer="Refunded $5.00.",
)


@pytest.mark.parametrize(
    ("reply", "passed", "reason"),
    [
        ('{"passed": true, "reason": "it does"}', True, "it does"),
        ('{"passed": false, "reason": "it does not"}', False, "it does not"),
        ('```json\n{"passed": true, "reason": "fenced"}\n```', True, "fenced"),
        ('Verdict:\n{"passed": false}\nThat is all.', False, None),
    ],
)
async def test_the_judges_json_decides_the_item(reply, passed, reason):
    judge = FakeJudge(reply)
    verdict = (await score_episode(TASK, TRAJ, judge=judge)).verdicts[0]
    assert verdict.passed is passed
    assert verdict.evidence == {
        "reason": reason,
        "judge": "fake-judge",
        "rubric": "mentions the refund",
    }


async def test_the_judge_sees_instruction_calls_answer_and_rubric():
    judge = FakeJudge('{"passed": true, "reason": "ok"}')
    await score_episode(TASK, TRAJ, judge=judge)
    [request] = judge.requests
    assert request.purpose == "judge" and request.task is TASK
    system, user = request.messages
    assert system["role"] == "system" and "JSON" in system["content"]
    text = user["content"]
    assert user["role"] == "user"
    for needle in (
        "Refund order 1001.",
        'get_order({"order_id": 1001}) -> ok: {"total": 5}',
        "refund_order",
        "error (tool_error)",
        "Refunded $5.00.",
        "mentions the refund",
    ):
        assert needle in text
    assert "x" * 301 not in text  # long results are cut short


def _raise(exc: Exception):
    def reply(request):
        raise exc

    return reply


@pytest.mark.parametrize(
    ("judge", "reason"),
    [
        (None, "no judge model configured"),
        (FakeJudge("sure, looks fine!"), "not the JSON asked for (no JSON object found)"),
        (FakeJudge('{"passed": "yes"}'), 'expected an object with a boolean "passed"'),
        (FakeJudge("[true]"), 'expected an object with a boolean "passed"'),
        (FakeJudge(_raise(ModelError("HTTP 503"))), "could not judge: HTTP 503"),
        (FakeJudge(_raise(NotImplementedError("no judging"))), "could not judge: no judging"),
    ],
)
async def test_when_no_model_can_judge_the_item_is_skipped_with_the_reason(judge, reason):
    report = await score_episode(TASK, TRAJ, judge=judge)
    verdict = report.verdicts[0]
    assert verdict.passed is None and reason in verdict.skipped_reason
    assert report.success is True and report.score == 1.0  # nothing else to check


async def test_an_unexpected_judge_crash_fails_the_item_with_the_error():
    report = await score_episode(TASK, TRAJ, judge=FakeJudge(_raise(KeyError("boom"))))
    verdict = report.verdicts[0]
    assert verdict.passed is False and verdict.evidence == {"error": "KeyError: 'boom'"}


def test_parse_judge_reply_prefers_the_fenced_block():
    reply = 'I think {"passed": false}\n```json\n{"passed": true, "reason": "r"}\n```'
    assert parse_judge_reply(reply) == (True, "r")
