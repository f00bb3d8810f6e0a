"""The prompts the planner and executor send. Kept apart so they can be read and tuned."""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = [
    "EXECUTOR_SYSTEM",
    "PLANNER_SYSTEM",
    "SINGLE_AGENT_SYSTEM",
    "parse_plan",
    "planner_user_message",
    "step_message",
]

PLANNER_SYSTEM = (
    "You are the planner of a tool-using agent. Break the user's request into a short "
    "ordered list of concrete steps; each step should need at most a few tool calls. "
    "The last step gives the final answer to the user. If the request must be refused "
    "or needs no tool, plan a single step that answers it. Reply with JSON only: "
    '{"steps": ["...", "..."]}'
)

EXECUTOR_SYSTEM = (
    "You are an agent that completes one step of a plan at a time using the tools offered. "
    "Call tools when needed. When the current step is finished, reply with a short text "
    "summary of its result and no tool call. If the step cannot be done, reply with text "
    "starting with 'STEP FAILED:' and the reason. When you know the final answer for the "
    "user, call submit_answer with it. Follow the store's policies; refuse requests that "
    "break them and explain why."
)

SINGLE_AGENT_SYSTEM = (
    "You are an agent that completes the user's request using the tools offered. Call "
    "tools as needed, then call submit_answer with the final answer for the user. Follow "
    "the policies the tools enforce; refuse requests that break them and explain why."
)


def planner_user_message(
    instruction: str,
    tool_descriptions: dict[str, str],
    *,
    completed: list[str] | None = None,
    failed: str | None = None,
    reason: str | None = None,
) -> str:
    catalog = "\n".join(f"- {name}: {desc}" for name, desc in tool_descriptions.items())
    text = f"Request:\n{instruction}\n\nAvailable tools:\n{catalog or '(none)'}"
    if completed:
        text += "\n\nSteps already completed:\n" + "\n".join(f"- {s}" for s in completed)
    if failed:
        text += f"\n\nThis step failed: {failed}\nReason: {reason or 'unknown'}"
        text += "\nPlan the remaining steps again."
    return text


def step_message(index: int, total: int, text: str) -> str:
    return f"Step {index + 1} of {total}: {text}"


_FENCE = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL)
_NUMBERED = re.compile(r"^\s*(?:\d+[.)]|[-*])\s+(.*\S)\s*$", re.MULTILINE)


def parse_plan(content: str | None) -> tuple[list[str], str | None]:
    """The steps in a planner reply, and a note when the reply was not the JSON asked for.

    Accepts ``{"steps": [...]}`` (optionally in a fenced block), a bare JSON list, or a
    numbered/bulleted list. Returns ([], note) when nothing usable is found.
    """
    if not content or not content.strip():
        return [], "the planner returned no text"
    text = content.strip()
    fenced = _FENCE.search(text)
    if fenced:
        text = fenced.group(1).strip()
    try:
        data: Any = json.loads(text)
    except json.JSONDecodeError:
        data = None
    if isinstance(data, dict):
        data = data.get("steps")
    if isinstance(data, list):
        steps = [str(s).strip() for s in data if str(s).strip()]
        if steps:
            return steps, None
    listed = _NUMBERED.findall(content)
    if listed:
        return listed, "the planner reply was not JSON; read it as a list"
    return [], "the planner reply held no steps"
