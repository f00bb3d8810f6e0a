"""A tiny world and a tiny judge model for the loader and checklist tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import model_validator

from sandlot.agents.models.base import Model, ModelRequest, ModelResponse
from sandlot.environments.base import Environment
from sandlot.environments.tasks import StateCheck, StrictStateCheck, Task
from sandlot.tools import Toolset, tool

__all__ = ["FakeEnvironment", "FakeJudge"]


@tool
def add_note(text: str) -> str:
    """Add a note.

    Args:
        text: The note.
    """
    return text


class FakeCheck(StrictStateCheck):
    """The fake world's checks: ``query`` only."""

    @model_validator(mode="after")
    def _query_only(self) -> FakeCheck:
        if not self.query:
            raise ValueError("the fake world has no files or commands; use query")
        return self


class FakeEnvironment(Environment[dict[str, Any], Any, FakeCheck]):
    """State is a dict of counters; a state check's ``query`` names a counter and
    ``equals`` its value. ``query: boom`` raises, as a broken check would."""

    name = "fake"
    state_check_model = FakeCheck

    @classmethod
    def default_toolset(cls) -> Toolset:
        return Toolset("fake", [add_note])

    async def reset(self, task: Task) -> None:
        self.state = dict(task.initial_state)

    async def check_state(self, check: StateCheck) -> tuple[bool, Any]:
        return self.check_snapshot(self.state, check)

    @classmethod
    def check_snapshot(cls, snapshot: dict[str, Any], check: StateCheck) -> tuple[bool, Any]:
        if check.query == "boom":
            raise RuntimeError("the check broke")
        if check.query == "live-only":
            raise NotImplementedError("live-only needs the live world")
        value = snapshot.get(check.query or "")
        return value == check.equals, {"value": value}

    def snapshot(self) -> dict[str, Any]:
        return dict(self.state)


class FakeJudge(Model):
    """Answers every request with ``reply`` (a string, or a function of the request
    that may raise); keeps the requests it got."""

    name = "fake-judge"

    def __init__(self, reply: str | Callable[[ModelRequest], str]) -> None:
        self.reply = reply
        self.requests: list[ModelRequest] = []

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        content = self.reply(request) if callable(self.reply) else self.reply
        return ModelResponse(content=content)
