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
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeAlias

from sandlot.agents.models.base import Model, ModelError, ModelRequest, ModelResponse, Usage
from sandlot.tools.calls import ToolCall

__all__ = ["ResponseLike", "ScriptedModel", "call", "text", "to_response"]

# A text reply; {"tool": name, "args": {...}}; {"tool_calls": [...], "content": ...};
# a list of tool dicts (parallel calls); or a ready ModelResponse.
ResponseLike: TypeAlias = ModelResponse | str | dict[str, Any] | list[dict[str, Any]]
Script: TypeAlias = (
    Sequence[ResponseLike] | Callable[[ModelRequest], ResponseLike | Awaitable[ResponseLike]]
)


def text(content: str) -> ModelResponse:
    """A plain text reply (no tool calls)."""
    return ModelResponse(content=content)


def call(name: str, **args: Any) -> ModelResponse:
    """A reply making one tool call; the scripted model gives it a deterministic id."""
    return ModelResponse(tool_calls=[ToolCall(id="", name=name, arguments=json.dumps(args))])


def _tool_call(item: Any) -> ToolCall:
    """One tool call from ``{"tool", "args"}`` or ``{"id", "name", "arguments"}``."""
    if isinstance(item, ToolCall):
        return item
    if not isinstance(item, dict):
        raise ModelError(
            f"a scripted tool call must be a dict, got {type(item).__name__}: {item!r}"
        )
    name = item.get("tool", item.get("name"))
    if not isinstance(name, str) or not name:
        raise ModelError(f"a scripted tool call needs a 'tool' (or 'name') string: {item!r}")
    # Raw "arguments" text is sent as is, so a script can send invalid JSON on purpose.
    arguments = item.get("arguments")
    if arguments is None:
        arguments = json.dumps(item.get("args", {}))
    elif not isinstance(arguments, str):
        arguments = json.dumps(arguments)
    return ToolCall(id=str(item.get("id", "")), name=name, arguments=arguments)


def to_response(value: ResponseLike) -> ModelResponse:
    """Turn anything a script may return into a ModelResponse (ids may still be empty).

    Raises:
        ModelError: ``value`` has none of the accepted shapes.
    """
    if isinstance(value, ModelResponse):
        return value
    if isinstance(value, str):
        return ModelResponse(content=value)
    if isinstance(value, list):
        return ModelResponse(tool_calls=[_tool_call(item) for item in value])
    if isinstance(value, dict):
        usage = Usage(**value["usage"]) if isinstance(value.get("usage"), dict) else Usage()
        if "tool" in value:
            return ModelResponse(
                content=value.get("content"), tool_calls=[_tool_call(value)], usage=usage
            )
        if "tool_calls" in value or "content" in value:
            calls = [_tool_call(item) for item in value.get("tool_calls") or []]
            return ModelResponse(content=value.get("content"), tool_calls=calls, usage=usage)
    raise ModelError(
        f"cannot read scripted response {value!r}: use a string, a ModelResponse, "
        '{"tool": name, "args": {...}}, {"tool_calls": [...], "content": ...} or a list of tool dicts'
    )


class ScriptedModel(Model):
    """Answers from a list (consumed in order) or a function of the request.

    Args:
        script: The responses, or a (sync or async) function from ModelRequest to a response.
        plan: When given, planner requests (purpose "plan") are answered with
            ``{"steps": plan}`` without consuming the script.
        name: The model name stored in traces.

    Attributes:
        requests: Every request received, in order, for assertions.
    """

    def __init__(
        self, script: Script, *, plan: list[str] | None = None, name: str = "scripted"
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
        response = to_response(value)
        # Empty ids get deterministic ones so tool messages can refer to them.
        calls = [
            c if c.id else dataclasses.replace(c, id=f"call_{next(self._ids)}")
            for c in response.tool_calls
        ]
        return dataclasses.replace(response, tool_calls=calls, model=response.model or self.name)

    def describe(self) -> dict[str, Any]:
        kind = "function" if callable(self._script) else f"list of {len(self._script)}"
        return {"name": self.name, "kind": type(self).__name__, "script": kind}
