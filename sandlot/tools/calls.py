"""Tool calls as the model makes them, and their outcomes as the model reads them.

Models send whatever their server sends: :func:`tool_call_from_model` and
:func:`text_from_model` turn a tool call's fields and a message's content into what the
agent works with (strings), saying in notes what they changed, and raise ``ValueError``
for what cannot be used. :func:`clean_text` replaces lone surrogates, which no UTF-8
writer (HTTP, SQLite, HTML) accepts.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "ErrorKind",
    "ToolCall",
    "ToolOutcome",
    "clean_text",
    "text_from_model",
    "tool_call_from_model",
]

# The same test and cleaning as sandlot.traces.redact.clean_text (the trace layer keeps
# its own: it does not import the tools).
_SURROGATE = re.compile("[\ud800-\udfff]")
_SHOW = 80  # characters of a bad value quoted in a message


def clean_text(text: str) -> str:
    """``text`` with every lone surrogate (half of a UTF-16 pair, as a model cut in the
    middle of an emoji sends it) replaced by U+FFFD, and a pair held as two code points
    joined into its character. Text without any comes back as is (one regex search)."""
    if _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def _kind(value: Any) -> str:
    """How JSON names the type of ``value``, for messages."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list | tuple):
        return "array"
    return type(value).__name__


def _shown(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, RecursionError):
        text = f"<{_kind(value)}>"
    text = clean_text(text)
    return text if len(text) <= _SHOW else text[: _SHOW - 3] + "..."


def _cleaned(text: str, what: str, notes: list[str]) -> str:
    cleaned = clean_text(text)
    lone = cleaned.count("\ufffd") - text.count("\ufffd")
    if lone:
        notes.append(
            f"{what} held {lone} lone surrogate(s) (half of a UTF-16 pair, which cannot be "
            "encoded as UTF-8): replaced by U+FFFD"
        )
    return cleaned


def _json_text(value: Any, what: str) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, RecursionError) as exc:
        reason = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ValueError(
            f"{what} as a JSON {_kind(value)} that cannot be encoded ({reason}); expected a string"
        ) from exc


def text_from_model(content: Any, what: str = "message content") -> tuple[str | None, list[str]]:
    """A message's content as the text the agent reads, and notes on what was changed.

    A string is kept (lone surrogates replaced by U+FFFD); None stays None; a list of
    text parts (``{"type": "text", "text": ...}`` or strings) is joined; any other JSON
    value (an object, a number) becomes its JSON text, which a planner can still read.

    Raises:
        ValueError: the content cannot be encoded as JSON (nested too deeply, a cycle);
            the message says what was sent and what was expected.
    """
    notes: list[str] = []
    if content is None:
        return None, notes
    if isinstance(content, str):
        return _cleaned(content, what, notes), notes
    if isinstance(content, list) and all(_text_part(p) is not None for p in content):
        parts = [_text_part(p) or "" for p in content]
        notes.append(f"{what} was a list of {len(parts)} text part(s), not a string: joined")
        return _cleaned("".join(parts), what, notes), notes
    text = _json_text(content, what)
    notes.append(
        f"{what} was a JSON {_kind(content)}, not a string: used as its JSON text {_shown(content)}"
    )
    return _cleaned(text, what, notes), notes


def _text_part(part: Any) -> str | None:
    if isinstance(part, str):
        return part
    if isinstance(part, dict) and part.get("type") == "text" and isinstance(part.get("text"), str):
        return part["text"]
    return None


def tool_call_from_model(
    index: int, call_id: Any, name: Any, arguments: Any
) -> tuple[ToolCall, list[str]]:
    """A ToolCall from the fields a model sent for call ``index``, and notes on what was
    changed.

    A numeric name or id becomes its decimal text (an unknown name then reaches the
    model as an ``unknown_tool`` message it can act on); arguments that are not a string
    become their JSON text (so that invoking the tool says what is wrong with them);
    missing arguments are ``{}``; lone surrogates become U+FFFD. A missing id is ``""``
    (the model gives it one).

    Raises:
        ValueError: no name, a name that is an object, array or boolean, or arguments
            that cannot be encoded as JSON; the message says what was sent and what was
            expected ("tool call 0 with a name that is a JSON object ...; expected ...").
    """
    notes: list[str] = []
    where = f"tool call {index}"
    if isinstance(name, int | float) and not isinstance(name, bool):
        text = str(name)
        notes.append(f"{where}: the name was the number {text}, not a string: used as {text!r}")
        name = text
    elif name is None or name == "":
        raise ValueError(f"{where} without a function name; expected the name of a tool")
    elif not isinstance(name, str):
        raise ValueError(
            f"{where} with a name that is a JSON {_kind(name)} ({_shown(name)}); expected a "
            "string naming one of the offered tools"
        )
    name = _cleaned(name, f"{where}'s name", notes)
    label = f"{where} ({name})"
    if call_id is None:
        call_id = ""
    elif not isinstance(call_id, str):
        text = _shown(call_id)
        notes.append(f"{label}: the id was a JSON {_kind(call_id)}, not a string: used as {text}")
        call_id = text
    call_id = _cleaned(call_id, f"{label}'s id", notes)
    if arguments is None:
        arguments = "{}"
    elif not isinstance(arguments, str):
        text = _json_text(arguments, f"{label} with arguments")
        notes.append(
            f"{label}: the arguments were a JSON {_kind(arguments)}, not a string of JSON: "
            "used as their JSON text"
        )
        arguments = text
    arguments = _cleaned(arguments, f"{label}'s arguments", notes)
    return ToolCall(id=call_id, name=name, arguments=arguments), notes


ErrorKind = Literal[
    "unknown_tool",  # the model named a tool that does not exist
    "invalid_json",  # the arguments were not a JSON object
    "invalid_arguments",  # the arguments failed the tool's pydantic model, or nest too deeply
    "tool_error",  # the tool raised ToolError (a refusal or a handled failure)
    "exception",  # the tool raised anything else
    "timeout",  # the tool ran past its time limit
]


@dataclass(frozen=True)
class ToolCall:
    """One call the model asked for. ``arguments`` is the raw JSON text the model sent."""

    id: str
    name: str
    arguments: str = "{}"

    def to_openai(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass
class ToolOutcome:
    """The result of running one ToolCall: always a message the model can act on.

    ``content`` is what the model sees (the result, or a message saying what was wrong).
    ``ok`` is False for every error kind; ``error_kind`` says which.
    ``value`` is the tool's raw return value when it succeeded (kept for traces).
    """

    call_id: str
    name: str
    content: str
    ok: bool = True
    error_kind: ErrorKind | None = None
    duration: float = 0.0
    arguments: dict[str, Any] | None = None
    value: Any = None
    # the tool's message when it ended the episode (it raised EndEpisode), else None
    ends_episode: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_message(self) -> dict[str, Any]:
        """The OpenAI-format ``tool`` message carrying this outcome."""
        return {"role": "tool", "tool_call_id": self.call_id, "content": self.content}
