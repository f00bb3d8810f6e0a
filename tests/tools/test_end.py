"""A tool can end the episode (it raises EndEpisode, as the store's transfer to a human
agent does): the episode ends with end reason ``tool_ended`` and no further model call,
nothing after the tool in the same reply runs, and the checklist decides the outcome."""

from __future__ import annotations

import json

import pytest

from sandlot.agents.models import ScriptedModel
from sandlot.agents.running.runner import run, run_episode
from sandlot.environments.base import make_environment
from sandlot.environments.tasks import Task
from sandlot.environments.trajectory import decide_outcome
from sandlot.tools import ToolCall, Toolset, invoke_tool, tool
from sandlot.tools.end import EndEpisode, ends_episode
from sandlot.traces.store import TraceStore
from tests.agents.conftest import notes_task

HANDED_OVER = "Handed over to a person."


@tool
def hand_over(reason: str) -> str:
    """Hand the conversation to a person; this ends it.

    Args:
        reason: Why.
    """
    raise EndEpisode(HANDED_OVER)


@tool
async def hand_over_later(reason: str) -> str:
    """The same, as an async tool.

    Args:
        reason: Why.
    """
    raise EndEpisode(f"later: {reason}")


@tool
def carry_on(text: str) -> str:
    """An ordinary tool: the episode goes on.

    Args:
        text: Anything.
    """
    return text


EXTRA = {"extra_tools": [hand_over]}
STATE_ONLY = [{"id": "noted", "check": {"type": "state", "contains": "buy milk"}}]
NOTE = {"tool": "add_note", "args": {"text": "buy milk"}}
HAND_OVER = {"tool": "hand_over", "args": {"reason": "asked for a person"}}
NEVER = "this reply must never be asked for"


def _call(name: str, **args: object) -> dict[str, str]:
    return {"id": f"c-{name}", "name": name, "arguments": json.dumps(args)}


@pytest.mark.parametrize(
    ("ended", "passed", "outcome"),
    [
        ("tool_ended", True, "passed"),
        ("tool_ended", False, "failed"),
        ("tool_ended", None, "failed"),
    ],
)
def test_an_episode_a_tool_ended_is_judged_by_its_checklist(ended, passed, outcome):
    assert decide_outcome(ended, passed) == outcome


async def test_a_tool_that_ends_the_episode_succeeds_and_says_so():
    tools = Toolset("t", [hand_over, hand_over_later, carry_on])
    for name, message in [("hand_over", HANDED_OVER), ("hand_over_later", "later: why")]:
        outcome = await invoke_tool(tools, ToolCall("1", name, '{"reason": "why"}'))
        assert outcome.ok and outcome.error_kind is None and outcome.content == message
        assert ends_episode(outcome) == message
    ordinary = await invoke_tool(tools, ToolCall("2", "carry_on", '{"text": "hi"}'))
    assert ordinary.ok and ends_episode(ordinary) is None


@pytest.mark.parametrize("agent", ["plan-execute", "single"])
async def test_the_episode_ends_with_the_tool_and_no_further_model_call(agent):
    task = notes_task(checklist=STATE_ONLY)
    model = ScriptedModel([NOTE, HAND_OVER, NEVER], plan=["add the note", "hand over", "answer"])
    result = await run_episode(task, model=model, agent=agent, env_options=EXTRA)
    assert result.end_reason == "tool_ended" and result.outcome == "passed"
    assert result.success and result.error is None and result.answer is None
    executes = [r for r in model.requests if r.purpose == "execute"]
    assert len(executes) == 2  # the note, the hand-over: nothing after it
    assert [c.name for c in result.trajectory.tool_calls] == ["add_note", "hand_over"]
    assert result.trajectory.tool_calls[-1].content == HANDED_OVER


async def test_an_episode_a_tool_ended_fails_when_its_checklist_does():
    task = notes_task(checklist=STATE_ONLY)
    model = ScriptedModel([HAND_OVER, NEVER], plan=["hand over"])
    result = await run_episode(task, model=model, env_options=EXTRA)
    assert result.end_reason == "tool_ended" and result.outcome == "failed"
    assert len(model.requests) == 2  # the plan and the hand-over


async def test_calls_after_the_ending_tool_in_the_same_reply_are_answered_not_run():
    task = notes_task(checklist=STATE_ONLY)
    batch = {
        "tool_calls": [
            _call("hand_over", reason="asked for a person"),
            _call("add_note", text="buy milk"),
            _call("submit_answer", answer="Done."),
        ]
    }
    model = ScriptedModel([batch, NEVER])
    result = await run_episode(task, model=model, agent="single", env_options=EXTRA)
    assert result.end_reason == "tool_ended" and result.outcome == "failed"  # no note added
    assert [c.name for c in result.trajectory.tool_calls] == ["hand_over"]
    assert result.answer is None and len(model.requests) == 1


async def test_the_trace_records_the_end_and_which_call_made_it(tmp_path):
    task = notes_task(checklist=STATE_ONLY)
    model = ScriptedModel([NOTE, HAND_OVER], plan=["add the note", "hand over"])
    db = tmp_path / "t.db"
    result = await run([task], model=model, db=db, env_options=EXTRA)
    episode_id = result.episodes[0].episode_id
    with TraceStore(db) as store:
        row = store.episode(episode_id)
        calls = store.events(episode_id, kinds=["tool_call"])
        errors = store.events(episode_id, kinds=["error"])
    assert row["end_reason"] == "tool_ended" and row["outcome"] == "passed"
    assert [c["payload"].get("ends_episode") for c in calls] == [None, HANDED_OVER]
    assert errors == []  # ending by a tool is not an early end


def _store_task() -> Task:
    return Task.model_validate(
        {
            "id": "store-transfer",
            "environment": "store",
            "instruction": "I want to talk to a person.",
            "checklist": [
                {"id": "moved", "check": {"type": "called", "tool": "transfer_to_human_agent"}}
            ],
        }
    )


async def test_the_store_transfer_ends_the_episode_once_it_has_a_summary():
    env = make_environment("store")
    assert "transfer_to_human_agent" in env.toolset.names()
    blank = {"tool": "transfer_to_human_agent", "args": {"summary": "  "}}
    summary = {
        "tool": "transfer_to_human_agent",
        "args": {"summary": "Customer 2 asks for a person."},
    }
    model = ScriptedModel([blank, summary, NEVER])
    result = await run_episode(_store_task(), model=model, agent="single")
    first, second = result.trajectory.tool_calls
    assert first.error_kind == "tool_error" and "summary is empty" in first.content
    assert second.ok and "Customer 2 asks for a person." in second.content
    assert result.end_reason == "tool_ended" and result.outcome == "passed"
    assert len(model.requests) == 2


async def test_an_answer_submitted_before_the_ending_tool_is_kept():
    task = notes_task(checklist=STATE_ONLY, initial_state={"notes": ["buy milk"]})
    batch = {
        "tool_calls": [
            _call("submit_answer", answer="A person will call you."),
            _call("hand_over", reason="asked for a person"),
        ]
    }
    model = ScriptedModel([batch, NEVER])
    result = await run_episode(task, model=model, agent="single", env_options=EXTRA)
    assert result.end_reason == "tool_ended" and result.outcome == "passed"
    assert result.answer == "A person will call you." and len(model.requests) == 1
