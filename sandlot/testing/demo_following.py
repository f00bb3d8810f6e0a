"""A scripted model that follows demonstrations, for measuring what they are worth
without a real model.

:class:`DemoFollowingModel` plans one step (the request itself). As executor it reads
the "Examples of solved requests" block in its messages, takes the first example (the
most similar) and replays its tool calls one per reply, each argument that was a value
of the example's request (an order id, an email address, a phone number) swapped for
the value in the same place of this request. Then it submits the example's answer,
with the same swaps, followed by the results of its calls. Without demonstrations it
does something naive: it calls the first tool offered with no arguments, then submits
what came back.
"""

from __future__ import annotations

import json
import re
from typing import Any

from sandlot.agents.graph.prompts import DEMOS_HEADING
from sandlot.agents.models.base import Model, ModelRequest, ModelResponse
from sandlot.environments.trajectory import SUBMIT_TOOL
from sandlot.tools.calls import ToolCall

__all__ = ["DemoFollowingModel", "parse_demos", "swap_values"]

_KINDS = (
    ("email", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")),
    ("phone", re.compile(r"\+\d[\d ]{5,}\d")),
    ("number", re.compile(r"(?<![\w.])\d+(?![\w])")),
)
_CALL = re.compile(r"^\d+\. (\S+) (.*)$")


def _values(text: str) -> dict[str, list[str]]:
    """The values of each kind in ``text``, in order (an email's or a phone's digits are
    not also numbers)."""
    found: dict[str, list[str]] = {}
    for kind, pattern in _KINDS:
        found[kind] = pattern.findall(text)
        text = pattern.sub(" ", text)
    return found


def swap_values(value: Any, demo_request: str, request: str) -> Any:
    """``value`` (an argument of the example) with a value of the example's request
    replaced by the one in the same place of ``request``; unchanged otherwise. Lists and
    dicts are swapped item by item."""
    if isinstance(value, dict):
        return {k: swap_values(v, demo_request, request) for k, v in value.items()}
    if isinstance(value, list):
        return [swap_values(v, demo_request, request) for v in value]
    if isinstance(value, bool) or not isinstance(value, str | int):
        return value
    old, new = _values(demo_request), _values(request)
    for kind in old:
        if str(value) in old[kind]:
            i = old[kind].index(str(value))
            if i < len(new[kind]):
                swapped = new[kind][i]
                return int(swapped) if isinstance(value, int) else swapped
    if isinstance(value, str):  # a value inside a longer text
        for kind in old:
            for i, v in enumerate(old[kind]):
                if v in value and i < len(new[kind]):
                    value = value.replace(v, new[kind][i])
    return value


def parse_demos(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The examples shown in ``messages``: each one's request, calls (name, arguments)
    and answer."""
    block = next(
        (
            m["content"]
            for m in messages
            if m.get("role") in ("user", "system")
            and isinstance(m.get("content"), str)
            and m["content"].startswith(DEMOS_HEADING)
        ),
        None,
    )
    if block is None:
        return []
    demos: list[dict[str, Any]] = []
    for chunk in re.split(r"\n\nExample \d+:\n", "\n\n" + block.split("\n\n", 1)[-1]):
        lines = chunk.strip().splitlines()
        if not lines or not lines[0].startswith("Request: "):
            continue
        demo: dict[str, Any] = {"request": lines[0][9:], "calls": [], "answer": ""}
        for line in lines[1:]:
            if line.startswith("Answer: "):
                demo["answer"] = line[8:]
            match = _CALL.match(line)
            if match:
                try:
                    args, _ = json.JSONDecoder().raw_decode(match.group(2))
                except json.JSONDecodeError:
                    continue
                demo["calls"].append((match.group(1), args))
        demos.append(demo)
    return demos


def _request_of(messages: list[dict[str, Any]]) -> str:
    """The user's request: the first user message that is not the examples block."""
    for m in messages:
        content = m.get("content")
        if (
            m.get("role") == "user"
            and isinstance(content, str)
            and not content.startswith(DEMOS_HEADING)
        ):
            return content
    return ""


class DemoFollowingModel(Model):
    """Replays the most similar demonstration's tool calls with this request's values
    (see the module's docstring); stateless, so one serves concurrent episodes."""

    name = "demo-following"

    async def complete(self, request: ModelRequest) -> ModelResponse:
        request_text = _request_of(request.messages)
        if request.purpose == "plan":
            instruction = request.task.instruction if request.task else request_text
            return ModelResponse(content=json.dumps({"steps": [instruction]}))
        results = [str(m.get("content") or "") for m in request.messages if m.get("role") == "tool"]
        demos = parse_demos(request.messages)
        if demos:
            demo = demos[0]
            calls = [
                (name, swap_values(args, demo["request"], request_text))
                for name, args in demo["calls"]
            ]
            answer = swap_values(demo["answer"], demo["request"], request_text)
        else:
            offered = [
                t["function"]["name"] for t in request.tools if t["function"]["name"] != SUBMIT_TOOL
            ]
            calls = [(offered[0], {})] if offered else []
            answer = ""
        done = len(results)
        if done < len(calls):
            name, args = calls[done]
            return ModelResponse(
                tool_calls=[ToolCall(id=f"d{done}", name=name, arguments=json.dumps(args))]
            )
        answer = " ".join([answer, *results]).strip() or "Done."
        return ModelResponse(
            tool_calls=[
                ToolCall(id="submit", name=SUBMIT_TOOL, arguments=json.dumps({"answer": answer}))
            ]
        )
