"""The plan-retrieve-execute graph and the single-agent baseline, driven by scripted models."""

from __future__ import annotations

import json

import pytest

from sandlot.agents.graph.runtime import AgentConfig
from sandlot.agents.models import ScriptedModel
from sandlot.agents.running.runner import run, run_episode
from tests.agents.conftest import notes_task


async def test_plan_execute_episode_succeeds_and_scores(task):
    model = ScriptedModel(
        [
            {"tool": "add_note", "args": {"text": "buy milk"}},
            "Added the note.",
            {"tool": "list_notes", "args": {}},
            {"tool": "submit_answer", "args": {"answer": "There is 1 note."}},
        ],
        plan=["Add a note with add_note", "Count the notes with list_notes and answer"],
    )
    result = await run_episode(task, model=model)
    assert result.status == "done", result.error
    assert result.answer == "There is 1 note."
    assert result.success is True and result.score == 1.0
    assert result.model_calls == 5  # the planner call and four executor calls
    assert result.tool_calls == 2
    assert result.steps == 2


async def test_planner_model_is_called_and_its_steps_are_followed(task):
    def script(request):
        if request.purpose == "plan":
            return json.dumps({"steps": ["add the note", "answer"]})
        if request.step_index == 0:
            if request.metadata["step_calls"] == 0:
                return {"tool": "add_note", "args": {"text": "buy milk"}}
            return "done"
        return {"tool": "submit_answer", "args": {"answer": "1 note"}}

    model = ScriptedModel(script)
    result = await run_episode(task, model=model)
    purposes = [r.purpose for r in model.requests]
    assert purposes == ["plan", "execute", "execute", "execute"]
    assert result.success is True
    # the step text reached the executor as a user message
    step_msgs = [m["content"] for m in model.requests[1].messages if m["role"] == "user"]
    assert any("Step 1 of 2: add the note" in m for m in step_msgs)


async def test_failed_step_triggers_a_replan():
    calls = {"plan": 0}

    def script(request):
        if request.purpose == "plan":
            calls["plan"] += 1
            if calls["plan"] == 1:
                return json.dumps({"steps": ["delete the notebook", "answer"]})
            assert request.metadata["replan"] is True
            assert request.metadata["failed"] == "delete the notebook"
            return json.dumps({"steps": ["add the note instead", "answer"]})
        text = request.metadata["plan"][request.step_index]
        if text == "delete the notebook":
            return "STEP FAILED: the notebook is not empty"
        if text == "add the note instead":
            if request.metadata["step_calls"] == 0:
                return {"tool": "add_note", "args": {"text": "buy milk"}}
            return "added"
        return {"tool": "submit_answer", "args": {"answer": "1 note"}}

    task = notes_task(initial_state={"notes": []})
    model = ScriptedModel(script)
    result = await run_episode(task, model=model)
    assert calls["plan"] == 2
    assert result.success is True


async def test_tool_errors_come_back_to_the_model_and_the_episode_goes_on(task):
    seen: list[str] = []

    def script(request):
        last = request.messages[-1]
        if last["role"] == "tool":
            seen.append(last["content"])
        n = len(seen)
        script_calls = [
            {"tool": "no_such_tool", "args": {}},
            {"tool_calls": [{"id": "c1", "name": "add_note", "arguments": "{not json"}]},
            {"tool": "add_note", "args": {"text": 5}},
            {"tool": "slow_lookup", "args": {"query": "x"}},
            {"tool": "add_note", "args": {"text": "buy milk"}},
            {"tool": "delete_notebook", "args": {"confirm": True}},
            {"tool": "submit_answer", "args": {"answer": "1 note"}},
        ]
        return script_calls[n] if n < len(script_calls) else "stop"

    model = ScriptedModel(script)
    result = await run_episode(task, model=model, agent="single")
    assert result.status == "done"
    assert result.success is True
    assert result.tool_errors == 5
    assert "no_such_tool" in seen[0] and "add_note" in seen[0]  # lists the tools that exist
    assert "JSON" in seen[1] or "json" in seen[1]
    assert "text" in seen[2]
    assert "time" in seen[3].lower()
    assert "not empty" in seen[5]


async def test_model_failure_is_an_error_episode_not_an_exception(task):
    model = ScriptedModel([], plan=["do it"])  # runs out at the first executor call
    result = await run_episode(task, model=model)
    assert result.status == "error"
    assert result.success is False
    assert "ran out" in (result.error or "")


async def test_environment_failure_is_recorded_and_the_run_goes_on(tmp_path):
    good = notes_task("good")
    bad = notes_task("bad", initial_state={"explode": True})
    result = await run([good, bad], model="oracle", db=tmp_path / "t.db", concurrency=2)
    by_task = {e.task_id: e for e in result.episodes}
    assert by_task["good"].success is True
    assert by_task["bad"].status == "error"
    assert "failed to start" in by_task["bad"].error
    from sandlot.traces.store import TraceStore

    with TraceStore(tmp_path / "t.db") as store:
        rows = {e["task_id"]: e for e in store.episodes(result.run_id)}
        assert rows["bad"]["status"] == "error" and "failed to start" in rows["bad"]["error"]
        assert rows["good"]["status"] == "done" and rows["good"]["success"] == 1


async def test_tool_budget_ends_the_episode(task):
    model = ScriptedModel(lambda request: {"tool": "list_notes", "args": {}})
    capped = task.model_copy(update={"max_tool_calls": 3})
    result = await run_episode(capped, model=model, agent="single")
    assert result.tool_calls == 3
    assert result.success is False


async def test_single_agent_offers_every_tool_and_never_plans(task):
    model = ScriptedModel(
        [
            {"tool": "add_note", "args": {"text": "buy milk"}},
            {"tool": "submit_answer", "args": {"answer": "1"}},
        ]
    )
    result = await run_episode(task, model=model, agent="single")
    assert result.success is True
    assert all(r.purpose == "execute" for r in model.requests)
    offered = {t["function"]["name"] for t in model.requests[0].tools}
    assert offered == {"add_note", "list_notes", "delete_notebook", "slow_lookup", "submit_answer"}


async def test_retriever_offers_top_k_and_records_the_hit(task, tmp_path):
    from sandlot.traces.store import TraceStore

    store = TraceStore(tmp_path / "t.db")
    run_id = store.start_run(model="oracle", agent="plan-execute", config={})
    result = await run_episode(
        task, model="oracle", store=store, run_id=run_id, agent=AgentConfig(k=2)
    )
    store.flush()
    retrievals = store.events(result.episode_id, kinds=["retrieval"])
    assert retrievals, "every step records its retrieval"
    first = retrievals[0]["payload"]
    assert len(first["offered"]) == 2
    assert first["needed"] == ["add_note"] and first["hit"] is True
    assert first["offered"][0] == "add_note"
    store.close()


async def test_events_form_a_span_tree(task, tmp_path):
    from sandlot.traces.store import TraceStore

    with TraceStore(tmp_path / "t.db") as store:
        run_id = store.start_run(model="oracle", agent="plan-execute", config={})
        result = await run_episode(task, model="oracle", store=store, run_id=run_id)
        store.flush()
        events = store.events(result.episode_id)
    by_seq = {e["seq"]: e for e in events}
    roots = [e for e in events if e["parent"] is None]
    assert [r["kind"] for r in roots] == ["episode"]
    for e in events:
        if e["parent"] is not None:
            assert e["parent"] in by_seq, f"dangling parent for {e['kind']} {e['name']}"
    kinds = {e["kind"] for e in events}
    assert {
        "episode",
        "node",
        "plan",
        "retrieval",
        "model_call",
        "tool_call",
        "check",
        "answer",
    } <= kinds
    model_call = next(e for e in events if e["kind"] == "model_call" and e["name"] == "execute")
    assert by_seq[model_call["parent"]]["name"] == "executor"
    assert {"messages", "tools", "response", "usage", "latency"} <= set(model_call["payload"])
    tool_call = next(e for e in events if e["kind"] == "tool_call" and e["name"] == "add_note")
    assert tool_call["payload"]["arguments"] == {"text": "buy milk"}
    assert tool_call["duration"] is not None


@pytest.mark.parametrize("agent", ["plan-execute", "single"])
async def test_oracle_passes_its_own_task(task, agent):
    result = await run_episode(task, model="oracle", agent=agent)
    assert result.success is True, [v for v in result.verdicts if not v.passed]
