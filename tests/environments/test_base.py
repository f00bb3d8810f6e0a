"""A world is a contract: the Environment base class is generic over the world's own
models, and the loader reaches a world only through the typed methods it declares."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, ValidationError

from sandlot.environments.base import Environment, make_environment
from sandlot.environments.checklist import ToolCallRecord, Trajectory, score_episode
from sandlot.environments.loader import TaskFileError, load_tasks
from sandlot.environments.tasks import StateCheck, Task
from sandlot.environments.worlds.store import StoreEnvironment
from sandlot.environments.worlds.store.checks import StoreInitialState, StoreStateCheck
from sandlot.tools import ToolCall, ToolContext, Toolset, invoke_tool, tool

# --- a small world declared with its own models ------------------------------------------


@dataclass
class Counter:
    count: int


class CounterStart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    start: int = 0


class CounterCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str = "state"
    count: int


@tool
def bump(ctx: ToolContext) -> int:
    """Add one to the counter."""
    ctx.state.count += 1
    return ctx.state.count


class CounterWorld(Environment[Counter, CounterStart, CounterCheck]):
    name = "counter"
    initial_state_model = CounterStart
    state_check_model = CounterCheck

    @classmethod
    def default_toolset(cls) -> Toolset:
        return Toolset("counter", [bump])

    async def reset(self, task: Task) -> None:
        self.state = Counter(self.check_initial_state(task).start)

    async def check_state(self, check: CounterCheck) -> tuple[bool, Any]:
        return self.state.count == check.count, {"count": self.state.count}

    def snapshot(self) -> dict[str, Any]:
        return {"count": self.state.count}


@pytest.fixture
def counter_world(register_world):
    register_world("counter", CounterWorld)


def _counter_task(**extra: Any) -> dict[str, Any]:
    return {
        "id": "c1",
        "environment": "counter",
        "instruction": "Bump the counter once.",
        "initial_state": {"start": 2},
        "reference": {"calls": [{"tool": "bump"}], "answer": "3"},
        "checklist": [{"id": "three", "check": {"type": "state", "count": 3}}],
        **extra,
    }


def _write(tmp_path, data: dict[str, Any]):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(data))
    return path


def test_the_world_reads_initial_state_and_checks_into_its_own_models():
    task = Task.model_validate(_counter_task())
    start = CounterWorld.validate_initial_state(task)
    assert isinstance(start, CounterStart) and start.start == 2
    check = CounterWorld.validate_state_check(task.checklist[0].check)
    assert isinstance(check, CounterCheck) and check.count == 3
    assert CounterWorld.validate_state_check(check) is check  # already typed: as is


async def test_the_context_carries_the_worlds_typed_state_and_scoring_uses_its_checks():
    task = Task.model_validate(_counter_task())
    env = CounterWorld()
    await env.reset(task)
    ctx = env.context(task_id=task.id)
    assert isinstance(ctx, ToolContext) and isinstance(ctx.state, Counter)
    outcome = await invoke_tool(env.toolset, ToolCall("1", "bump", "{}"), ctx)
    assert outcome.ok and env.state.count == 3
    trajectory = Trajectory(tool_calls=[ToolCallRecord("bump", {}, True)], answer="3")
    report = await score_episode(task, trajectory, environment=env)
    assert report.success and report.verdicts[0].evidence == {"count": 3}


def test_the_loader_accepts_a_task_in_the_worlds_language(tmp_path, counter_world):
    [task] = load_tasks([_write(tmp_path, _counter_task())])
    assert task.checklist[0].check.world_fields == {"count": 3}


@pytest.mark.parametrize(
    ("change", "field", "needle"),
    [
        ({"initial_state": {"begin": 2}}, "initial_state.begin", "unknown field 'begin'"),
        ({"initial_state": {"start": "two"}}, "initial_state.start", "valid integer"),
        (
            {"checklist": [{"id": "x", "check": {"type": "state", "cnt": 3}}]},
            "checklist[0].check.cnt",
            "unknown field 'cnt'; did you mean 'count'?",
        ),
        (
            {"checklist": [{"id": "x", "check": {"type": "state", "query": "SELECT 1"}}]},
            "checklist[0].check.count",
            "required field is missing",
        ),
    ],
)
def test_the_loader_refuses_what_the_worlds_models_refuse(
    tmp_path, counter_world, change, field, needle
):
    path = _write(tmp_path, _counter_task(**change))
    with pytest.raises(TaskFileError) as caught:
        load_tasks([path])
    text = str(caught.value)
    assert f"task 'c1', field {field}: " in text, text
    assert needle in text, text
    assert str(path) in text


def test_a_world_without_models_takes_any_initial_state_and_the_common_check_language():
    from tests.agents.conftest import NotesEnvironment

    task = Task.model_validate(
        {"id": "n", "environment": "notes", "instruction": "x", "initial_state": {"notes": []}}
    )
    assert NotesEnvironment.validate_initial_state(task).model_dump() == {"notes": []}
    with pytest.raises(ValidationError, match="equalz"):
        NotesEnvironment.validate_state_check(StateCheck.model_validate({"equalz": 1}))


def test_the_shipped_worlds_declare_their_models():
    assert StoreEnvironment.initial_state_model is StoreInitialState
    assert StoreEnvironment.state_check_model is StoreStateCheck
    env = make_environment("workspace", sandbox="local")
    assert env.initial_state_model.__name__ == "WorkspaceInitialState"
    assert env.state_check_model.__name__ == "WorkspaceStateCheck"
