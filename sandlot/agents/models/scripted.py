"""A model that answers from a script: a list of responses or a function. No network.

Used by tests and examples to drive the planner/executor graph deterministically::

    model = ScriptedModel(
        [{"tool": "add_note", "args": {"text": "buy milk"}}, "Added.", call("submit_answer", answer="1")],
        plan=["Add the note", "Answer"],
    )
"""

from __future__ import annotations

import dataclasses
import inspect
import itertools
import json
import reprlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeAlias

from sandlot.agents.models.base import Model, ModelError, ModelRequest, ModelResponse, Usage
from sandlot.tools.calls import ToolCall, tool_call_from_model

__all__ = ["ResponseLike", "ScriptedModel", "call", "text", "to_response"]

# A text reply; {"tool": name, "args": {...}}; {"tool_calls": [...], "content": ...};
# a list of tool dicts (parallel calls); or a ready ModelResponse.
ResponseLike: TypeAlias = ModelResponse | str | dict[str, Any] | list[dict[str, Any]]
_REPR = reprlib.Repr()  # bad script items in messages: short, and safe however deep
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 6, 200, 200
Script: TypeAlias = (
    Sequence[ResponseLike] | Callable[[ModelRequest], ResponseLike | Awaitable[ResponseLike]]
)


def text(content: str) -> ModelResponse:
    """A plain text reply (no tool calls)."""
    return ModelResponse(content=content)


def call(name: str, **args: Any) -> ModelResponse:
    """A reply making one tool call; the scripted model gives it a deterministic id."""
    return ModelResponse(tool_calls=[ToolCall(id="", name=name, arguments=json.dumps(args))])


def _tool_call(item: Any, index: int = 0) -> tuple[ToolCall, list[str]]:
    """One tool call from ``{"tool", "args"}`` or ``{"id", "name", "arguments"}``, and
    notes on what had to be changed (a numeric name, arguments that are not a string)."""
    if isinstance(item, ToolCall):
        return item, []
    if not isinstance(item, dict):
        raise ModelError(
            f"a scripted tool call must be a dict, got {type(item).__name__}: {_REPR.repr(item)}"
        )
    name = item.get("tool", item.get("name"))
    if name is None or name == "":
        raise ModelError(
            f"a scripted tool call needs a 'tool' (or 'name') string: {_REPR.repr(item)}"
        )
    # Raw "arguments" text is sent as is, so a script can send invalid JSON on purpose.
    arguments = item.get("arguments")
    if arguments is None:
        try:
            arguments = json.dumps(item.get("args", {}))
        except (TypeError, ValueError, RecursionError) as exc:
            raise ModelError(
                f"the scripted tool call {index} ({name}) has 'args' that cannot be encoded "
                f"as JSON ({'nested too deeply' if isinstance(exc, RecursionError) else exc}); "
                "send them as text in 'arguments' instead"
            ) from exc
    try:
        return tool_call_from_model(index, item.get("id"), name, arguments)
    except ValueError as exc:
        raise ModelError(f"the scripted model sent {exc}") from exc


def _usage(value: Any) -> tuple[Usage, list[str]]:
    if value is None:
        return Usage(), []
    if not isinstance(value, dict):
        raise ModelError(
            f"a scripted 'usage' must be a dict of prompt_tokens and completion_tokens, got "
            f"{type(value).__name__}"
        )
    unknown = sorted(set(value) - {"prompt_tokens", "completion_tokens", "total_tokens"})
    if unknown:
        raise ModelError(
            f"a scripted 'usage' has unknown key(s) {', '.join(map(str, unknown))}; use "
            "prompt_tokens and completion_tokens"
        )
    return Usage.checked(value.get("prompt_tokens"), value.get("completion_tokens"))


def _checked(response: ModelResponse) -> ModelResponse:
    try:
        return response.checked()
    except ValueError as exc:
        raise ModelError(f"the scripted model sent {exc}") from exc


def to_response(value: ResponseLike) -> ModelResponse:
    """Turn anything a script may return into a ModelResponse (ids may still be empty).

    A ready ModelResponse comes back as it is; the other shapes are checked as
    :meth:`ScriptedModel.complete` checks every reply (content that is not a string,
    a numeric tool name and token counts that are not counts are changed, with a note).

    Raises:
        ModelError: ``value`` has none of the accepted shapes, or holds a value that
            cannot be used.
    """
    if isinstance(value, ModelResponse):
        return value
    if isinstance(value, str):
        return _checked(ModelResponse(content=value))
    if isinstance(value, list):
        return _checked(_with_calls(None, value, Usage(), []))
    if isinstance(value, dict):
        usage, notes = _usage(value.get("usage"))
        if "tool" in value:
            return _checked(_with_calls(value.get("content"), [value], usage, notes))
        if "tool_calls" in value or "content" in value:
            calls = value.get("tool_calls") or []
            if not isinstance(calls, list):
                raise ModelError(
                    f"a scripted 'tool_calls' must be a list of tool dicts, got "
                    f"{type(calls).__name__}"
                )
            return _checked(_with_calls(value.get("content"), calls, usage, notes))
    raise ModelError(
        f"cannot read scripted response {_REPR.repr(value)}: use a string, a ModelResponse, "
        '{"tool": name, "args": {...}}, {"tool_calls": [...], "content": ...} or a list of tool dicts'
    )


def _with_calls(content: Any, items: list[Any], usage: Usage, notes: list[str]) -> ModelResponse:
    calls = []
    for i, item in enumerate(items):
        call, found = _tool_call(item, i)
        calls.append(call)
        notes = [*notes, *found]
    return ModelResponse(content=content, tool_calls=calls, usage=usage, notes=notes)


class ScriptedModel(Model):
    """Answers from a list (consumed in order) or a function of the request.

    Args:
        script: The responses, or a (sync or async) function from ModelRequest to a response.
        plan: When given, planner requests (purpose "plan") are answered with
            ``{"steps": plan}`` without consuming the script (a step is a string, or
            ``{"text": ..., "after": [...]}`` for parallel steps).
        name: The model name stored in traces.

    Attributes:
        requests: Every request received, in order, for assertions.
    """

    def __init__(
        self,
        script: Script,
        *,
        plan: Sequence[str | dict[str, Any]] | None = None,
        name: str = "scripted",
    ) -> None:
        if isinstance(script, str | bytes) or not (
            callable(script) or isinstance(script, Sequence)
        ):
            raise TypeError(
                f"ScriptedModel needs a list of responses or a function, got {type(script).__name__}"
            )
        self.name = name
        self.plan = list(plan) if plan is not None else None
        self.requests: list[ModelRequest] = []
        self._script = script
        self._position = 0  # next item of a list script
        self._ids = itertools.count(1)

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        if request.purpose == "plan" and self.plan is not None:
            return ModelResponse(content=json.dumps({"steps": self.plan}), model=self.name)
        if callable(self._script):
            value = self._script(request)
            if inspect.isawaitable(value):
                value = await value
        else:
            if self._position >= len(self._script):
                raise ModelError(
                    f"scripted model ran out of responses after {self._position} calls "
                    f"(this {request.purpose} request is call {self._position + 1}); "
                    "add responses to the script"
                )
            value = self._script[self._position]
            self._position += 1
        response = _checked(to_response(value))  # a ready ModelResponse is checked here
        # Empty ids get deterministic ones so tool messages can refer to them.
        calls = [
            c if c.id else dataclasses.replace(c, id=f"call_{next(self._ids)}")
            for c in response.tool_calls
        ]
        return dataclasses.replace(response, tool_calls=calls, model=response.model or self.name)

    def describe(self) -> dict[str, Any]:
        kind = "function" if callable(self._script) else f"list of {len(self._script)}"
        return {
            "name": self.name,
            "kind": type(self).__name__,
            "script": kind,
            **self.describe_price(),
        }
