"""The judge's calls are the episode's model calls: each recorded as a model_call event
(purpose judge) and counted in the episode's model calls, tokens and cost, never in a
max_steps check; a replay serves the recorded verdict again."""

from __future__ import annotations

import pytest

from sandlot.agents.after.replay import replay_episode
from sandlot.agents.models import Price, ScriptedModel
from sandlot.agents.running.runner import run
from sandlot.environments.loader import load_tasks
from sandlot.traces.store import TraceStore

TASK = """
environment: store
tasks:
  - id: store-judged
    instruction: "Look up order 1004 and say its status."
    checklist:
      - {id: looked, description: "Looked it up", check: {type: called, tool: get_order}}
      - {id: few, description: "Few calls", check: {type: max_steps, model_calls: 2}}
      - {id: polite, description: "Polite", check: {type: judge, rubric: "The answer is polite."}}
"""

AGENT = [
    {
        "tool": "get_order",
        "args": {"order_id": 1004},
        "usage": {"prompt_tokens": 100, "completion_tokens": 10},
    },
    {
        "tool": "submit_answer",
        "args": {"answer": "It has shipped, thank you."},
        "usage": {"prompt_tokens": 200, "completion_tokens": 20},
    },
]
VERDICT = {
    "content": '{"passed": true, "reason": "thanks the user"}',
    "usage": {"prompt_tokens": 1000, "completion_tokens": 50},
}


async def test_judge_calls_are_recorded_and_counted(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(TASK)
    agent, judge = ScriptedModel(list(AGENT)), ScriptedModel([VERDICT], name="the-judge")
    agent.price, judge.price = Price(1.0, 1.0), Price(10.0, 10.0)
    db = tmp_path / "t.db"
    result = await run(load_tasks([path]), model=agent, judge=judge, agent="single", db=db)
    [episode] = result.episodes
    assert episode.outcome == "passed"  # max_steps: 2 agent calls; the judge is not one
    assert episode.model_calls == 3 and episode.tokens == 330 + 1050
    assert episode.cost == pytest.approx((330 * 1.0 + 1050 * 10.0) / 1e6)
    with TraceStore(db, readonly=True) as store:
        calls = store.events(episode.episode_id, kinds=["model_call"])
        row = store.episodes()[0]
    judged = [c for c in calls if c["payload"]["purpose"] == "judge"]
    assert len(judged) == 1 and judged[0]["payload"]["model"] == "the-judge"
    assert judged[0]["payload"]["usage"] == {"prompt_tokens": 1000, "completion_tokens": 50}
    assert row["model_calls"] == 3 and row["cost"] == pytest.approx(episode.cost)
    assert row["prompt_tokens"] == 1300

    report = await replay_episode(db, episode.episode_id)
    assert report.matched, report.divergence


async def test_a_failed_judge_call_is_recorded_and_the_item_skipped(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(TASK)
    db = tmp_path / "t.db"
    judge = ScriptedModel([], name="broken-judge")  # runs out at once
    result = await run(
        load_tasks([path]), model=ScriptedModel(list(AGENT)), judge=judge, agent="single", db=db
    )
    [episode] = result.episodes
    polite = next(v for v in episode.verdicts if v.item_id == "polite")
    assert polite.passed is None and "could not judge" in (polite.skipped_reason or "")
    failed = [m for m in episode.trajectory.model_calls if m.purpose == "judge"]
    assert len(failed) == 1 and "ran out" in (failed[0].error or "")
