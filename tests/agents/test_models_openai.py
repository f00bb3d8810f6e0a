"""OpenAIModel against the local fake OpenAI server: calls, retries, errors, secrets."""

from __future__ import annotations

import json

import pytest

from sandlot.agents.models import ModelError, ModelRequest, OpenAIModel
from tests.agents.fake_openai import (
    FakeOpenAIServer,
    malformed,
    rate_limited,
    server_error,
    slow,
    text_reply,
    tool_reply,
)

KEY = "sk-test-secret-123"
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_order",
            "description": "Look up an order.",
            "parameters": {
                "type": "object",
                "properties": {"order_id": {"type": "integer"}},
                "required": ["order_id"],
            },
        },
    }
]
MESSAGES = [{"role": "user", "content": "Where is order 7?"}]


def model_for(server: FakeOpenAIServer, **options) -> OpenAIModel:
    options.setdefault("api_key", KEY)
    return OpenAIModel("fake-model", base_url=server.base_url, **options)


async def test_tool_schemas_are_sent_and_tool_calls_come_back(fake_openai):
    fake_openai.push(
        tool_reply({"id": "call_9", "name": "get_order", "arguments": {"order_id": 7}})
    )
    model = model_for(fake_openai)
    response = await model.complete(ModelRequest(messages=MESSAGES, tools=TOOLS))
    body = fake_openai.bodies[0]
    assert body["model"] == "fake-model"
    assert body["messages"] == MESSAGES
    assert body["tools"] == TOOLS
    [tool_call] = response.tool_calls
    assert (tool_call.id, tool_call.name, json.loads(tool_call.arguments)) == (
        "call_9",
        "get_order",
        {"order_id": 7},
    )
    assert response.content is None
    assert response.raw is not None and response.raw["choices"][0]["finish_reason"] == "tool_calls"
    await model.aclose()


async def test_text_reply_and_usage_are_parsed_and_empty_tools_are_omitted(fake_openai):
    fake_openai.push(text_reply("It ships today.", prompt_tokens=21, completion_tokens=5))
    model = model_for(fake_openai, temperature=0.0)
    response = await model.complete(ModelRequest(messages=MESSAGES))
    assert response.content == "It ships today."
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (21, 5)
    assert response.model == "fake-model"
    body = fake_openai.bodies[0]
    assert "tools" not in body and "parallel_tool_calls" not in body
    assert body["temperature"] == 0.0
    await model.aclose()


async def test_options_parallel_tool_calls_and_extra_body_are_sent(fake_openai):
    model = model_for(fake_openai, parallel_tool_calls=False, extra_body={"top_k": 3})
    await model.complete(ModelRequest(messages=MESSAGES, tools=TOOLS))
    body = fake_openai.bodies[0]
    assert body["parallel_tool_calls"] is False and body["top_k"] == 3
    await model.aclose()


async def test_a_429_is_retried_and_the_success_returned(fake_openai):
    fake_openai.push(rate_limited(retry_after_ms=1), text_reply("after the wait"))
    model = model_for(fake_openai, max_retries=2)
    response = await model.complete(ModelRequest(messages=MESSAGES))
    assert response.content == "after the wait"
    assert len(fake_openai.requests) == 2
    await model.aclose()


async def test_5xx_until_retries_run_out_is_a_model_error_naming_the_status(fake_openai):
    fake_openai.default = lambda body: server_error(503)
    model = model_for(fake_openai, max_retries=2)
    with pytest.raises(ModelError, match=r"HTTP 503 after 2 retries"):
        await model.complete(ModelRequest(messages=MESSAGES))
    assert len(fake_openai.requests) == 3  # the first attempt and two retries
    await model.aclose()


async def test_a_4xx_is_not_retried_and_401_hints_at_the_key(fake_openai):
    fake_openai.default = lambda body: server_error(401, retry_after_ms=None)
    model = model_for(fake_openai, max_retries=3)
    with pytest.raises(ModelError, match=r"HTTP 401: .*OPENAI_API_KEY"):
        await model.complete(ModelRequest(messages=MESSAGES))
    assert len(fake_openai.requests) == 1
    await model.aclose()


@pytest.mark.parametrize(
    ("reply", "message"),
    [
        (malformed("this is not json {"), "not JSON"),
        (malformed({"id": "x", "object": "chat.completion"}), "without choices"),
        (malformed({"choices": []}), "without choices"),
        (malformed({"choices": [{"index": 0}]}), "without a message"),
        (malformed([1, 2, 3]), "not a chat completion"),
    ],
)
async def test_malformed_bodies_are_model_errors(fake_openai, reply, message):
    fake_openai.push(reply)
    model = model_for(fake_openai, max_retries=0)
    with pytest.raises(ModelError, match=message):
        await model.complete(ModelRequest(messages=MESSAGES))
    await model.aclose()


async def test_a_timeout_is_retried_then_a_model_error(fake_openai):
    fake_openai.default = lambda body: slow(5.0)
    model = model_for(fake_openai, timeout=0.2, max_retries=1)
    with pytest.raises(ModelError, match="timed out"):
        await model.complete(ModelRequest(messages=MESSAGES))
    assert len(fake_openai.requests) == 2
    await model.aclose()


async def test_a_slow_reply_within_the_timeout_succeeds(fake_openai):
    fake_openai.push(slow(0.05, text_reply("slow but fine")))
    model = model_for(fake_openai, timeout=10)
    assert (await model.complete(ModelRequest(messages=MESSAGES))).content == "slow but fine"
    await model.aclose()


async def test_a_server_that_is_gone_is_a_model_error_saying_so():
    with FakeOpenAIServer() as server:
        base_url = server.base_url
    model = OpenAIModel("m", base_url=base_url, api_key=KEY, max_retries=0)
    with pytest.raises(ModelError, match="cannot reach"):
        await model.complete(ModelRequest(messages=MESSAGES))
    await model.aclose()


async def test_the_key_goes_only_in_the_authorization_header_never_in_describe(fake_openai):
    model = model_for(fake_openai)
    await model.complete(ModelRequest(messages=MESSAGES))
    [recorded] = fake_openai.requests
    assert recorded.headers["authorization"] == f"Bearer {KEY}"
    others = {k: v for k, v in recorded.headers.items() if k != "authorization"}
    assert KEY not in json.dumps(others) and KEY not in json.dumps(recorded.body)
    described = model.describe()
    assert KEY not in json.dumps(described)
    assert described["name"] == "fake-model" and described["base_url"] == fake_openai.base_url + "/"
    assert described["kind"] == "OpenAIModel"
    await model.aclose()


def test_settings_fall_back_to_environment_variables(monkeypatch, fake_openai):
    monkeypatch.setenv("OPENAI_BASE_URL", fake_openai.base_url)
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("OPENAI_MODEL", "from-openai-model")
    assert OpenAIModel().name == "from-openai-model"
    monkeypatch.setenv("SANDLOT_MODEL", "from-sandlot-model")
    model = OpenAIModel()
    assert model.name == "from-sandlot-model"
    assert model.describe()["base_url"].startswith(fake_openai.base_url)


async def test_a_local_server_needs_no_key(monkeypatch, fake_openai):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    model = OpenAIModel("local", base_url=fake_openai.base_url)
    await model.complete(ModelRequest(messages=MESSAGES))
    assert fake_openai.requests[0].headers["authorization"] == "Bearer unused"
    await model.aclose()


def test_missing_model_or_key_says_what_to_set(monkeypatch):
    for name in ("SANDLOT_MODEL", "OPENAI_MODEL", "OPENAI_API_KEY", "OPENAI_BASE_URL"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ModelError, match="SANDLOT_MODEL"):
        OpenAIModel()
    with pytest.raises(ModelError, match="OPENAI_API_KEY"):
        OpenAIModel("gpt-x")


# --- model options, text tool calls, the check before a run ------------------------------


async def test_sampling_options_are_sent_when_set_and_described(fake_openai):
    fake_openai.push(text_reply("ok"), text_reply("ok"))
    model = model_for(fake_openai, temperature=0.2, top_p=0.9, max_tokens=64, seed=7)
    await model.complete(ModelRequest(messages=MESSAGES))
    body = fake_openai.bodies[0]
    assert (body["temperature"], body["top_p"], body["max_tokens"], body["seed"]) == (
        0.2,
        0.9,
        64,
        7,
    )
    described = model.describe()
    assert described["max_tokens"] == 64 and described["tool_calls"] == "native"
    await model_for(fake_openai).complete(ModelRequest(messages=MESSAGES))
    assert not {"temperature", "top_p", "max_tokens", "seed"} & set(fake_openai.bodies[1])


async def test_text_mode_puts_the_tools_in_the_prompt_and_reads_calls_from_the_reply(
    fake_openai,
):
    call = '<tool_call>{"name": "get_order", "arguments": {"order_id": 7}}</tool_call>'
    fake_openai.push(text_reply(f"Let me look.\n{call}"))
    model = model_for(fake_openai, tool_calls="text")
    system = {"role": "system", "content": "You help."}
    response = await model.complete(ModelRequest(messages=[system, *MESSAGES], tools=TOOLS))
    body = fake_openai.bodies[0]
    assert "tools" not in body
    assert body["messages"][0]["content"].startswith("You help.")
    assert '"description": "Look up an order."' in body["messages"][0]["content"]
    [tool_call] = response.tool_calls
    assert tool_call.name == "get_order" and json.loads(tool_call.arguments) == {"order_id": 7}
    assert tool_call.id.startswith("text-")
    assert response.content == "Let me look."
    assert any("read from the reply's text (tool_call)" in n for n in response.notes)
    assert model.describe()["tool_calls"] == "text"


async def test_text_mode_leaves_a_plain_answer_alone(fake_openai):
    fake_openai.push(text_reply("Order 7 has shipped."))
    response = await model_for(fake_openai, tool_calls="text").complete(
        ModelRequest(messages=MESSAGES, tools=TOOLS)
    )
    assert response.tool_calls == [] and response.content == "Order 7 has shipped."
    assert response.notes == []


def test_an_unknown_tool_call_mode_is_refused(fake_openai):
    with pytest.raises(ModelError, match="tool_calls must be one of native, text"):
        model_for(fake_openai, tool_calls="xml")


async def test_the_check_passes_a_listed_model_and_servers_without_a_list(fake_openai):
    await model_for(fake_openai).check()  # GET /v1/models is a 404 here: taken as it is
    fake_openai.models = ["fake-model", "other"]
    await model_for(fake_openai).check()
    fake_openai.models = []
    await model_for(fake_openai).check()
    assert fake_openai.requests == []  # no completion was spent on it


async def test_the_check_names_what_is_wrong(fake_openai):
    fake_openai.models = ["llama-3", "qwen"]
    with pytest.raises(
        ModelError, match="does not serve a model named 'fake-model'; it lists: llama-3, qwen"
    ):
        await model_for(fake_openai).check()
    fake_openai.models_status = 401
    with pytest.raises(ModelError, match="HTTP 401 .check the API key"):
        await model_for(fake_openai).check()
    gone = OpenAIModel("m", base_url="http://127.0.0.1:9/v1", api_key=KEY)
    with pytest.raises(ModelError, match="cannot reach .* check the base URL"):
        await gone.check()
