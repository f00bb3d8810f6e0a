"""Bad values from a model never lose a result: a lone surrogate, token counts beyond 64
bits, content that is an object, a numeric tool name, arguments that are not a string
and arguments nested 50,000 deep are cleaned or coerced (with a note), or become a clear
ModelError or tool message; the episode row is always finished, and the viewer and the
export open it. Each case runs through the OpenAI SDK against the local fake server and
through the ScriptedModel."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sandlot import run
from sandlot.agents.models import ModelError, ModelRequest, OpenAIModel, ScriptedModel
from sandlot.tools import ToolCall, Toolset, invoke_tool, tool
from sandlot.tools.invoke import MAX_ARGUMENT_DEPTH
from sandlot.traces.query import TraceReader
from tests.agents.conftest import notes_task
from tests.agents.fake_openai import FakeOpenAIServer, Reply, completion
from tests.traces.test_redact_bad_values import assert_trace_opens, deep_list, only_episode

DEEP_TEXT = "[" * 50_000 + "]" * 50_000
REQUEST = ModelRequest(messages=[{"role": "user", "content": "Add a note."}])


def tool_call(name: Any, arguments: Any, call_id: Any = "call_1") -> dict[str, Any]:
    """A tool call as a server sends it, every field as given."""
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def body(content: Any = None, calls: list[Any] | None = None, **usage: Any) -> dict[str, Any]:
    """A chat completion whose message and usage hold exactly what is given."""
    data = completion("x", usage={"prompt_tokens": 3, "completion_tokens": 2, **usage})
    data["choices"][0]["message"] = {"role": "assistant", "content": content}
    if calls is not None:
        data["choices"][0]["message"]["tool_calls"] = calls
    return data


async def complete_once(server: FakeOpenAIServer, reply: Any) -> Any:
    server.push(Reply(body=reply))
    model = OpenAIModel("fake-model", base_url=server.base_url, api_key="sk-test", max_retries=0)
    try:
        return await model.complete(REQUEST)
    finally:
        await model.aclose()


# --- the OpenAI model's parsing -----------------------------------------------------------


async def test_openai_a_lone_surrogate_in_content_is_replaced_with_a_note(fake_openai):
    # The body is valid JSON: "\ud83d" is an escape, which json.loads turns into half an emoji.
    response = await complete_once(fake_openai, body("half \ud83d emoji"))
    assert response.content == "half \ufffd emoji"
    assert response.notes == [
        "message content held 1 lone surrogate(s) (half of a UTF-16 pair, which cannot be "
        "encoded as UTF-8): replaced by U+FFFD"
    ]


@pytest.mark.parametrize(
    ("sent", "shown"),
    [(2**70, "an integer of 71 bits"), (-5, "-5"), ("12", "'12'"), (1.5, "1.5"), (True, "True")],
)
async def test_openai_a_token_count_that_is_not_one_counts_as_0_with_a_note(
    fake_openai, sent, shown
):
    response = await complete_once(fake_openai, body("ok", prompt_tokens=sent))
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (0, 2)
    assert response.notes == [
        f"usage.prompt_tokens was {shown}, not a token count (an integer from 0 to 2**63 - 1): "
        "counted as 0"
    ]


async def test_openai_content_that_is_an_object_or_text_parts_becomes_text(fake_openai):
    response = await complete_once(fake_openai, body({"steps": ["add it"]}))
    assert json.loads(response.content) == {"steps": ["add it"]}  # a planner can read it
    assert response.notes == [
        'message content was a JSON object, not a string: used as its JSON text {"steps": '
        '["add it"]}'
    ]
    parts = [{"type": "text", "text": "There is "}, {"type": "text", "text": "1 note."}]
    response = await complete_once(fake_openai, body(parts))
    assert response.content == "There is 1 note."
    assert response.notes == ["message content was a list of 2 text part(s), not a string: joined"]


async def test_openai_a_numeric_name_and_object_arguments_are_coerced_with_notes(fake_openai):
    calls = [tool_call(123, "{}"), tool_call("add_note", {"text": "buy milk"}, call_id=7)]
    response = await complete_once(fake_openai, body(None, calls))
    first, second = response.tool_calls
    assert (first.name, first.arguments) == ("123", "{}")
    assert (second.id, json.loads(second.arguments)) == ("7", {"text": "buy milk"})
    assert response.notes == [
        "tool call 0: the name was the number 123, not a string: used as '123'",
        "tool call 1 (add_note): the id was a JSON number, not a string: used as 7",
        "tool call 1 (add_note): the arguments were a JSON object, not a string of JSON: used "
        "as their JSON text",
    ]


async def test_openai_a_name_that_is_an_object_is_a_clear_model_error(fake_openai):
    with pytest.raises(ModelError) as error:
        await complete_once(fake_openai, body(None, [tool_call({"fn": "add_note"}, "{}")]))
    assert str(error.value).endswith(
        'sent tool call 0 with a name that is a JSON object ({"fn": "add_note"}); expected a '
        "string naming one of the offered tools"
    )


async def test_openai_a_body_nested_50000_deep_is_a_clear_model_error(fake_openai):
    text = json.dumps(body("ok"))[:-1] + ', "extra": ' + DEEP_TEXT + "}"
    with pytest.raises(ModelError) as error:
        await complete_once(fake_openai, text)
    assert str(error.value).endswith(
        "sent a body nested too deeply to read (more levels of lists and objects than "
        "Python's JSON decoder takes); expected a chat completion"
    )


async def test_openai_a_request_holding_a_lone_surrogate_is_a_clear_model_error(fake_openai):
    model = OpenAIModel("fake-model", base_url=fake_openai.base_url, api_key="sk-t", max_retries=0)
    request = ModelRequest(messages=[{"role": "user", "content": "a broken \ud83d instruction"}])
    with pytest.raises(ModelError) as error:
        await model.complete(request)
    await model.aclose()
    assert str(error.value).startswith("the request to model 'fake-model' at ")
    assert str(error.value).endswith(
        "holds text that cannot be encoded as UTF-8 (surrogates not allowed: '\\ud83d', half "
        "of a UTF-16 pair); fix that text where it comes from (the task's instruction, a tool "
        "schema)"
    )
    assert fake_openai.requests == []  # nothing was sent


# --- the scripted model -------------------------------------------------------------------


async def test_scripted_bad_values_are_coerced_with_notes():
    script = [
        {
            "content": {"answer": 1},
            "tool_calls": [{"name": 123, "arguments": {"text": "milk \ud83d"}}],
            "usage": {"prompt_tokens": 2**64, "completion_tokens": 4},
        }
    ]
    response = await ScriptedModel(script).complete(REQUEST)
    assert response.content == '{"answer": 1}'
    [call] = response.tool_calls
    assert (call.id, call.name, json.loads(call.arguments)) == (
        "call_1",
        "123",
        {"text": "milk \ufffd"},
    )
    assert (response.usage.prompt_tokens, response.usage.completion_tokens) == (0, 4)
    assert response.notes == [
        "usage.prompt_tokens was an integer of 65 bits, not a token count (an integer from 0 "
        "to 2**63 - 1): counted as 0",
        "tool call 0: the name was the number 123, not a string: used as '123'",
        "tool call 0 (123): the arguments were a JSON object, not a string of JSON: used as "
        "their JSON text",
        "tool call 0 (123)'s arguments held 1 lone surrogate(s) (half of a UTF-16 pair, which "
        "cannot be encoded as UTF-8): replaced by U+FFFD",
        'message content was a JSON object, not a string: used as its JSON text {"answer": 1}',
    ]


async def test_scripted_values_that_cannot_be_used_are_clear_model_errors():
    cases = [
        (
            {"tool": "add_note", "args": {"text": deep_list(50_000)}},
            "the scripted tool call 0 (add_note) has 'args' that cannot be encoded as JSON "
            "(nested too deeply); send them as text in 'arguments' instead",
        ),
        (
            {"tool_calls": [{"name": ["add_note"], "arguments": "{}"}]},
            'the scripted model sent tool call 0 with a name that is a JSON array (["add_note"]); '
            "expected a string naming one of the offered tools",
        ),
        (
            {"content": "ok", "usage": {"prompt": 3}},
            "a scripted 'usage' has unknown key(s) prompt; use prompt_tokens and completion_tokens",
        ),
    ]
    for reply, message in cases:
        with pytest.raises(ModelError) as error:
            await ScriptedModel([reply]).complete(REQUEST)
        assert str(error.value) == message


# --- tool invocation ----------------------------------------------------------------------


@tool
def echo(text: str) -> str:
    """Say it back.

    Args:
        text: What to say.
    """
    return text


@tool(strict=False)
def echo_all(items: list[Any]) -> dict[str, Any]:
    """Say them back.

    Args:
        items: What to say.
    """
    return {"items": items}


TOOLS = Toolset("echo", [echo, echo_all])


@pytest.mark.parametrize(
    "arguments",
    [
        DEEP_TEXT,  # json.loads raises RecursionError
        '{"items": ' + "[" * 500 + "]" * 500 + "}",  # decodes; no parameter needs it
    ],
    ids=["50000-deep", "500-deep"],
)
async def test_arguments_nested_too_deep_are_an_invalid_arguments_message(arguments):
    outcome = await invoke_tool(TOOLS, ToolCall("c1", "echo_all", arguments))
    assert not outcome.ok and outcome.error_kind == "invalid_arguments"
    assert outcome.arguments is None
    assert outcome.content.startswith(
        f"The arguments for echo_all are nested more than {MAX_ARGUMENT_DEPTH} levels deep; "
        "no parameter takes that. Send one JSON object of the parameters"
    )


async def test_a_numeric_tool_name_is_an_unknown_tool_message():
    outcome = await invoke_tool(TOOLS, ToolCall("c1", 123, "{}"))  # type: ignore[arg-type]
    assert outcome.error_kind == "unknown_tool"
    assert outcome.content.startswith("Unknown tool '123'.")


async def test_tool_output_with_lone_surrogates_reaches_the_model_cleaned():
    text = await invoke_tool(TOOLS, ToolCall("c1", "echo", '{"text": "milk \\ud83d"}'))
    assert text.ok and text.content == "milk \ufffd"
    data = await invoke_tool(TOOLS, ToolCall("c2", "echo_all", '{"items": ["\\ud83d"]}'))
    assert data.ok and json.loads(data.content) == {"items": ["\ufffd"]}


# --- end to end: the episode row is finished, the viewer and the export open it ------------


def _events(db: Path, episode_id: str, kind: str) -> list[dict[str, Any]]:
    with TraceReader(db) as reader:
        return [e["payload"] for e in reader.events(episode_id, kinds=[kind])]


def _finished(db: Path, tmp_path: Path) -> dict[str, Any]:
    episode = only_episode(db)
    assert episode["status"] != "running" and episode["ended"] is not None
    assert_trace_opens(db, episode["id"], tmp_path)
    return episode


# Each case: what the model sends for its first execute call (the OpenAI message fields,
# and the ScriptedModel reply), and what the trace then shows. The model answers "done"
# after it.
CASES: dict[str, tuple[dict[str, Any], dict[str, Any] | str]] = {
    "lone surrogate": ({"content": "half \ud83d emoji"}, "half \ud83d emoji"),
    "token counts beyond 64 bits": (
        {"content": "half done", "usage": {"prompt_tokens": 2**70, "completion_tokens": -1}},
        {"content": "half done", "usage": {"prompt_tokens": 2**70, "completion_tokens": -1}},
    ),
    "content an object": ({"content": {"note": 1}}, {"content": {"note": 1}}),
    "numeric tool name": (
        {"calls": [tool_call(7, "{}")]},
        {"tool_calls": [{"name": 7, "arguments": "{}"}]},
    ),
    "arguments an object": (
        {"calls": [tool_call("add_note", {"text": "buy milk"})]},
        {"tool_calls": [{"name": "add_note", "arguments": {"text": "buy milk"}}]},
    ),
    "arguments 50,000 deep": (
        {"calls": [tool_call("add_note", DEEP_TEXT)]},
        {"tool": "add_note", "arguments": DEEP_TEXT},
    ),
}


def _check_case(case: str, db: Path, episode_id: str) -> None:
    """What the trace shows for each case."""
    calls = _events(db, episode_id, "model_call")
    tools = _events(db, episode_id, "tool_call")
    first = calls[0]
    assert "error" not in first
    if case == "lone surrogate":
        assert first["response"]["content"] == "half \ufffd emoji"
    elif case == "token counts beyond 64 bits":
        assert first["usage"] == {"prompt_tokens": 0, "completion_tokens": 0}
    elif case == "content an object":
        assert first["response"]["content"] == '{"note": 1}'
    elif case == "numeric tool name":
        [made] = tools
        assert made["error_kind"] == "unknown_tool" and made["content"].startswith(
            "Unknown tool '7'."
        )
    elif case == "arguments an object":
        [sent] = first["response"]["tool_calls"]
        assert json.loads(sent["arguments"]) == {"text": "buy milk"}  # JSON text, as replayed
        [made] = tools
        assert made["ok"] and made["arguments"] == {"text": "buy milk"}
    elif case == "arguments 50,000 deep":
        [made] = tools
        assert made["error_kind"] == "invalid_arguments" and made["arguments"] is None
        assert made["content"].startswith("The arguments for add_note are nested more than 100")
        # the model read that message and went on
        assert len(calls) == 2


@pytest.mark.parametrize("case", list(CASES))
async def test_an_openai_episode_with_a_bad_value_is_finished_and_opens(
    case, fake_openai, tmp_path
):
    sent, _ = CASES[case]
    usage = sent.get("usage", {})
    fake_openai.push(
        Reply(body=body(sent.get("content"), sent.get("calls"), **usage)),
        Reply(body=body("done")),
    )
    model = OpenAIModel("fake-model", base_url=fake_openai.base_url, api_key="sk-t", max_retries=0)
    db = tmp_path / "t.db"
    await run([notes_task()], model=model, agent="single", db=db)
    episode = _finished(db, tmp_path)
    assert episode["status"] == "done" and episode["error"] is None, episode["error"]
    _check_case(case, db, episode["id"])


@pytest.mark.parametrize("case", list(CASES))
async def test_a_scripted_episode_with_a_bad_value_is_finished_and_opens(case, tmp_path):
    _, reply = CASES[case]
    db = tmp_path / "t.db"
    await run([notes_task()], model=ScriptedModel([reply, "done"]), agent="single", db=db)
    episode = _finished(db, tmp_path)
    assert episode["status"] == "done" and episode["error"] is None, episode["error"]
    _check_case(case, db, episode["id"])


async def test_a_model_error_from_a_bad_value_is_recorded_and_the_row_finished(tmp_path):
    name_is_a_list = {"tool_calls": [{"name": ["add_note"], "arguments": "{}"}]}
    db = tmp_path / "t.db"
    await run([notes_task()], model=ScriptedModel([name_is_a_list]), agent="single", db=db)
    episode = _finished(db, tmp_path)
    assert episode["status"] == "error"
    assert "sent tool call 0 with a name that is a JSON array" in episode["error"]
    [call] = _events(db, episode["id"], "model_call")
    assert call["error"].startswith("the scripted model sent tool call 0 with a name")
