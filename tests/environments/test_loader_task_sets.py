"""``NAME:SUBSET`` on the command line or in ``load_tasks`` names a registered task set:
its tasks are checked against their worlds like a file's, and every mistake is an error
that names the task set."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from sandlot.environments.loader import TaskFileError, load_tasks, task_set_spec
from sandlot.errors import UserError
from sandlot.registry import TASKSETS

TASK = {
    "id": "set-1",
    "environment": "store",
    "instruction": "Look up order 1001.",
    "reference": {"calls": [{"tool": "get_order", "args": {"order_id": 1001}}], "answer": "x"},
    "checklist": [{"id": "x", "check": {"type": "called", "tool": "get_order"}}],
}


def _demo_set(subset: str) -> list[object]:
    if subset == "good":
        return [dict(TASK)]
    if subset == "bad-tool":
        return [{**TASK, "checklist": [{"id": "x", "check": {"type": "called", "tool": "nope"}}]}]
    if subset == "empty":
        return []
    raise UserError(f"no subset {subset!r}; known: good, bad-tool, empty")


@pytest.fixture
def demo_set() -> Iterator[None]:
    TASKSETS.register("demo", _demo_set)
    yield
    TASKSETS.unregister("demo")


def test_a_registered_task_set_gives_its_tasks_with_their_source(demo_set):
    tasks = load_tasks(["demo:good"])
    assert [t.id for t in tasks] == ["set-1"]
    assert tasks[0].source == "demo:good"


def test_a_task_of_a_task_set_is_checked_against_its_world(demo_set):
    with pytest.raises(TaskFileError) as caught:
        load_tasks(["demo:bad-tool"])
    assert caught.value.path == "demo:bad-tool"
    assert "nope" in str(caught.value)


def test_an_unknown_subset_and_an_empty_set_are_errors_naming_the_set(demo_set):
    with pytest.raises(TaskFileError, match="no subset 'other'"):
        load_tasks(["demo:other"])
    with pytest.raises(TaskFileError, match="gave no tasks"):
        load_tasks(["demo:empty"])


def test_ids_a_task_set_shares_with_a_file_are_refused(demo_set, tmp_path: Path):
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(TASK))
    with pytest.raises(TaskFileError, match="also used in"):
        load_tasks([path, "demo:good"])


def test_a_file_wins_over_a_task_set_of_the_same_spelling(demo_set, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert task_set_spec("demo:good.yaml") == ("demo", "good.yaml")
    Path("demo:good.yaml").write_text(yaml.safe_dump({**TASK, "id": "from-file"}))
    assert task_set_spec("demo:good.yaml") is None
    assert [t.id for t in load_tasks(["demo:good.yaml"])] == ["from-file"]


def test_an_unregistered_name_is_a_missing_file():
    assert task_set_spec("nosuchset:x") is None
    with pytest.raises(TaskFileError, match="no such file"):
        load_tasks(["nosuchset:x"])
