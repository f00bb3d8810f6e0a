"""A tiny environment for graph and runner tests: a notebook the agent writes notes in."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from sandlot.environments.base import Environment, register_environment
from sandlot.environments.tasks import StateCheck, Task
from sandlot.tools import ToolContext, ToolError, Toolset, tool


@tool
def add_note(ctx: ToolContext, text: str) -> str:
    """Add a note to the notebook.

    Args:
        text: The note's text.
    """
    ctx.state["notes"].append(text)
    return f"note {len(ctx.state['notes'])} added"


@tool
def list_notes(ctx: ToolContext) -> list[str]:
    """List every note in the notebook."""
    return list(ctx.state["notes"])


@tool
def delete_notebook(ctx: ToolContext, confirm: bool) -> str:
    """Delete the whole notebook; refused unless it is empty.

    Args:
        confirm: Must be true.
    """
    if ctx.state["notes"]:
        raise ToolError("the notebook is not empty; delete refused")
    return "deleted"


@tool(timeout=0.2)
async def slow_lookup(query: str) -> str:
    """Look something up slowly (times out).

    Args:
        query: What to look up.
    """
    await asyncio.sleep(5)
    return query


@register_environment
class NotesEnvironment(Environment):
    name = "notes"
    description = "A notebook for tests."

    @classmethod
    def default_toolset(cls) -> Toolset:
        return Toolset("notes", [add_note, list_notes, delete_notebook, slow_lookup])

    async def reset(self, task: Task) -> None:
        if task.initial_state.get("explode"):
            raise RuntimeError("the notes world failed to start")
        self.task = task
        self.state = {"notes": list(task.initial_state.get("notes", []))}

    async def check_state(self, check: StateCheck) -> tuple[bool, Any]:
        notes = self.state["notes"]
        if check.contains is not None:
            return check.contains in notes, {"notes": notes}
        return len(notes) == check.equals, {"count": len(notes)}

    def snapshot(self) -> dict[str, Any]:
        return {"notes": list(self.state["notes"])}


def notes_task(task_id: str = "notes-1", **extra: Any) -> Task:
    data: dict[str, Any] = {
        "id": task_id,
        "environment": "notes",
        "instruction": "Add a note saying 'buy milk', then tell me how many notes there are.",
        "reference": {
            "calls": [{"tool": "add_note", "args": {"text": "buy milk"}}],
            "answer": "There is 1 note.",
        },
        "checklist": [
            {"id": "noted", "check": {"type": "state", "contains": "buy milk"}},
            {
                "id": "called",
                "check": {"type": "called", "tool": "add_note", "args": {"text": "buy milk"}},
            },
            {"id": "answer", "check": {"type": "answer", "match": "contains", "value": "1"}},
        ],
    }
    data.update(extra)
    return Task.model_validate(data)


@pytest.fixture
def task() -> Task:
    return notes_task()
