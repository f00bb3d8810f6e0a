"""End to end on the store world: the oracle passes every task through the graph (both
agents), an OpenAI-compatible model runs through a local server, and keys stay out of
the trace."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandlot.agents.models import OpenAIModel
from sandlot.agents.running.runner import run
from sandlot.environments.loader import load_tasks
from sandlot.traces.store import TraceStore
from tests.agents.fake_openai import text_reply, tool_reply

ROOT = Path(__file__).resolve().parents[2]
STORE_TASKS = ROOT / "examples" / "tasks" / "store"


@pytest.fixture(scope="module")
def store_tasks():
    return load_tasks([STORE_TASKS])


@pytest.mark.parametrize("agent", ["plan-execute", "single"])
async def test_oracle_passes_every_store_task(store_tasks, agent, tmp_path):
    assert len(store_tasks) >= 30
    result = await run(
        store_tasks, model="oracle", agent=agent, db=tmp_path / "t.db", concurrency=4
    )
    failed = {
        e.task_id: e.error or [v.item_id for v in e.verdicts if v.passed is False]
        for e in result.episodes
        if not e.success
    }
    assert not failed, failed
    summary = result.summary()
    assert summary["success_rate"] == 1.0 and summary["errors"] == 0


async def test_retrieval_finds_the_needed_tool_for_oracle_steps(store_tasks, tmp_path):
    db = tmp_path / "t.db"
    await run(store_tasks, model="oracle", db=db)
    with TraceStore(db) as store:
        hits = []
        for episode in store.episodes():
            for event in store.events(episode["id"], kinds=["retrieval"]):
                if event["payload"]["hit"] is not None:
                    hits.append(event["payload"]["hit"])
    assert hits and sum(hits) / len(hits) >= 0.9


async def test_openai_model_runs_an_episode_and_its_key_never_reaches_the_trace(
    store_tasks, fake_openai, tmp_path
):
    secret = "sk-test-0123456789abcdef-SECRET"
    task = next(t for t in store_tasks if t.reference and len(t.reference.calls) == 1)
    call = task.reference.calls[0]
    fake_openai.push(
        text_reply(json.dumps({"steps": [f"use {call.tool}", "answer"]})),
        tool_reply({"name": call.tool, "arguments": call.args}),
        text_reply("done"),
        tool_reply({"name": "submit_answer", "arguments": {"answer": task.reference.answer}}),
    )
    model = OpenAIModel("fake-model", base_url=fake_openai.base_url, api_key=secret)
    db = tmp_path / "t.db"
    result = await run([task], model=model, db=db, config={"note": f"key={secret}"})
    episode = result.episodes[0]
    assert episode.status == "done", episode.error
    assert episode.answer == task.reference.answer
    assert episode.prompt_tokens > 0 and episode.completion_tokens > 0
    # the server saw the key (as a bearer token) and the tool schemas
    assert all(r.headers.get("authorization") == f"Bearer {secret}" for r in fake_openai.requests)
    assert any(call.tool in json.dumps(r.body.get("tools", [])) for r in fake_openai.requests)
    # ... and the trace did not
    for path in tmp_path.iterdir():
        assert secret.encode() not in path.read_bytes(), f"key leaked into {path.name}"
