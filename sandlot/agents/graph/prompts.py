"""The prompts the planner and executor send. Kept apart so they can be read and tuned.

They are generic: no world's name or rules. A world's policy (with its task's addition,
``Environment.system_prompt``) follows them in the system message (:func:`with_policy`).
"""

from __future__ import annotations

import json
import re
from typing import Any, NamedTuple

from sandlot.environments.trajectory import STEP_FAILED

__all__ = [
    "DEMOS_HEADING",
    "EXECUTOR_SYSTEM",
    "PLANNER_PARALLEL",
    "PLANNER_SYSTEM",
    "PlannedStep",
    "POLICY_HEADING",
    "SINGLE_AGENT_SYSTEM",
    "demos_message",
    "parse_plan",
    "parse_plan_steps",
    "planner_user_message",
    "step_message",
    "unlisted_line",
    "with_policy",
]

PLANNER_SYSTEM = (
    "You are the planner of a tool-using agent. Break the user's request into a short "
    "ordered list of concrete steps; each step should need at most a few tool calls. "
    "The last step gives the final answer to the user. If the request must be refused "
    "(it breaks a rule) or needs no tool, plan a single step that answers it. "
    "Reply with JSON only: "
    '{"steps": ["...", "..."]}'
)

PLANNER_PARALLEL = (
    "Steps that do not need each other's results can run at the same time. Give a step "
    'as {"text": "...", "after": [...]} with the numbers (from 0) of the earlier steps '
    'whose results it needs; "after": [] for a step that needs none. A step given as a '
    "plain string needs the step before it. For example: "
    '{"steps": [{"text": "Look up A", "after": []}, {"text": "Look up B", "after": []}, '
    '{"text": "Compare A and B and answer", "after": [0, 1]}]}'
)

EXECUTOR_SYSTEM = (
    "You are an agent that completes one step of a plan at a time using the tools offered. "
    "Call tools when needed. When the current step is finished, reply with a short text "
    "summary of its result and no tool call. If the step cannot be done, reply with text "
    f"starting with '{STEP_FAILED}:' and the reason. When you know the final answer for the "
    "user, call submit_answer with it. Follow the policy (below, when there is one) and "
    "the rules the tools enforce; refuse requests that break them and explain why."
)

SINGLE_AGENT_SYSTEM = (
    "You are an agent that completes the user's request using the tools offered. Call "
    "tools as needed, then call submit_answer with the final answer for the user. Follow "
    "the policy (below, when there is one) and the rules the tools enforce; refuse requests "
    "that break them and explain why."
)

POLICY_HEADING = "Policy (the rules of the environment you act in):"


def with_policy(system: str, policy: str) -> str:
    """A generic system prompt with the world's policy after it, under
    :data:`POLICY_HEADING`; the prompt alone when there is no policy."""
    policy = policy.strip()
    return f"{system}\n\n{POLICY_HEADING}\n{policy}" if policy else system


DEMOS_HEADING = (
    "Examples of solved requests (earlier episodes of other requests, for reference only; "
    "the request to do follows them):"
)


def demos_message(demos: list[str]) -> str:
    """The message that shows the executor past solved requests (each already in its
    compact form), under :data:`DEMOS_HEADING`."""
    blocks = "\n\n".join(f"Example {i + 1}:\n{text}" for i, text in enumerate(demos))
    return f"{DEMOS_HEADING}\n\n{blocks}"


def planner_user_message(
    instruction: str,
    tool_descriptions: dict[str, str],
    *,
    completed: list[str] | None = None,
    failed: str | None = None,
    reason: str | None = None,
    unlisted: int = 0,
) -> str:
    """The planner's request: the user's request, the tools it is shown (name: one-line
    description), what was done and what failed. ``unlisted`` tools exist beyond those
    shown (a catalog too large to list): the message says so, and asks for steps that
    describe what they need, since each step's own retrieval finds its tools."""
    catalog = "\n".join(f"- {name}: {desc}" for name, desc in tool_descriptions.items())
    heading = "Available tools" if not unlisted else "Available tools (those most relevant)"
    text = f"Request:\n{instruction}\n\n{heading}:\n{catalog or '(none)'}"
    if unlisted:
        text += "\n" + unlisted_line(unlisted)
    if completed:
        text += "\n\nSteps already completed:\n" + "\n".join(f"- {s}" for s in completed)
    if failed:
        text += f"\n\nThis step failed: {failed}\nReason: {reason or 'unknown'}"
        text += "\nPlan the remaining steps again."
    return text


def unlisted_line(count: int) -> str:
    """The planner's note on the tools its catalog leaves out."""
    tools = "tool is" if count == 1 else "tools are"
    return (
        f"({count} more {tools} not listed. Describe in each step what it needs done, "
        "not a tool name: each step is matched to the tools it needs on its own.)"
    )


def step_message(index: int, total: int, text: str, *, matched: bool = True) -> str:
    """The executor's message for one plan step; ``matched=False`` (the retriever found
    no tool for it, so none is offered) adds what to do then."""
    message = f"Step {index + 1} of {total}: {text}"
    if not matched:
        message += (
            "\n(No tool matched this step. Do it without tools if you can; if it needs a "
            f"tool, reply with '{STEP_FAILED}:' and what it needs, so it can be planned again.)"
        )
    return message


_FENCE = re.compile(r"```[a-zA-Z0-9_-]*[ \t]*\n?(.*?)```", re.DOTALL)
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_LISTED = re.compile(
    r"^\s*(?:\d+[.):]|[-*•]|step\s+\d+\s*[.):-])\s+(.*\S)\s*$", re.MULTILINE | re.IGNORECASE
)
_STEP_TEXT_KEYS = ("text", "description", "step", "task", "action", "content")


class PlannedStep(NamedTuple):
    """One step of a planner reply: its text, and the indices (in the reply) of the
    earlier steps it needs (None: the step before it)."""

    text: str
    after: list[int] | None


def _after(item: Any, index: int) -> list[int] | None:
    """The earlier steps a step object says it needs: whole numbers below its own index
    (others cannot be waited for and are dropped), None when it does not say."""
    if not isinstance(item, dict) or not isinstance(item.get("after"), list):
        return None
    needs = {
        n
        for n in item["after"]
        if isinstance(n, int) and not isinstance(n, bool) and 0 <= n < index
    }
    return sorted(needs)


def _step_text(item: Any) -> str:
    """One step as text: a string, or the text field of an object the model made."""
    if isinstance(item, dict):
        for key in _STEP_TEXT_KEYS:
            if isinstance(item.get(key), str) and item[key].strip():
                return item[key].strip()
        return json.dumps(item, ensure_ascii=False)
    return str(item).strip()


def _steps_of(data: Any) -> list[PlannedStep]:
    if isinstance(data, dict):
        data = next((data[k] for k in ("steps", "plan") if isinstance(data.get(k), list)), None)
    elif isinstance(data, list) and not all(isinstance(i, str | dict) for i in data):
        return []  # a bare list is a plan only if it lists steps ("[1]" in prose is not)
    if not isinstance(data, list):
        return []
    items = [(item, _step_text(item)) for item in data]
    items = [(item, t) for item, t in items if t]
    return [PlannedStep(t, _after(item, i)) for i, (item, t) in enumerate(items)]


def _json_values(text: str) -> list[Any]:
    """Every JSON object or list in ``text``, outermost first, prose around them ignored."""
    decoder = json.JSONDecoder()
    found, i = [], 0
    while i < len(text):
        start = min((j for j in (text.find("{", i), text.find("[", i)) if j >= 0), default=-1)
        if start < 0:
            break
        try:
            value, end = decoder.raw_decode(text, start)
        except json.JSONDecodeError:
            i = start + 1
            continue
        found.append(value)
        i = end
    return found


def parse_plan(content: str | None) -> tuple[list[str], str | None]:
    """The steps' texts in a planner reply, and a note when the reply was not the JSON
    asked for (:func:`parse_plan_steps`, without what each step needs)."""
    steps, note = parse_plan_steps(content)
    return [s.text for s in steps], note


def parse_plan_steps(content: str | None) -> tuple[list[PlannedStep], str | None]:
    """The steps in a planner reply, and a note when the reply was not the JSON asked for.

    Accepts ``{"steps": [...]}`` or ``{"plan": [...]}`` or a bare JSON list — fenced or
    not, with prose or ``<think>`` blocks around it, steps as strings or as objects with
    a text field — and else a numbered, bulleted or ``Step N:`` list. Returns ([], note)
    when nothing usable is found. A step object's ``"after"`` lists the indices of the
    earlier steps it needs (later or unknown ones are dropped); without one, and for a
    step given as text, ``after`` is None: it needs the step before it.
    """
    if not content or not content.strip():
        return [], "the planner returned no text"
    text = _THINK.sub("", content).strip()
    if text.startswith(("{", "[")):
        steps = _steps_of(next(iter(_json_values(text)), None))
        if steps:
            return steps, None
    for block in [*_FENCE.findall(text), text]:
        for value in _json_values(block):
            steps = _steps_of(value)
            if steps:
                return steps, None
    listed = _LISTED.findall(_FENCE.sub("", text) or text)
    if listed:
        return [PlannedStep(t, None) for t in listed], (
            "the planner reply was not JSON; read it as a list"
        )
    return [], "the planner reply held no steps"
