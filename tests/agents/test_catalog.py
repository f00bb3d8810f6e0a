"""The planner at catalog scale: above ``planner_catalog_limit`` tools it is shown the
retriever's shortlist for the request, not the whole catalog."""

from __future__ import annotations

from typing import Any

import pytest
from langgraph.runtime import Runtime

from sandlot.agents.graph.catalog import planner_catalog, planner_query
from sandlot.agents.graph.nodes import planner
from sandlot.agents.graph.prompts import planner_user_message
from sandlot.agents.graph.runtime import AgentConfig, EpisodeRuntime
from sandlot.agents.graph.state import PlanStep, initial_state
from sandlot.agents.models import ScriptedModel
from sandlot.agents.running.runner import run_episode
from sandlot.environments.base import make_environment
from sandlot.retrieval.base import RankedTool
from sandlot.tools import Tool, Toolset, tool
from sandlot.traces.recorder import EpisodeRecorder
from sandlot.traces.store import TraceStore
from tests.agents.conftest import notes_task


def gadget(i: int) -> Tool:
    def run(serial: str) -> str:
        """Placeholder.

        Args:
            serial: The gadget's serial number.
        """
        return serial

    return tool(name=f"gadget_{i}", description=f"Calibrate gadget model {i} of the lab.")(run)


def gadgets(n: int) -> Toolset:
    return Toolset("gadgets", [gadget(i) for i in range(n)])


class FakeRetriever:
    """Ranks tools in a fixed order, and remembers what it was asked."""

    name = "fake"

    def __init__(self, order: list[str]) -> None:
        self.order = order
        self.queries: list[tuple[str, int | None]] = []

    def rank(self, query: str, k: int | None = None) -> list[RankedTool]:
        self.queries.append((query, k))
        return [RankedTool(t, 1.0 / (i + 1)) for i, t in enumerate(self.order[:k])]


class ListRecorder(EpisodeRecorder):
    def __init__(self) -> None:
        super().__init__("e1")
        self.events: list[dict[str, Any]] = []

    def emit(self, seq, parent, ts, kind, name, payload, duration) -> None:  # type: ignore[override]
        self.events.append({"kind": kind, "name": name, "payload": payload})


async def run_planner(
    extra: int, config: AgentConfig, order: list[str] | None = None, state: Any = None
) -> tuple[ScriptedModel, FakeRetriever, ListRecorder]:
    """One planner node run on the notes world with ``extra`` generated tools added."""
    task = notes_task()
    env = make_environment("notes", extra_tools=[gadgets(extra)])
    await env.reset(task)
    retriever = FakeRetriever(order or [t.name for t in reversed(list(env.toolset))])
    model = ScriptedModel([], plan=["Add the note.", "Count the notes."])
    recorder = ListRecorder()
    rt = EpisodeRuntime(
        task=task,
        environment=env,
        model=model,
        recorder=recorder,
        config=config,
        ctx=env.context(episode_id="e1", task_id=task.id),
        retriever=retriever,
    )
    await planner(state or initial_state(task.id), Runtime(context=rt))
    return model, retriever, recorder


def prompt_of(model: ScriptedModel) -> str:
    return model.requests[0].messages[-1]["content"]


def plan_event(recorder: ListRecorder) -> dict[str, Any]:
    return next(e["payload"] for e in recorder.events if e["kind"] == "plan")


async def test_above_the_limit_the_planner_sees_the_retrievers_shortlist_only():
    config = AgentConfig(planner_catalog_limit=30, planner_shortlist=6)
    model, retriever, recorder = await run_planner(40, config)
    ranked_first = retriever.order[:6]
    prompt = prompt_of(model)
    for name in retriever.order:
        assert (f"- {name}:" in prompt) is (name in ranked_first), name
    assert "38 more tools are not listed" in prompt
    request = model.requests[0]
    assert request.metadata["catalog_shown"] == ranked_first
    assert list(request.metadata["tool_descriptions"]) == ranked_first
    assert request.metadata["catalog_size"] == 44
    # the plan event says what the planner saw, for the viewer and replay
    event = plan_event(recorder)
    assert event["catalog_shown"] == ranked_first and event["catalog_size"] == 44
    # ranked for the request
    assert retriever.queries == [(notes_task().instruction, 6)]


async def test_at_or_below_the_limit_the_planner_sees_the_whole_catalog():
    config = AgentConfig(planner_catalog_limit=30, planner_shortlist=6)
    model, retriever, recorder = await run_planner(26, config)  # 4 notes tools + 26 = 30
    prompt = prompt_of(model)
    assert all(f"- gadget_{i}:" in prompt for i in range(26))
    assert "not listed" not in prompt
    assert retriever.queries == []
    assert model.requests[0].metadata["catalog_size"] == 30
    event = plan_event(recorder)
    assert event["catalog_size"] == 30 and "catalog_shown" not in event


@pytest.mark.parametrize("limit", [0, None])
async def test_no_limit_always_shows_the_whole_catalog(limit):
    config = AgentConfig(planner_catalog_limit=limit, planner_shortlist=6)
    model, retriever, _ = await run_planner(100, config)
    assert "- gadget_99:" in prompt_of(model) and retriever.queries == []


async def test_a_replan_ranks_the_shortlist_for_the_request_and_the_failed_step():
    task = notes_task()
    state = initial_state(task.id)
    state["plan"] = [
        PlanStep(text="List the notes.", status="done", result="none"),
        PlanStep(text="Write the note down.", status="failed", result="no tool for it"),
        PlanStep(text="Answer.", status="pending", result=None),
    ]
    state["step"] = 1
    config = AgentConfig(planner_catalog_limit=10, planner_shortlist=3)
    model, retriever, recorder = await run_planner(40, config, state=state)
    assert retriever.queries == [(f"{task.instruction}\nWrite the note down.", 3)]
    assert model.requests[0].metadata["replan"] is True
    assert plan_event(recorder)["catalog_shown"] == retriever.order[:3]


async def test_a_shortlist_keeps_the_rankers_order_and_skips_names_it_does_not_know():
    toolset = gadgets(50)
    retriever = FakeRetriever(["gadget_7", "nonexistent", "gadget_3"])
    catalog = planner_catalog(toolset, retriever, AgentConfig(planner_catalog_limit=10), "q")
    assert list(catalog.shown) == ["gadget_7", "gadget_3"]
    assert catalog.shortlisted and catalog.size == 50 and catalog.unlisted == 48


def test_the_query_is_the_request_then_the_failed_step():
    assert planner_query("Do it.") == "Do it."
    assert planner_query("Do it.", "Step two.") == "Do it.\nStep two."


def test_the_prompt_lists_only_what_it_is_given_and_counts_the_rest():
    text = planner_user_message("R", {"a": "does a"}, unlisted=1)
    assert "- a: does a" in text and "1 more tool is not listed" in text
    assert "not a tool name" in text
    assert "not listed" not in planner_user_message("R", {"a": "does a"})


@pytest.mark.parametrize(
    "options", [{"planner_catalog_limit": -1}, {"planner_shortlist": 0}], ids=str
)
def test_bad_catalog_options_are_refused(options):
    with pytest.raises(ValueError, match=next(iter(options))):
        AgentConfig(**options)


async def test_the_oracle_passes_a_world_above_the_limit_and_its_plan_records_the_shortlist(
    tmp_path,
):
    task = notes_task()
    with TraceStore(tmp_path / "t.db") as store:
        run_id = store.start_run(model="oracle", agent="plan-execute", config={})
        result = await run_episode(
            task,
            model="oracle",
            store=store,
            run_id=run_id,
            agent=AgentConfig(planner_catalog_limit=20, planner_shortlist=5),
            env_options={"extra_tools": [gadgets(60)]},
        )
        store.flush()
        plan = store.events(result.episode_id, kinds=["plan"])[0]["payload"]
    assert result.outcome == "passed"
    assert plan["catalog_size"] == 64 and 0 < len(plan["catalog_shown"]) <= 5
    assert "add_note" in plan["catalog_shown"]  # the request asks to add a note
