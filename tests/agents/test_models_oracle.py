"""OracleModel: plans from the reference, plays it step by step, re-plans what is left."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sandlot.agents.models import (
    FINAL_STEP,
    SUBMIT_TOOL,
    ModelError,
    ModelRequest,
    ModelResponse,
    OracleModel,
    ScriptedModel,
)
from sandlot.agents.running.runner import run_episode
from sandlot.environments.loader import load_tasks
from sandlot.environments.tasks import Task

DESCRIPTIONS = {"get_order": "Look up an order by its id.", "refund": "Refund an order."}


def make_task(calls: list[dict[str, Any]] | None = None, answer: str = "Refunded.") -> Task:
    reference = None
    if calls is not None:
        reference = {"calls": calls, "answer": answer}
    return Task(id="t1", environment="shop", instruction="Refund order 1001.", reference=reference)


TASK = make_task(
    [
        {"tool": "get_order", "args": {"order_id": 1001}},
        {"tool": "refund", "args": {"order_id": 1001, "reason": "late"}},
    ]
)


def plan_request(task: Task = TASK, **metadata: Any) -> ModelRequest:
    meta = {"tool_descriptions": DESCRIPTIONS, "replan": False, "completed": [], "failed": None}
    meta.update(metadata)
    return ModelRequest(messages=[], purpose="plan", task=task, metadata=meta)


def steps_of(response: ModelResponse) -> list[str]:
    return json.loads(response.content or "")["steps"]


async def play(model: OracleModel, plan: list[str], task: Task = TASK) -> list[ModelResponse]:
    """Drive the oracle as the executor does: a step ends on a reply without tool calls."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": task.instruction}]
    responses: list[ModelResponse] = []
    for step in range(len(plan)):
        step_calls = 0
        while True:
            request = ModelRequest(
                messages=list(messages),
                tools=[],
                purpose="execute",
                task=task,
                step_index=step,
                metadata={"plan": plan, "step_calls": step_calls, "single_agent": False},
            )
            response = await model.complete(request)
            responses.append(response)
            messages.append(response.to_message())
            if not response.tool_calls:
                break
            for c in response.tool_calls:
                messages.append({"role": "tool", "tool_call_id": c.id, "content": "ok"})
                if c.name == SUBMIT_TOOL:
                    return responses
            step_calls += len(response.tool_calls)
    return responses


async def test_plan_has_one_step_per_reference_call_in_words_then_the_answer():
    steps = steps_of(await OracleModel().complete(plan_request()))
    assert steps == [
        "Look up an order by its id: order_id=1001",
        'Refund an order: order_id=1001, reason="late"',
        FINAL_STEP,
    ]


async def test_plan_steps_never_name_the_tool():
    descriptions = {
        "get_order": "Full details of an order: customer, status and\n"
        "dates. Refunds are listed too.",
        "refund": "",
    }
    request = plan_request(tool_descriptions={}, catalog_descriptions=descriptions)
    steps = steps_of(await OracleModel().complete(request))
    # the first sentence of the description, unwrapped; a tool with no description is
    # described by its name's words
    assert steps[0] == "Full details of an order: customer, status and dates: order_id=1001"
    assert steps[1] == 'Refund: order_id=1001, reason="late"'
    assert not any("get_order" in s for s in steps)


def test_a_step_for_a_call_without_arguments_is_a_sentence():
    from sandlot.agents.models.oracle import oracle_step
    from sandlot.environments.tasks import ReferenceCall

    call = ReferenceCall(tool="list_orders", args={})
    assert oracle_step(call, {"list_orders": "List every order. Newest first."}) == (
        "List every order."
    )


async def test_playing_its_own_plan_makes_each_call_then_submits_the_answer():
    model = OracleModel()
    plan = steps_of(await model.complete(plan_request()))
    responses = await play(model, plan)
    calls = [c for r in responses for c in r.tool_calls]
    assert [(c.name, json.loads(c.arguments)) for c in calls] == [
        ("get_order", {"order_id": 1001}),
        ("refund", {"order_id": 1001, "reason": "late"}),
        (SUBMIT_TOOL, {"answer": "Refunded."}),
    ]
    assert [c.id for c in calls] == ["oracle_1", "oracle_2", "oracle_3"]
    # each call step ends with a text reply, so the executor moves on
    assert [r.content for r in responses if not r.tool_calls] == ["Step done.", "Step done."]
    assert all(r.usage.total_tokens == 0 for r in responses)


async def test_a_plan_of_another_shape_gets_every_call_then_the_answer():
    responses = await play(OracleModel(), ["Refund order 1001."])  # the single-agent step
    names = [c.name for r in responses for c in r.tool_calls]
    assert names == ["get_order", "refund", SUBMIT_TOOL]


async def test_replan_keeps_only_the_calls_not_yet_made():
    model = OracleModel()
    first = steps_of(await model.complete(plan_request()))
    replanned = steps_of(
        await model.complete(plan_request(replan=True, completed=[first[0]], failed=first[1]))
    )
    assert replanned == [first[1], FINAL_STEP]


async def test_replan_counts_calls_visible_in_the_messages():
    messages = [
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "x",
                    "type": "function",
                    "function": {"name": "get_order", "arguments": "{}"},
                }
            ],
        },
        {"role": "tool", "tool_call_id": "x", "content": "ok"},
    ]
    request = plan_request(replan=True, completed=[], failed="something else")
    request.messages = messages
    assert len(steps_of(await OracleModel().complete(request))) == 2


async def test_executing_after_a_replan_continues_with_the_next_call():
    model = OracleModel()
    plan = steps_of(await model.complete(plan_request()))
    made = {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {
                "id": "oracle_1",
                "type": "function",
                "function": {"name": "get_order", "arguments": "{}"},
            }
        ],
    }
    request = ModelRequest(
        messages=[made, {"role": "tool", "tool_call_id": "oracle_1", "content": "ok"}],
        purpose="execute",
        task=TASK,
        step_index=1,
        metadata={"plan": plan, "step_calls": 0},
    )
    response = await model.complete(request)
    assert [c.name for c in response.tool_calls] == ["refund"]
    assert response.tool_calls[0].id == "oracle_2"


async def test_a_task_without_calls_plans_only_the_answer_and_submits_it():
    task = make_task([], answer="Nothing to do.")
    model = OracleModel()
    plan = steps_of(await model.complete(plan_request(task)))
    assert plan == [FINAL_STEP]
    responses = await play(model, plan, task)
    assert json.loads(responses[-1].tool_calls[0].arguments) == {"answer": "Nothing to do."}


async def test_a_task_without_a_reference_is_an_error_naming_the_task():
    with pytest.raises(ModelError, match="'t1' has no reference"):
        await OracleModel().complete(plan_request(make_task(None)))


async def test_the_oracle_refuses_to_judge():
    with pytest.raises(ModelError, match="cannot judge"):
        await OracleModel().complete(ModelRequest(messages=[], purpose="judge", task=TASK))


# --- how many model calls it needs ---------------------------------------------------

SHIPPED = Path(__file__).resolve().parents[2] / "examples" / "tasks"
STORE = {t.id: t for t in load_tasks([SHIPPED / "store"])}
WORKSPACE = {t.id: t for t in load_tasks([SHIPPED / "workspace"])}
# no call, one call, two, three, and the longest references of both worlds
COUNTED = [
    STORE["store-notool-001"],
    STORE["store-lookup-003"],
    STORE["store-orders-002"],
    *sorted(STORE.values(), key=lambda t: -len(t.reference.calls))[:2],
    WORKSPACE["ws-code-008"],
    *sorted(WORKSPACE.values(), key=lambda t: -len(t.reference.calls))[:2],
]


@pytest.mark.parametrize(
    ("calls", "agent", "needed"),
    [(0, "plan-execute", 2), (3, "plan-execute", 8), (20, "plan-execute", 42), (0, "single", 1)]
    + [(3, "single", 4), (20, "single", 21), (3, "debate", None)],
)
def test_model_calls_needed_per_agent(calls, agent, needed):
    task = make_task([{"tool": "get_order", "args": {"order_id": i}} for i in range(calls)])
    assert OracleModel().model_calls_needed(task, agent) == needed


def test_model_calls_needed_is_unknown_without_a_reference_and_for_other_models():
    assert OracleModel().model_calls_needed(make_task(None), "plan-execute") is None
    assert ScriptedModel(["x"]).model_calls_needed(TASK, "plan-execute") is None  # the default


@pytest.mark.parametrize("agent", ["plan-execute", "single"])
@pytest.mark.parametrize("task", COUNTED, ids=[t.id for t in COUNTED])
async def test_model_calls_needed_is_what_a_real_oracle_episode_makes(task, agent):
    assert len({len(t.reference.calls) for t in COUNTED}) >= 4  # sizes 0 to the longest
    result = await run_episode(task, model="oracle", agent=agent, env_options={"sandbox": "local"})
    assert result.success, result.trajectory.error
    needed = OracleModel().model_calls_needed(task, agent)
    assert result.model_calls == needed
    purposes = [m.purpose for m in result.trajectory.model_calls]
    plans = 1 if agent == "plan-execute" else 0
    assert purposes == ["plan"] * plans + ["execute"] * (needed - plans)
