"""The retrieval hit and the step hit: judged against what a step needs (the reference
and the calls made), and whether the tools a step called had been offered to it."""

from __future__ import annotations

from typing import Any

from sandlot.agents.graph.executor import step_calls_offered
from sandlot.agents.graph.runtime import AgentConfig, EpisodeRuntime
from sandlot.agents.models import ScriptedModel
from sandlot.agents.running.runner import run_episode
from sandlot.environments.tasks import Task
from sandlot.environments.trajectory import ModelCallRecord, ToolCallRecord
from sandlot.traces.store import TraceStore
from tests.agents.conftest import notes_task

REFERENCE = {
    "calls": [
        {"tool": "get_order", "args": {"order_id": 1}},
        {"tool": "refund_order", "args": {"order_id": 1}},
        {"tool": "get_order", "args": {"order_id": 1}},
    ],
    "answer": "done",
}


def runtime(reference: dict[str, Any] | None = REFERENCE) -> EpisodeRuntime:
    task = Task(id="t", environment="store", instruction="x", reference=reference)
    return EpisodeRuntime(task, None, None, None, AgentConfig(), None)  # type: ignore[arg-type]


def call(name: str, ok: bool = True, **extra: Any) -> ToolCallRecord:
    return ToolCallRecord(name=name, arguments={}, ok=ok, **extra)


def test_the_need_is_the_first_reference_tool_not_yet_called():
    rt = runtime()
    assert rt.needed_tools([]) == ["get_order"]
    assert rt.needed_tools([call("get_order")]) == ["refund_order"]
    assert rt.needed_tools([call("get_order"), call("refund_order")]) == ["get_order"]
    done = [call("get_order"), call("refund_order"), call("get_order")]
    assert rt.needed_tools(done) == []
    assert runtime(None).needed_tools([]) is None


def test_calls_the_reference_does_not_make_failed_calls_and_the_answer_count_for_nothing():
    rt = runtime()
    made = [call("list_orders"), call("get_order", ok=False), call("submit_answer")]
    assert rt.needed_tools(made) == ["get_order"]


def test_a_call_counts_once_wherever_it_was_made():
    rt = runtime()
    # the refund was made first (say in a step that failed and was re-planned): the
    # lookups are what is left, and a repeated lookup crosses off the second one
    assert rt.needed_tools([call("refund_order")]) == ["get_order"]
    assert rt.needed_tools([call("refund_order"), call("get_order")]) == ["get_order"]
    assert rt.needed_tools([call("get_order")] * 3) == ["refund_order"]


def state_with(tool_log: list[ToolCallRecord], model_log: list[ModelCallRecord]) -> Any:
    return {"step": 1, "tool_log": tool_log, "model_log": model_log}


def test_the_step_hit_is_whether_the_steps_successful_calls_were_offered():
    plan = [ModelCallRecord(purpose="plan", seq=1)]
    ok = call("a", step_index=1, seq=5)
    assert step_calls_offered(state_with([ok], plan), []) == (True, [])
    stray = call("b", step_index=1, seq=6, offered=False)
    assert step_calls_offered(state_with([ok], plan), [stray]) == (False, ["b"])
    # failed calls, the answer and other steps' calls are not the step's tools
    others = [
        call("c", ok=False, step_index=1, seq=7, offered=False),
        call("submit_answer", step_index=1, seq=8, offered=False),
        call("d", step_index=0, seq=3, offered=False),
    ]
    assert step_calls_offered(state_with(others, plan), []) == (None, [])


def test_the_step_hit_of_a_replanned_step_leaves_out_the_failed_attempts_calls():
    # step 1 failed after calling a tool it was not offered; the re-plan (a plan model
    # call) gave step 1 a new text and offer, and it called only offered tools
    before = call("b", step_index=1, seq=6, offered=False)
    after = call("a", step_index=1, seq=12)
    plans = [ModelCallRecord(purpose="plan", seq=1), ModelCallRecord(purpose="plan", seq=9)]
    assert step_calls_offered(state_with([before, after], plans), []) == (True, [])
    assert step_calls_offered(state_with([before, after], plans[:1]), []) == (False, ["b"])


async def test_a_step_that_calls_a_tool_it_was_not_offered_records_a_step_miss(tmp_path):
    model = ScriptedModel(
        [
            {"tool": "add_note", "args": {"text": "buy milk"}},
            {"tool": "list_notes", "args": {}},
            "There is 1 note.",
        ],
        plan=["Add a note saying buy milk and count the notes."],
    )
    with TraceStore(tmp_path / "t.db") as store:
        run_id = store.start_run(model="scripted", agent="plan-execute", config={})
        result = await run_episode(
            notes_task(), model=model, store=store, run_id=run_id, agent=AgentConfig(k=1)
        )
        store.flush()
        offered = store.events(result.episode_id, kinds=["retrieval"])[0]["payload"]["offered"]
        nodes = [
            e["payload"]
            for e in store.events(result.episode_id, kinds=["node"])
            if e["name"] == "executor"
        ]
    assert offered == ["add_note"]
    # the calls' executor runs go on with the step; the one that ends it says the hit
    assert [n.get("step_hit") for n in nodes] == [None, None, False]
    assert "step_hit" not in nodes[0] and nodes[-1]["not_offered"] == ["list_notes"]


async def test_the_oracle_records_a_needed_tool_and_a_step_hit(tmp_path):
    with TraceStore(tmp_path / "t.db") as store:
        run_id = store.start_run(model="oracle", agent="plan-execute", config={})
        result = await run_episode(notes_task(), model="oracle", store=store, run_id=run_id)
        store.flush()
        retrievals = [e["payload"] for e in store.events(result.episode_id, kinds=["retrieval"])]
        ends = [
            e["payload"]
            for e in store.events(result.episode_id, kinds=["node"])
            if e["name"] == "executor" and "step_hit" in e["payload"]
        ]
    assert [(r["needed"], r["hit"]) for r in retrievals] == [(["add_note"], True), ([], None)]
    # the oracle's step text describes the need, it does not name the tool
    assert "add_note" not in retrievals[0]["query"]
    assert [e["step_hit"] for e in ends] == [True, None]
