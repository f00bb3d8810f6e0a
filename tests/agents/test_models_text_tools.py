"""Tool calls written in text: the formats small models write, and the prompt they see."""

from __future__ import annotations

import json

import pytest

from sandlot.agents.models.text_tools import messages_as_text, parse_text_tool_calls, render_tools

KNOWN = {"get_order", "list_orders"}
ORDER = {"order_id": 1003}


def _calls(text: str) -> list[tuple[str, dict]]:
    found = parse_text_tool_calls(text, KNOWN)
    return [(c.name, json.loads(c.arguments)) for c in found.calls]


@pytest.mark.parametrize(
    ("text", "fmt"),
    [
        (
            '<tool_call>{"name": "get_order", "arguments": {"order_id": 1003}}</tool_call>',
            "tool_call",
        ),
        ('<tool_call>\n{"name": "get_order", "arguments": {"order_id": 1003}}\n', "tool_call"),
        ('<function=get_order>{"order_id": 1003}</function>', "function_tag"),
        (
            '<|python_tag|>{"name": "get_order", "parameters": {"order_id": 1003}}<|eom_id|>',
            "python_tag",
        ),
        ('[TOOL_CALLS] [{"name": "get_order", "arguments": {"order_id": 1003}}]', "mistral"),
        ('```json\n{"tool": "get_order", "args": {"order_id": 1003}}\n```', "fence"),
        ("```tool_code\nget_order(order_id=1003)\n```", "fence"),
        ('{"name": "get_order", "arguments": "{\\"order_id\\": 1003}"}', "json"),
        (
            'Let me look. {"function": {"name": "get_order", "arguments": {"order_id": 1003}}}',
            "json",
        ),
    ],
)
def test_every_common_format_is_read(text, fmt):
    found = parse_text_tool_calls(text, KNOWN)
    assert [(c.name, json.loads(c.arguments)) for c in found.calls] == [("get_order", ORDER)]
    assert found.formats == [fmt]


def test_several_calls_keep_their_order_and_unique_ids():
    text = (
        '<tool_call>{"name": "list_orders", "arguments": {}}</tool_call>\n'
        '<tool_call>{"name": "get_order", "arguments": {"order_id": 1003}}</tool_call>'
    )
    found = parse_text_tool_calls(text, KNOWN)
    assert [c.name for c in found.calls] == ["list_orders", "get_order"]
    assert len({c.id for c in found.calls}) == 2
    assert found.text == ""


def test_text_around_the_calls_is_kept_and_unknown_names_are_not_calls():
    found = parse_text_tool_calls(
        'I will check.\n<tool_call>{"name": "get_order", "arguments": {"order_id": 1}}</tool_call>',
        KNOWN,
    )
    assert found.text == "I will check." and len(found.calls) == 1
    assert _calls('{"name": "delete_everything", "arguments": {}}') == []
    assert _calls('The order is {"status": "shipped"}.') == []
    assert _calls("get_order(order_id=1003)") == []  # python style only inside a fence
    assert _calls("```python\nprint(get_order(order_id=1))\n```") == []


@pytest.mark.parametrize(
    "garbage",
    [
        "",
        "<tool_call>",
        "<tool_call>{not json</tool_call>",
        "```tool_code\nget_order(1003)\n```",
        "[TOOL_CALLS] null",
        "{" * 5000,
        "<function=get_order>[1, 2]</function>",
    ],
)
def test_garbage_is_never_an_error(garbage):
    found = parse_text_tool_calls(garbage, KNOWN)
    assert all(c.name in KNOWN for c in found.calls)


def test_the_prompt_lists_each_tool_with_its_arguments_and_the_call_format():
    schema = {
        "type": "function",
        "function": {
            "name": "get_order",
            "description": "Look up one order.",
            "parameters": {
                "type": "object",
                "properties": {"order_id": {"type": "integer", "description": "The id."}},
                "required": ["order_id"],
            },
        },
    }
    text = render_tools([schema])
    listed = text.split("<tools>\n")[1].split("\n</tools>")[0]
    assert json.loads(listed) == schema["function"]  # the schema itself, as JSON
    example = text.split("<tool_call>")[1].split("</tool_call>")[0]
    assert json.loads(example) == [{"name": "get_order", "arguments": {"order_id": 1}}]
    [found] = parse_text_tool_calls(f"<tool_call>{example}</tool_call>", KNOWN).calls
    assert found.name == "get_order"  # the example is in a format the parser reads


def test_a_conversation_with_tool_calls_becomes_plain_turns():
    schema = {"type": "function", "function": {"name": "get_order", "description": "d"}}
    messages = [
        {"role": "system", "content": "Be helpful."},
        {"role": "user", "content": "Where is 1003?"},
        {
            "role": "assistant",
            "content": None,
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "get_order", "arguments": '{"order_id": 1003}'},
                },
                {
                    "id": "c2",
                    "type": "function",
                    "function": {"name": "get_order", "arguments": '{"order_id": 1004}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "c1", "name": "get_order", "content": "shipped"},
        {"role": "tool", "tool_call_id": "c2", "name": "get_order", "content": "pending"},
    ]
    out = messages_as_text(messages, [schema])
    assert [m["role"] for m in out] == ["system", "user", "assistant", "user"]
    assert (
        out[0]["content"].startswith("Be helpful.") and '"name": "get_order"' in out[0]["content"]
    )
    assert out[2]["content"].count("<tool_call>") == 2 and "tool_calls" not in out[2]
    assert "shipped" in out[3]["content"] and "pending" in out[3]["content"]
    assert messages[2]["tool_calls"]  # the original is left as it was
