"""Tool calling for models without native tool calls: the tool schemas rendered into the
prompt, the conversation's earlier calls and results written as text, and tool calls
read back from the reply's text.

A reply's calls are found in the formats small open models write:

* ``<tool_call>{"name": ..., "arguments": {...}}</tool_call>`` (Hermes, Qwen, SmolLM);
* ``<function=NAME>{...}</function>`` (Llama 3.1) and ``<|python_tag|>{...}``;
* ``[TOOL_CALLS] [{"name": ..., "arguments": {...}}]`` (Mistral);
* a fenced block (```json, ```tool_code, ```python ...) or a bare JSON object or list
  with a ``name`` (or ``tool`` / ``function``) and ``arguments`` (or ``parameters`` /
  ``args``);
* a Python-style call ``NAME(key=value, ...)`` in a ``tool_code`` or ``python`` fence
  (Gemma).

Only names of the offered tools count, so an answer that happens to hold JSON is not
read as a call. This is the opt-in ``tool_calls="text"`` mode of
:class:`~sandlot.agents.models.openai.OpenAIModel`; the mode is recorded in the run's
model description and every reply read this way says so in its notes.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

from sandlot.tools.calls import ToolCall

__all__ = [
    "TextToolCalls",
    "messages_as_text",
    "parse_text_tool_calls",
    "render_tools",
]


def render_tools(schemas: list[dict[str, Any]]) -> str:
    """The system-prompt text that gives a model the tools (their JSON schemas, in the
    ``<tools>`` block that Hermes-style templates use) and how to call them, shown with a
    call of the first tool: small models follow an example better than a placeholder
    they may copy."""
    functions = [s.get("function", s) for s in schemas]
    listed = "\n".join(json.dumps(fn, ensure_ascii=False) for fn in functions)
    return (
        "You can call tools. The tools, as JSON schemas:\n"
        f"<tools>\n{listed}\n</tools>\n"
        "To call tools, reply with only a tool_call block holding a list with one object "
        "per call, for example:\n"
        f"<tool_call>{_example(functions[0]) if functions else '[]'}</tool_call>\n"
        "When you need no tool, answer in plain text."
    )


def _example(fn: dict[str, Any]) -> str:
    props = (fn.get("parameters") or {}).get("properties") or {}
    samples: dict[str, Any] = {
        "integer": 1, "number": 1.5, "boolean": True, "array": [], "object": {}
    }  # fmt: skip
    args = {
        name: samples.get(str(spec.get("type")) if isinstance(spec, dict) else "", "text")
        for name, spec in props.items()
    }
    return json.dumps([{"name": fn.get("name"), "arguments": args}])


def messages_as_text(
    messages: list[dict[str, Any]], schemas: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    """``messages`` for a server without tool calling: the tools in the (first) system
    message, each earlier assistant tool call written as a ``<tool_call>`` block, and
    each tool result as a user message (chat templates without tools refuse the
    ``tool`` role)."""
    out: list[dict[str, Any]] = []
    tools_text = render_tools(schemas) if schemas else ""
    placed = not tools_text
    for message in messages:
        role = message.get("role")
        if role == "system" and not placed:
            out.append(
                {"role": "system", "content": f"{message.get('content') or ''}\n\n{tools_text}"}
            )
            placed = True
        elif role == "assistant" and message.get("tool_calls"):
            blocks = [
                "<tool_call>"
                + json.dumps({"name": c["function"]["name"], "arguments": _args(c["function"])})
                + "</tool_call>"
                for c in message["tool_calls"]
            ]
            text = "\n".join(filter(None, [message.get("content") or "", *blocks]))
            out.append({"role": "assistant", "content": text})
        elif role == "tool":
            name = message.get("name") or "tool"
            out.append(
                {
                    "role": "user",
                    "content": f"<tool_response name={json.dumps(name)}>\n"
                    f"{message.get('content') or ''}\n</tool_response>",
                }
            )
        else:
            out.append(dict(message))
    if not placed:
        out.insert(0, {"role": "system", "content": tools_text})
    return _merge_same_roles(out)


def _args(function: dict[str, Any]) -> Any:
    raw = function.get("arguments") or "{}"
    try:
        return json.loads(raw)
    except (TypeError, ValueError):
        return raw


def _merge_same_roles(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Consecutive user messages joined: several tool results in a row become one turn
    (templates that insist on alternating roles refuse two user turns)."""
    merged: list[dict[str, Any]] = []
    for m in messages:
        if merged and m.get("role") == "user" and merged[-1].get("role") == "user":
            merged[-1] = {**merged[-1], "content": f"{merged[-1]['content']}\n{m['content']}"}
        else:
            merged.append(m)
    return merged


@dataclass
class TextToolCalls:
    """What a reply's text held: the calls, the text left around them, the formats."""

    calls: list[ToolCall]
    text: str
    formats: list[str]


_TAGGED = [
    ("tool_call", re.compile(r"<tool_call>\s*(.*?)\s*(?:</tool_call>|$)", re.S)),
    ("function_tag", re.compile(r"<function=([\w.-]+)>\s*(.*?)\s*(?:</function>|$)", re.S)),
    ("python_tag", re.compile(r"<\|python_tag\|>\s*(.*?)\s*(?:<\|eom_id\|>|<\|eot_id\|>|$)", re.S)),
    ("mistral", re.compile(r"\[TOOL_CALLS\]\s*(.*?)\s*(?:</s>|$)", re.S)),
    ("fence", re.compile(r"```[ \t]*([\w-]*)[ \t]*\n(.*?)(?:```|$)", re.S)),
]
_NAME_KEYS = ("name", "tool", "function", "tool_name")
_ARG_KEYS = ("arguments", "parameters", "args", "input")


def parse_text_tool_calls(text: str | None, known: Collection[str]) -> TextToolCalls:
    """The calls to tools named in ``known`` that ``text`` holds, in order."""
    if not text:
        return TextToolCalls([], text or "", [])
    calls: list[tuple[str, Any]] = []
    formats: list[str] = []
    spans: list[tuple[int, int]] = []
    for fmt, pattern in _TAGGED:
        for match in pattern.finditer(text):
            if any(s <= match.start() < e for s, e in spans):
                continue
            found = list(_from_match(fmt, match, known))
            if found:
                calls.extend(found)
                formats.append(fmt)
                spans.append(match.span())
    if not calls:
        found = list(_from_json_text(text.strip(), known))
        if found:
            calls.extend(found)
            formats.append("json")
            spans.append((0, len(text)))
    rest = text
    for start, end in sorted(spans, reverse=True):
        rest = rest[:start] + rest[end:]
    tool_calls = [
        ToolCall(f"text-call-{i}", name, json.dumps(args) if not isinstance(args, str) else args)
        for i, (name, args) in enumerate(calls)
    ]
    return TextToolCalls(tool_calls, rest.strip(), sorted(set(formats), key=formats.index))


def _from_match(
    fmt: str, match: re.Match[str], known: Collection[str]
) -> Iterator[tuple[str, Any]]:
    if fmt == "function_tag":
        name, body = match.group(1), match.group(2)
        if name in known:
            args = _json(body)
            yield name, args if isinstance(args, dict) else {}
        return
    if fmt == "fence":
        lang, body = match.group(1).lower(), match.group(2)
        if lang in ("tool_code", "python", "py"):
            found = list(_from_python(body, known))
            if found:
                yield from found
                return
        yield from _from_json_text(body.strip(), known)
        return
    yield from _from_json_text(match.group(1).strip(), known)


def _from_json_text(body: str, known: Collection[str]) -> Iterator[tuple[str, Any]]:
    value = _json(body)
    if value is None:
        start = body.find("{")
        end = body.rfind("}")
        if start < 0 or end <= start:
            return
        value = _json(body[start : end + 1])
    items = value if isinstance(value, list) else [value]
    for item in items:
        call = _call_of(item, known)
        if call is not None:
            yield call


def _call_of(item: Any, known: Collection[str]) -> tuple[str, Any] | None:
    if not isinstance(item, dict):
        return None
    if isinstance(item.get("function"), dict):  # {"function": {"name":..., "arguments":...}}
        return _call_of(item["function"], known)
    name = next((item[k] for k in _NAME_KEYS if isinstance(item.get(k), str)), None)
    if name not in known:
        return None
    args: Any = next((item[k] for k in _ARG_KEYS if k in item), {})
    if isinstance(args, str):
        parsed = _json(args)
        args = parsed if isinstance(parsed, dict) else args
    return str(name), args


def _from_python(body: str, known: Collection[str]) -> Iterator[tuple[str, Any]]:
    """``name(key=value, ...)`` calls to known tools, values as Python literals."""
    for line in body.strip().splitlines():
        try:
            tree = ast.parse(line.strip(), mode="eval")
        except SyntaxError:
            continue
        node = tree.body
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
            continue
        if node.func.id not in known or node.args:
            continue
        try:
            args = {kw.arg: ast.literal_eval(kw.value) for kw in node.keywords if kw.arg}
        except (ValueError, SyntaxError):
            continue
        yield node.func.id, args


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        return None
