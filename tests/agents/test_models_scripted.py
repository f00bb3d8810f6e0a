"""ScriptedModel: list and function scripts, response shapes, plans, ids, running out."""

from __future__ import annotations

import json

import pytest

from sandlot.agents.models import (
    ModelError,
    ModelRequest,
    ModelResponse,
    ScriptedModel,
    call,
    text,
    to_response,
)


def request(purpose: str = "execute", **extra) -> ModelRequest:
    return ModelRequest(messages=[{"role": "user", "content": "hi"}], purpose=purpose, **extra)


async def test_list_script_is_consumed_in_order_and_running_out_says_how_many():
    model = ScriptedModel(["one", "two"])
    assert (await model.complete(request())).content == "one"
    assert (await model.complete(request())).content == "two"
    with pytest.raises(ModelError, match="ran out of responses after 2 calls"):
        await model.complete(request())
    assert len(model.requests) == 3


async def test_every_response_shape_becomes_a_model_response():
    model = ScriptedModel(
        [
            {"tool": "add_note", "args": {"text": "x"}},
            {
                "tool_calls": [
                    {"tool": "a", "args": {"n": 1}},
                    {"id": "mine", "name": "b", "arguments": "{bad"},
                ],
                "content": "thinking",
            },
            [{"tool": "a"}, {"tool": "b", "args": {"k": "v"}}],
            call("submit_answer", answer="42"),
            text("bye"),
        ]
    )
    one = await model.complete(request())
    assert [(c.id, c.name, json.loads(c.arguments)) for c in one.tool_calls] == [
        ("call_1", "add_note", {"text": "x"})
    ]
    two = await model.complete(request())
    assert two.content == "thinking"
    assert [(c.id, c.name, c.arguments) for c in two.tool_calls] == [
        ("call_2", "a", '{"n": 1}'),
        ("mine", "b", "{bad"),  # raw argument text is kept, so tests can send invalid JSON
    ]
    three = await model.complete(request())
    assert [c.name for c in three.tool_calls] == ["a", "b"]
    assert [c.id for c in three.tool_calls] == ["call_3", "call_4"]
    four = await model.complete(request())
    assert four.tool_calls[0].name == "submit_answer"
    assert json.loads(four.tool_calls[0].arguments) == {"answer": "42"}
    assert four.tool_calls[0].id == "call_5"
    assert (await model.complete(request())).content == "bye"


async def test_plan_answers_planner_requests_without_consuming_the_script():
    model = ScriptedModel(["executed"], plan=["step a", "step b"])
    planned = await model.complete(request("plan"))
    assert json.loads(planned.content) == {"steps": ["step a", "step b"]}
    assert (await model.complete(request())).content == "executed"
    assert [r.purpose for r in model.requests] == ["plan", "execute"]


async def test_function_scripts_may_be_sync_or_async_and_see_the_request():
    def sync(req: ModelRequest):
        return f"step {req.step_index}"

    async def asynchronous(req: ModelRequest):
        return {"tool": "t", "args": {"purpose": req.purpose}}

    assert (await ScriptedModel(sync).complete(request(step_index=3))).content == "step 3"
    response = await ScriptedModel(asynchronous).complete(request("judge"))
    assert json.loads(response.tool_calls[0].arguments) == {"purpose": "judge"}


async def test_model_name_is_set_on_responses():
    response = await ScriptedModel(["x"], name="mine").complete(request())
    assert response.model == "mine"


def test_unreadable_responses_and_scripts_are_rejected_clearly():
    with pytest.raises(ModelError, match="cannot read scripted response"):
        to_response(42)  # type: ignore[arg-type]
    with pytest.raises(ModelError, match="'tool'"):
        to_response({"tool_calls": [{"args": {}}]})
    with pytest.raises(TypeError, match="list of responses or a function"):
        ScriptedModel("just a string")  # type: ignore[arg-type]


def test_a_ready_model_response_passes_through():
    response = ModelResponse(content="as is")
    assert to_response(response) is response
