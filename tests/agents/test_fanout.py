"""Parallel steps (``AgentConfig.parallel_steps``) and concurrent tool calls: the plan's
``after``, waves of independent steps run as branches side by side, budgets held across
branches, a failed branch re-planned; a reply's calls to concurrent tools run together.

Concurrency is proven with barriers, never with timing: each tool call waits until all
the calls it should overlap with have started, and a timeout fails the test."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from sandlot.agents.graph.fanout import ready_steps
from sandlot.agents.graph.prompts import PLANNER_PARALLEL, PlannedStep, parse_plan_steps
from sandlot.agents.graph.runtime import AgentConfig
from sandlot.agents.graph.state import PlanStep, merge_plan
from sandlot.agents.models import ScriptedModel
from sandlot.agents.models.base import ModelRequest, ModelResponse
from sandlot.agents.models.oracle import OracleModel
from sandlot.agents.running.runner import run, run_episode
from sandlot.environments.base import Environment, register_environment
from sandlot.environments.tasks import StateCheck, Task
from sandlot.tools import Toolset, tool
from sandlot.tools.calls import ToolCall
from sandlot.traces.store import TraceStore
from tests.agents.conftest import notes_task

ROOT = Path(__file__).resolve().parents[2]
_BARRIER_TIMEOUT = 5.0  # a call left waiting this long means the calls did not overlap


class Barrier:
    """Releases every waiter once ``parties`` have arrived; a waiter that is not released
    within the timeout raises (the calls it waited for never ran at the same time)."""

    def __init__(self, parties: int) -> None:
        self.parties = parties
        self.arrived = 0
        self.released = asyncio.Event()
        self.order: list[str] = []

    async def wait(self, name: str) -> None:
        self.order.append(f"start {name}")
        self.arrived += 1
        if self.arrived >= self.parties:
            self.released.set()
        await asyncio.wait_for(self.released.wait(), _BARRIER_TIMEOUT)
        self.order.append(f"end {name}")


BARRIER: dict[str, Barrier] = {}


@tool(concurrent=True)
async def lookup(key: str) -> str:
    """Look up a value by its key (read-only; calls may overlap).

    Args:
        key: The key to look up.
    """
    await BARRIER["now"].wait(key)
    return f"value of {key}"


@tool
async def record(key: str) -> str:
    """Record a key (calls run one after the other).

    Args:
        key: The key to record.
    """
    BARRIER["now"].order.append(f"start {key}")
    await asyncio.sleep(0)
    BARRIER["now"].order.append(f"end {key}")
    return f"recorded {key}"


@register_environment
class LookupEnvironment(Environment):
    name = "fanout-lookups"
    description = "Read-only lookups whose calls may overlap (tests)."

    @classmethod
    def default_toolset(cls) -> Toolset:
        return Toolset("fanout-lookups", [lookup, record])

    async def reset(self, task: Task) -> None:
        self.task = task
        self.state = {}

    async def check_state(self, check: StateCheck) -> tuple[bool, Any]:
        return True, {}


def lookups_task(**extra: Any) -> Task:
    data: dict[str, Any] = {
        "id": "lookups-1",
        "environment": "fanout-lookups",
        "instruction": "Look up a, b and c, then answer with the three values.",
        "checklist": [
            {"id": "answer", "check": {"type": "answer", "match": "contains", "value": "a"}}
        ],
    }
    data.update(extra)
    return Task.model_validate(data)


THREE_THEN_ANSWER = [
    {"text": "Look up key a", "after": []},
    {"text": "Look up key b", "after": []},
    {"text": "Look up key c", "after": []},
    {"text": "Answer with the values", "after": [0, 1, 2]},
]


def _branch_script(request: ModelRequest) -> ModelResponse | dict[str, Any] | str:
    """Each step looks up its key once, then says it is done; the last step answers."""
    step = request.step_index or 0
    mine = request.messages[-1]
    if step == 3:
        return {"tool": "submit_answer", "args": {"answer": "a, b and c"}}
    if mine.get("role") == "tool":
        return f"Step {step} done."
    return {"tool": "lookup", "args": {"key": "abc"[step]}}


async def _run(task: Task, model: Any, tmp_path: Any, **config: Any) -> tuple[Any, list[dict]]:
    """Run one episode into a trace; its result and its events."""
    db = tmp_path / "t.db"
    ran = await run([task], model=model, agent=AgentConfig(**config), db=db)
    result = ran.episodes[0]
    with TraceStore(db, readonly=True) as store:
        events = store.events(result.episode_id)
    return result, events


# --- the plan's "after" -------------------------------------------------------------


def test_a_plan_step_may_say_which_earlier_steps_it_needs():
    reply = json.dumps(
        {"steps": [{"text": "A", "after": []}, "B", {"text": "C", "after": [0, 1, 7, -1, "x"]}]}
    )
    steps, note = parse_plan_steps(reply)
    assert note is None
    assert steps == [PlannedStep("A", []), PlannedStep("B", None), PlannedStep("C", [0, 1])]


def test_a_step_cannot_wait_for_itself_or_a_later_step():
    steps, _ = parse_plan_steps('{"steps": [{"text": "A", "after": [0, 1]}, "B"]}')
    assert steps[0].after == []


def test_the_steps_whose_needs_are_done_are_ready_together():
    def step(status: str, after: list[int] | None) -> PlanStep:
        s = PlanStep(text="s", status=status, result=None)  # type: ignore[typeddict-item]
        if after is not None:
            s["after"] = after
        return s

    plan = [step("done", []), step("pending", [0]), step("pending", []), step("pending", [1, 2])]
    assert ready_steps(plan) == [1, 2]
    plan = [step("pending", None), step("pending", None)]
    assert ready_steps(plan) == [0]  # a step without "after" needs the one before it


def test_branch_updates_merge_into_the_plan_by_index():
    plan = [PlanStep(text=t, status="active", result=None) for t in "abc"]
    merged = merge_plan(plan, {2: {"status": "done", "result": "C"}})
    merged = merge_plan(merged, {0: {"status": "failed", "result": "A"}})
    assert [s["status"] for s in merged] == ["failed", "active", "done"]
    assert merge_plan(merged, plan) == plan  # a list replaces the plan


async def test_the_planner_is_told_how_to_mark_independent_steps_only_when_asked(task):
    for parallel in (False, True):
        model = ScriptedModel(["Done.", {"tool": "submit_answer", "args": {"answer": "1"}}])
        await run_episode(task, model=model, agent=AgentConfig(parallel_steps=parallel))
        system = model.requests[0].messages[0]["content"]
        assert (PLANNER_PARALLEL in system) is parallel


# --- waves and branches ---------------------------------------------------------------


async def test_a_wave_of_three_independent_steps_runs_as_three_overlapping_branches(tmp_path):
    BARRIER["now"] = Barrier(3)  # each lookup waits until all three have started
    model = ScriptedModel(_branch_script, plan=THREE_THEN_ANSWER)
    result, events = await _run(lookups_task(), model, tmp_path, parallel_steps=True)
    assert result.outcome == "passed", result.error
    branches = [e for e in events if e["kind"] == "node" and e["name"] == "branch"]
    assert sorted(e["payload"]["step_index"] for e in branches) == [0, 1, 2]
    by_seq = {e["seq"]: e for e in events}

    def branch_of(event: dict) -> int | None:
        while event.get("parent") is not None:
            event = by_seq[event["parent"]]
            if event["kind"] == "node" and event["name"] == "branch":
                return event["seq"]
        return None

    calls = [e for e in events if e["kind"] == "tool_call" and e["name"] == "lookup"]
    assert len({branch_of(e) for e in calls}) == 3  # each lookup under its own branch
    # every lookup started before any ended: their intervals overlap
    assert BARRIER["now"].order[:3] == ["start a", "start b", "start c"]
    latest_start = max(e["ts"] for e in calls)
    assert all(e["ts"] + e["duration"] >= latest_start for e in calls)
    # the last step ran after the wave, as one step
    submits = [e for e in events if e["kind"] == "tool_call" and e["name"] == "submit_answer"]
    assert branch_of(submits[0]) is None
    assert result.answer == "a, b and c"


async def test_a_dependent_step_starts_after_the_step_it_needs_has_ended(tmp_path):
    BARRIER["now"] = Barrier(2)  # a and b overlap; c needs a, so it runs after a wave
    plan = [
        {"text": "Look up key a", "after": []},
        {"text": "Look up key b", "after": []},
        {"text": "Look up key c", "after": [0]},
        {"text": "Answer with the values", "after": [1, 2]},
    ]

    def script(request: ModelRequest) -> Any:
        if (request.step_index or 0) == 2 and request.messages[-1].get("role") != "tool":
            BARRIER["now"] = Barrier(1)  # c alone
        return _branch_script(request)

    model = ScriptedModel(script, plan=plan)
    result, events = await _run(lookups_task(), model, tmp_path, parallel_steps=True)
    assert result.outcome == "passed", result.error
    calls = {e["payload"]["arguments"]["key"]: e for e in events if e["name"] == "lookup"}
    assert calls["c"]["ts"] >= calls["a"]["ts"] + calls["a"]["duration"]
    assert calls["c"]["seq"] > calls["a"]["seq"] and calls["c"]["seq"] > calls["b"]["seq"]


async def test_the_model_call_budget_holds_across_branches(tmp_path):
    BARRIER["now"] = Barrier(1)
    # each branch would make 2 calls (lookup, then done): 1 plan + 6 > 5
    model = ScriptedModel(_branch_script, plan=THREE_THEN_ANSWER)
    result, _ = await _run(lookups_task(), model, tmp_path, parallel_steps=True, max_model_calls=5)
    assert result.outcome == "budget"
    assert result.model_calls == 5 and len(model.requests) == 5


async def test_the_tool_call_budget_holds_across_branches(tmp_path):
    BARRIER["now"] = Barrier(1)
    model = ScriptedModel(_branch_script, plan=THREE_THEN_ANSWER)
    result, _ = await _run(lookups_task(max_tool_calls=2), model, tmp_path, parallel_steps=True)
    assert result.outcome == "budget"
    assert result.tool_calls == 2


async def test_a_failed_branch_is_re_planned(tmp_path):
    BARRIER["now"] = Barrier(1)
    plans = iter(
        [
            {"steps": THREE_THEN_ANSWER[:2] + [{"text": "Answer", "after": [0, 1]}]},
            {"steps": ["Look up key b again", "Answer"]},
        ]
    )

    def script(request: ModelRequest) -> Any:
        if request.purpose == "plan":
            return json.dumps(next(plans))
        if request.metadata["plan"][request.step_index or 0] == "Look up key b":
            return "STEP FAILED: b is not there"
        if request.metadata["plan"][request.step_index or 0] == "Answer":
            return {"tool": "submit_answer", "args": {"answer": "a and b"}}
        if request.messages[-1].get("role") == "tool":
            return "Done."
        return {"tool": "lookup", "args": {"key": "a"}}

    result, events = await _run(
        lookups_task(), ScriptedModel(script), tmp_path, parallel_steps=True
    )
    assert result.outcome == "passed", result.error
    replans = [e for e in events if e["kind"] == "plan" and e["name"] == "replan"]
    assert len(replans) == 1
    assert replans[0]["payload"]["reason"] == "step failed: Look up key b"
    # the step that was done is kept; the failed one is planned again
    assert replans[0]["payload"]["steps"] == ["Look up key a", "Look up key b again", "Answer"]


# --- concurrent tool calls in one reply ---------------------------------------------


def _one_reply(calls: list[tuple[str, str]]):
    def script(request: ModelRequest) -> Any:
        if request.messages[-1].get("role") == "tool":
            return {"tool": "submit_answer", "args": {"answer": "a"}}
        return ModelResponse(
            tool_calls=[
                ToolCall(f"c{i}", name, json.dumps({"key": key}))
                for i, (name, key) in enumerate(calls)
            ]
        )

    return script


async def test_a_replys_calls_to_concurrent_tools_run_at_the_same_time(tmp_path):
    BARRIER["now"] = Barrier(3)
    model = ScriptedModel(
        _one_reply([("lookup", "a"), ("lookup", "b"), ("lookup", "c")]), plan=["Look up"]
    )
    result, events = await _run(lookups_task(), model, tmp_path)
    assert result.outcome == "passed", result.error
    assert BARRIER["now"].order[:3] == ["start a", "start b", "start c"]
    calls = [e for e in events if e["kind"] == "tool_call" and e["name"] == "lookup"]
    # recorded in the reply's order, each with its result
    assert [e["payload"]["arguments"]["key"] for e in calls] == ["a", "b", "c"]
    assert [e["payload"]["content"] for e in calls] == [f"value of {k}" for k in "abc"]
    tool_messages = [m for m in model.requests[-1].messages if m.get("role") == "tool"]
    assert [m["tool_call_id"] for m in tool_messages] == ["c0", "c1", "c2"]


async def test_a_reply_with_a_call_to_a_non_concurrent_tool_runs_its_calls_in_turn(tmp_path):
    BARRIER["now"] = Barrier(1)
    model = ScriptedModel(
        _one_reply([("record", "a"), ("lookup", "b"), ("record", "c")]), plan=["Go"]
    )
    result, _ = await _run(lookups_task(), model, tmp_path)
    assert result.outcome == "passed", result.error
    assert BARRIER["now"].order == ["start a", "end a", "start b", "end b", "start c", "end c"]


def test_tools_are_not_concurrent_unless_they_say_so():
    assert lookup.concurrent is True and record.concurrent is False


# --- off by default -------------------------------------------------------------------


async def test_off_by_default_and_a_sequential_plan_runs_as_without_parallel_steps(tmp_path):
    task = notes_task()
    (tmp_path / "off").mkdir()
    (tmp_path / "on").mkdir()
    off, off_events = await _run(task, OracleModel(), tmp_path / "off")
    on, on_events = await _run(task, OracleModel(), tmp_path / "on", parallel_steps=True)
    assert off.outcome == on.outcome == "passed"
    assert AgentConfig().parallel_steps is False
    assert not [e for e in off_events if e["name"] in ("join", "branch")]

    def kinds(events: list[dict]) -> list[tuple[str, str]]:
        return [(e["kind"], e["name"]) for e in events if e["name"] != "join"]

    assert kinds(on_events) == kinds(off_events)  # the oracle's plan is sequential


# --- resume -------------------------------------------------------------------------


async def test_an_episode_killed_mid_fan_out_restarts_from_scratch_on_resume(tmp_path):
    from sandlot.agents.after.resume import resume_run

    db = tmp_path / "t.db"
    started = asyncio.Event()

    @tool
    async def hang(key: str) -> str:
        """Wait until cancelled.

        Args:
            key: Anything.
        """
        started.set()
        await asyncio.Event().wait()
        return key

    def model(slow: bool) -> ScriptedModel:
        def script(request: ModelRequest) -> Any:
            step = request.step_index or 0
            if slow and step == 2 and request.messages[-1].get("role") != "tool":
                return {"tool": "hang", "args": {"key": "c"}}
            return _branch_script(request)

        return ScriptedModel(script, plan=THREE_THEN_ANSWER)

    BARRIER["now"] = Barrier(1)
    first = asyncio.create_task(
        run(
            [lookups_task()],
            model=model(slow=True),
            db=db,
            agent=AgentConfig(parallel_steps=True),
            env_options={"extra_tools": [hang]},
        )
    )
    await started.wait()  # branch c hangs while a and b have ended: stop there
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first

    resumed = await resume_run(db, model=model(slow=False))
    (ep,) = resumed.episodes
    assert ep.outcome == "passed", ep.error
    with TraceStore(db) as store:
        kept = store.events(ep.episode_id, kinds=["tool_call", "replay"])
    assert [e["name"] for e in kept if e["kind"] == "replay"] == ["resume"]
    assert kept[0]["payload"]["restored"] == 0  # started again, nothing re-run
    looked_up = sorted(e["payload"]["arguments"]["key"] for e in kept if e["name"] == "lookup")
    assert looked_up == ["a", "b", "c"]  # each once: the first attempt's calls superseded


async def test_tasks_with_a_simulated_user_are_refused_with_parallel_steps(tmp_path):
    from sandlot.agents.graph.runtime import AgentConfig
    from sandlot.agents.running.runner import run
    from sandlot.environments.loader import load_tasks
    from sandlot.errors import UserError

    tasks = load_tasks([ROOT / "examples/tasks/store_multiturn"])
    with pytest.raises(UserError, match="simulated user.*store-multiturn-001"):
        await run(
            tasks, model="oracle", agent=AgentConfig(parallel_steps=True), db=tmp_path / "t.db"
        )
    assert not (tmp_path / "t.db").exists()  # refused before anything was written
