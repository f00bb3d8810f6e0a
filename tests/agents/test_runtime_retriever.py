"""The retriever is chosen per run (``AgentConfig.retriever``), recorded by name, and
rebuilt from the trace by a replay or a resume; a step nothing matched is offered no
tool, and its message says so."""

from __future__ import annotations

import pytest

from sandlot.agents.after.replay import replay_episode
from sandlot.agents.graph.runtime import AgentConfig
from sandlot.agents.models import ScriptedModel
from sandlot.agents.running.runner import run, stored_agent_config
from sandlot.errors import UserError
from sandlot.registry import RETRIEVERS
from sandlot.traces.store import TraceStore
from tests.agents.conftest import notes_task
from tests.retrieval.custom import first_letter

CUSTOM = "tests.retrieval.custom:first_letter"


def _model(plan: list[str]) -> ScriptedModel:
    return ScriptedModel(
        [
            {"tool": "add_note", "args": {"text": "buy milk"}},
            "Added.",
            {"tool": "submit_answer", "args": {"answer": "There is 1 note."}},
        ],
        plan=plan,
    )


def _recorded(db, run_id: str) -> tuple[dict, list[dict]]:
    with TraceStore(db) as store:
        config = store.run(run_id)["config"]
        retrievals = [
            e for ep in store.episodes(run_id) for e in store.events(ep["id"], kinds=["retrieval"])
        ]
    return config, retrievals


@pytest.mark.parametrize("spec", [CUSTOM, first_letter], ids=["import path", "factory"])
async def test_a_run_uses_the_chosen_retriever_and_records_it(tmp_path, spec):
    db = tmp_path / "t.db"
    result = await run(
        [notes_task()],
        model=_model(["add the note", "answer"]),
        db=db,
        agent=AgentConfig(retriever=spec),
    )
    assert result.episodes[0].success, result.episodes[0].error
    config, retrievals = _recorded(db, result.run_id)
    assert config["retriever"] == CUSTOM == config["agent"]["retriever"]
    assert [e["name"] for e in retrievals] == ["first-letter", "first-letter"]
    assert retrievals[0]["payload"]["offered"] == ["add_note"]  # "a": add_note only


async def test_a_retriever_registered_in_code_is_chosen_by_its_name(tmp_path):
    RETRIEVERS.register("first-letter", first_letter)
    try:
        result = await run(
            [notes_task()],
            model=_model(["add the note", "answer"]),
            db=tmp_path / "t.db",
            agent=AgentConfig(retriever="first-letter"),
        )
    finally:
        RETRIEVERS.unregister("first-letter")
    config, retrievals = _recorded(tmp_path / "t.db", result.run_id)
    assert config["retriever"] == "first-letter"
    assert {e["name"] for e in retrievals} == {"first-letter"}


async def test_bm25_is_the_default_and_names_its_events(tmp_path):
    result = await run(
        [notes_task()], model=_model(["add the note", "answer"]), db=tmp_path / "t.db"
    )
    config, retrievals = _recorded(tmp_path / "t.db", result.run_id)
    assert config["retriever"] == "bm25"
    assert {e["name"] for e in retrievals} == {"bm25"}


async def test_a_replay_rebuilds_the_recorded_retriever(tmp_path):
    db = tmp_path / "t.db"
    first = await run(
        [notes_task()],
        model=_model(["add the note", "answer"]),
        db=db,
        agent=AgentConfig(retriever=CUSTOM),
    )
    report = await replay_episode(db, first.episodes[0].episode_id)
    assert report.matched, report.divergence
    with TraceStore(db) as store:
        replay_run = store.episode(report.replay.episode_id)["run_id"]
    config, retrievals = _recorded(db, replay_run)
    assert config["retriever"] == CUSTOM
    assert {e["name"] for e in retrievals} == {"first-letter"}


def test_the_stored_retriever_comes_back_and_old_traces_used_bm25():
    row = {"agent": "plan-execute", "config": {"agent": {"k": 3, "retriever": "hybrid"}}}
    assert stored_agent_config(row) == AgentConfig(k=3, retriever="hybrid")
    row = {"agent": "plan-execute", "config": {"agent": {"k": 3}, "retriever": "embedding"}}
    assert stored_agent_config(row).retriever == "embedding"
    assert stored_agent_config({"config": {"agent": {"k": 3}}}).retriever == "bm25"


async def test_a_step_nothing_matched_is_offered_no_tool_and_told_so(tmp_path):
    db = tmp_path / "t.db"
    model = ScriptedModel(
        [{"tool": "submit_answer", "args": {"answer": "done"}}], plan=["xylophone quux"]
    )
    result = await run([notes_task()], model=model, db=db)
    _, retrievals = _recorded(db, result.run_id)
    payload = retrievals[0]["payload"]
    assert payload["matched"] is False
    assert payload["offered"] == [] and payload["ranked"] == []
    execute = next(r for r in model.requests if r.purpose == "execute")
    assert [t["function"]["name"] for t in execute.tools] == ["submit_answer"]
    step = [m["content"] for m in execute.messages if m["role"] == "user"][-1]
    assert step.startswith("Step 1 of 1: xylophone quux") and "No tool matched" in step


async def test_a_step_that_matched_says_nothing_more(tmp_path):
    model = _model(["add the note", "answer"])
    result = await run([notes_task()], model=model, db=tmp_path / "t.db")
    _, retrievals = _recorded(tmp_path / "t.db", result.run_id)
    assert retrievals[0]["payload"]["matched"] is True
    execute = next(r for r in model.requests if r.purpose == "execute")
    step = [m["content"] for m in execute.messages if m["role"] == "user"][-1]
    assert step == "Step 1 of 2: add the note"


async def test_an_unknown_retriever_fails_before_anything_is_recorded(tmp_path):
    db = tmp_path / "t.db"
    with pytest.raises(UserError, match="unknown retriever 'nope'; known: bm25"):
        await run([notes_task()], model="oracle", db=db, agent=AgentConfig(retriever="nope"))
    assert not db.exists()
