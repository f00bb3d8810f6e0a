"""``sandlot tasks validate`` (and load_tasks) refuse, at load time, everything a run
would reject: initial-state keys and shapes, state checks of the wrong shape for the
world, tool names neither the world nor --tools has, workspace paths outside /work,
empty ids or ids with control characters, and negative counts."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sandlot.cli import app
from sandlot.environments.loader import TaskFileError, load_tasks

STORE = {
    "id": "s1",
    "environment": "store",
    "instruction": "Look up order 1001.",
    "reference": {"calls": [{"tool": "get_order", "args": {"order_id": 1001}}], "answer": "ok"},
    "checklist": [{"id": "looked", "check": {"type": "called", "tool": "get_order"}}],
}
WORKSPACE = {
    "id": "w1",
    "environment": "workspace",
    "instruction": "Write a.txt.",
    "reference": {"calls": [], "answer": "ok"},
    "checklist": [{"id": "file", "check": {"type": "state", "file": "a.txt", "equals": "x"}}],
}

TOOLS_FILE = '''
from sandlot.tools import tool


@tool
def loyalty_points(customer_id: int) -> int:
    """How many loyalty points a customer has.

    Args:
        customer_id: The customer's id.
    """
    return 0
'''


def _write(tmp_path, data: dict[str, Any]):
    path = tmp_path / "t.json"
    path.write_text(json.dumps(data))
    return path


def _item(check: dict[str, Any], item_id: str = "extra") -> list[dict[str, Any]]:
    return [*STORE["checklist"], {"id": item_id, "check": check}]


CASES = [
    # initial_state: keys and shapes the world does not take
    (STORE, {"initial_state": {"files": {}}}, "initial_state.files", "unknown field 'files'"),
    (STORE, {"initial_state": {"sql": "UPDATE x"}}, "initial_state.sql", "list of SQL"),
    (WORKSPACE, {"initial_state": {"sql": ["x"]}}, "initial_state.sql", "unknown field 'sql'"),
    (WORKSPACE, {"initial_state": {"setup": [["ls"]]}}, "initial_state.setup", "shell commands"),
    # paths outside the workspace
    (
        WORKSPACE,
        {"initial_state": {"files": {"../escape.txt": "x"}}},
        "initial_state.files",
        "outside the workspace",
    ),
    (
        WORKSPACE,
        {"checklist": [{"id": "f", "check": {"type": "state", "file": "/etc/passwd"}}]},
        "checklist[0].check",
        "file '/etc/passwd' is outside the workspace",
    ),
    # state checks of the wrong shape for the world
    (
        WORKSPACE,
        {"checklist": [{"id": "q", "check": {"type": "state", "query": "SELECT 1"}}]},
        "checklist[0].check",
        "the workspace has no database",
    ),
    (
        STORE,
        {"checklist": _item({"type": "state", "command": "true"})},
        "checklist[1].check",
        "the store world has no files or commands",
    ),
    # tool names
    (
        STORE,
        {"checklist": _item({"type": "called", "tool": "loyalty_points"})},
        "checklist[1].check.tool",
        "no tool 'loyalty_points' in environment 'store'",
    ),
    # ids
    (STORE, {"id": " "}, "id", "the id is empty"),
    (STORE, {"id": "a\nb"}, "id", "control character(s) '\\n'"),
    (
        STORE,
        {"checklist": _item({"type": "called", "tool": "get_order"}, item_id="")},
        "checklist[1].id",
        "the id is empty",
    ),
    (
        STORE,
        {"checklist": _item({"type": "called", "tool": "get_order"}, item_id="x\x1b[31m")},
        "checklist[1].id",
        "control character(s) '\\x1b'",
    ),
    # negative counts
    (STORE, {"max_tool_calls": -1}, "max_tool_calls", "must be >= 1, got -1"),
    (
        STORE,
        {"checklist": _item({"type": "called", "tool": "get_order", "min_times": -1})},
        "checklist[1].check.min_times",
        "must be >= 0, got -1",
    ),
    (
        STORE,
        {
            "checklist": _item({"type": "not_called", "tool": "cancel_order"})
            + [
                {
                    "id": "neg",
                    "check": {
                        "type": "called",
                        "tool": "get_order",
                        "min_times": 0,
                        "max_times": -2,
                    },
                }
            ]
        },
        "checklist[2].check.max_times",
        "must be >= 0, got -2",
    ),
    (
        STORE,
        {"checklist": _item({"type": "max_steps", "model_calls": -3})},
        "checklist[1].check.model_calls",
        "must be >= 0, got -3",
    ),
    (
        STORE,
        {"checklist": _item({"type": "state", "query": "SELECT 1", "equals": 1, "tolerance": -1})},
        "checklist[1].check.tolerance",
        "must be >= 0, got -1",
    ),
]


@pytest.mark.parametrize(("task", "change", "field", "needle"), CASES)
def test_load_tasks_refuses_it_naming_the_file_task_and_field(
    tmp_path, task, change, field, needle
):
    path = _write(tmp_path, {**task, **change})
    with pytest.raises(TaskFileError) as caught:
        load_tasks([path])
    text = str(caught.value)
    assert f", field {field}: " in text, text
    assert needle in text, text
    assert str(path) in text


@pytest.mark.parametrize(("task", "change", "field", "needle"), CASES)
def test_tasks_validate_exits_2_with_the_problem(tmp_path, task, change, field, needle):
    path = _write(tmp_path, {**task, **change})
    result = CliRunner().invoke(app, ["tasks", "validate", str(path)])
    assert result.exit_code == 2, result.output
    assert needle.split("'")[0] in " ".join(result.output.split()), result.output


def test_the_unchanged_tasks_pass(tmp_path):
    for task in (STORE, WORKSPACE):
        path = _write(tmp_path, task)
        assert [t.id for t in load_tasks([path])] == [task["id"]]


def test_a_tool_added_with_tools_may_be_named(tmp_path):
    tools = tmp_path / "my_tools.py"
    tools.write_text(TOOLS_FILE)
    data = {
        **STORE,
        "checklist": _item({"type": "called", "tool": "loyalty_points", "min_times": 0}),
    }
    path = _write(tmp_path, data)
    runner = CliRunner()
    refused = runner.invoke(app, ["tasks", "validate", str(path)])
    assert refused.exit_code == 2 and "loyalty_points" in refused.output
    accepted = runner.invoke(app, ["tasks", "validate", str(path), "--tools", str(tools)])
    assert accepted.exit_code == 0, accepted.output
    assert "1 tasks OK (1 store)" in accepted.output


def test_load_tasks_takes_extra_tool_names_as_from_entry_points(tmp_path):
    data = {**STORE, "checklist": _item({"type": "not_called", "tool": "plugin_tool"})}
    path = _write(tmp_path, data)
    with pytest.raises(TaskFileError, match="no tool 'plugin_tool'"):
        load_tasks([path])
    assert load_tasks([path], extra_tools=["plugin_tool"])[0].id == "s1"


def test_the_shipped_tasks_validate():
    examples = Path(__file__).resolve().parents[2] / "examples" / "tasks"
    result = CliRunner().invoke(app, ["tasks", "validate", str(examples)])
    assert result.exit_code == 0, result.output
    assert "tasks OK" in result.output
