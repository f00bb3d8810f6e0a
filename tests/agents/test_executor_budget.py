"""Per-episode token and cost budgets: once the agent's model calls have used them, the
episode ends with ``budget`` before its next model call, whichever agent runs it (and in
parallel branches); the CLI's --max-episode-tokens and --max-episode-cost set them and
the run config records them."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from sandlot.agents.graph.runtime import AgentConfig
from sandlot.agents.models import Price, ScriptedModel
from sandlot.agents.running.runner import run_episode
from sandlot.cli import app
from sandlot.environments.loader import load_tasks
from sandlot.traces.store import TraceStore

TASK = """
environment: store
tasks:
  - id: store-budget
    instruction: "Look up order 1004."
    checklist:
      - {id: looked, description: "Looked it up", check: {type: called, tool: get_order}}
"""


def _task(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(TASK)
    return load_tasks([path])[0]


def _looping(request):
    """Never answers: plans one step, then looks the order up again and again."""
    if request.purpose == "plan":
        return {"content": '{"steps": ["look it up"]}', "usage": _USAGE}
    return {"tool": "get_order", "args": {"order_id": 1004}, "usage": _USAGE}


_USAGE = {"prompt_tokens": 900, "completion_tokens": 100}


@pytest.mark.parametrize("agent", ["single", "plan-execute"])
async def test_the_token_budget_ends_the_episode_before_the_next_call(tmp_path, agent):
    config = AgentConfig(agent=agent, max_episode_tokens=2500, max_calls_per_step=20)
    result = await run_episode(_task(tmp_path), model=ScriptedModel(_looping), agent=config)
    assert result.trajectory.ended == "budget"
    assert result.trajectory.error == "token budget spent: 3000 of 2500 tokens"
    assert result.model_calls == 3 and result.tokens == 3000


async def test_the_cost_budget_counts_the_models_price(tmp_path):
    model = ScriptedModel(_looping)
    model.price = Price(input=1000.0, output=1000.0)  # $1 per call of 1,000 tokens
    config = AgentConfig(agent="single", max_episode_cost=2.0)
    result = await run_episode(_task(tmp_path), model=model, agent=config)
    assert result.trajectory.ended == "budget" and result.model_calls == 2
    assert result.trajectory.error == "cost budget spent: $2.000000 of $2"


async def test_parallel_branches_stop_at_the_token_budget(tmp_path):
    def script(request):
        if request.purpose == "plan":
            steps = '{"steps": [{"text": "a", "after": []}, {"text": "b", "after": []}]}'
            return {"content": steps, "usage": _USAGE}
        return _looping(request)

    config = AgentConfig(max_episode_tokens=2500, parallel_steps=True, max_calls_per_step=20)
    result = await run_episode(_task(tmp_path), model=ScriptedModel(script), agent=config)
    assert result.trajectory.ended == "budget"
    assert "token budget spent" in (result.trajectory.error or "")
    assert result.model_calls < 8  # not each branch's whole max_calls_per_step


def test_budgets_must_be_positive():
    with pytest.raises(ValueError, match="max_episode_tokens"):
        AgentConfig(max_episode_tokens=0)
    with pytest.raises(ValueError, match="max_episode_cost"):
        AgentConfig(max_episode_cost=0.0)


def test_the_cli_sets_and_records_the_budgets(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(TASK)
    script = tmp_path / "script.py"
    script.write_text("from tests.agents.test_executor_budget import _looping\nMODEL = _looping\n")
    db = tmp_path / "t.db"
    args = ["run", str(path), "--db", str(db), "--agent", "single", "-q"]
    model = ["--model", f"scripted:{script}:MODEL"]
    out = CliRunner().invoke(app, [*args, *model, "--max-episode-tokens", "1500"])
    assert out.exit_code == 0, out.output
    with TraceStore(db, readonly=True) as store:
        [episode] = store.episodes()
        config = store.runs()[0]["config"]
    assert episode["end_reason"] == "budget" and episode["model_calls"] == 2
    assert config["agent"]["max_episode_tokens"] == 1500
    out = CliRunner().invoke(app, [*args, "--max-episode-cost", "0"])
    assert out.exit_code == 2 and "--max-episode-cost" in out.output
