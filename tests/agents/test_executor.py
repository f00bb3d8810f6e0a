"""How an episode ends: by an answer, by finishing its plan, or cut short (a budget, a
step that failed with no re-plan left, a model timeout) — and a cut-short episode is
never a success, whatever its checklist says."""

from __future__ import annotations

import asyncio
import json

from sandlot.agents.graph.runtime import AgentConfig
from sandlot.agents.models import ScriptedModel
from sandlot.agents.models.base import Model, ModelResponse
from sandlot.agents.running.runner import run, run_episode
from tests.agents.conftest import notes_task

# A checklist the world alone can satisfy: no answer item.
STATE_ONLY = [{"id": "noted", "check": {"type": "state", "contains": "buy milk"}}]


async def test_spending_the_model_call_budget_is_not_a_success():
    task = notes_task(checklist=STATE_ONLY)
    replies = iter([{"tool": "add_note", "args": {"text": "buy milk"}}, *["Working on it..."] * 50])
    model = ScriptedModel(lambda request: next(replies), plan=[f"step {i}" for i in range(9)])
    result = await run_episode(task, model=model, agent=AgentConfig(max_model_calls=3))
    assert result.model_calls == 3 and len(model.requests) == 3  # checked before each call
    assert result.status == "done" and result.success is False
    assert result.score == 1.0  # the checklist still shows how far it got
    assert result.error == "model-call budget spent: 3 of 3"
    assert result.answer is None  # narration on the way is not an answer


async def test_a_step_that_fails_with_no_replan_left_gives_up_without_an_answer():
    task = notes_task(checklist=STATE_ONLY, initial_state={"notes": ["buy milk"]})
    model = ScriptedModel(["STEP FAILED: cannot check the notes"], plan=["check", "answer"])
    result = await run_episode(task, model=model, agent=AgentConfig(max_replans=0))
    assert result.status == "done" and result.success is False and result.answer is None
    assert result.error == "step failed and re-plans ran out: cannot check the notes"
    assert result.outcome == "gave_up" and result.end_reason == "gave_up"


async def test_calls_past_the_tool_budget_in_one_batch_are_answered_not_run():
    task = notes_task(max_tool_calls=2)
    batch = {
        "tool_calls": [
            {"id": f"c{i}", "name": "add_note", "arguments": json.dumps({"text": f"n{i}"})}
            for i in range(5)
        ]
    }
    model = ScriptedModel([batch])
    result = await run_episode(task, model=model, agent="single")
    assert result.tool_calls == 2 and result.success is False
    assert result.error == "tool-call budget spent: 2 of 2"
    assert result.outcome == "budget" and result.end_reason == "budget"


async def test_an_empty_reply_is_answered_and_the_agent_goes_on(task):
    model = ScriptedModel(
        ["", {"tool": "add_note", "args": {"text": "buy milk"}}, "There is 1 note now."],
        plan=["add the note and answer"],
    )
    result = await run_episode(task, model=model)
    assert result.success is True and result.answer == "There is 1 note now."
    executes = [r for r in model.requests if r.purpose == "execute"]
    nudge = executes[1].messages[-1]
    assert nudge["role"] == "user" and "empty" in nudge["content"]


class _Silent(Model):
    name = "silent"

    async def complete(self, request) -> ModelResponse:
        await asyncio.sleep(30)
        raise AssertionError("not reached")


async def test_a_model_slower_than_its_timeout_ends_the_episode_as_an_error(task):
    result = await asyncio.wait_for(
        run_episode(task, model=_Silent(), agent=AgentConfig(model_timeout=0.2)), 10
    )
    assert result.status == "error" and result.success is False
    assert "no answer within the model timeout of 0.2 s" in result.error


async def test_a_failing_progress_callback_does_not_end_the_run(tmp_path):
    tasks = [notes_task(f"n{i}") for i in range(6)]
    seen: list[str] = []

    def on_episode(res) -> None:
        seen.append(res.task_id)
        if len(seen) == 1:
            raise RuntimeError("bug in a progress bar")

    result = await run(tasks, model="oracle", db=tmp_path / "t.db", on_episode=on_episode)
    assert len(result.episodes) == 6 and all(e.success for e in result.episodes)
    assert len(seen) == 6
