"""The null model answers nothing, and an episode of it earns nothing on the shipped tasks."""

from __future__ import annotations

from pathlib import Path

import pytest

from sandlot.agents.graph.runtime import AgentConfig
from sandlot.agents.models import ModelRequest, NullModel, make_model
from sandlot.agents.running.runner import run_episode
from sandlot.environments.checklist import NO_CREDIT
from sandlot.environments.loader import load_tasks

STORE = load_tasks([Path(__file__).resolve().parents[2] / "examples" / "tasks" / "store"])


@pytest.mark.parametrize("purpose", ["plan", "execute", "judge"])
async def test_it_replies_with_no_text_and_no_tool_call(purpose):
    response = await NullModel().complete(
        ModelRequest(messages=[{"role": "user", "content": "Refund order 1001."}], purpose=purpose)
    )
    assert (response.content, response.tool_calls, response.model) == ("", [], "null")
    assert response.usage.total_tokens == 0


def test_it_cannot_say_how_many_calls_it_needs():
    assert make_model("null").model_calls_needed(STORE[0], "plan-execute") is None


@pytest.mark.parametrize("agent", ["plan-execute", "single"])
async def test_an_episode_of_it_spends_the_budget_and_earns_nothing(agent):
    task = next(t for t in STORE if t.id == "store-orders-002")  # has not_called and state items
    config = AgentConfig(agent=agent, max_model_calls=6)
    result = await run_episode(task, model="null", agent=config)
    assert result.outcome == "budget" and not result.success
    assert result.model_calls == 6 and result.trajectory.tool_calls == []
    assert result.answer is None and result.score == 0.0
    withheld = [v.item_id for v in result.verdicts if (v.evidence or {}).get("no_credit")]
    assert "not-whole" in withheld  # the not_called trap item would have passed
    assert all(
        v.evidence["no_credit"] == NO_CREDIT for v in result.verdicts if v.item_id in withheld
    )
