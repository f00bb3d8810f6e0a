"""The loader checks what a multi-turn task names: a reference ask's ``before`` is a call
index of the reference (0 to the number of calls), and an ``asked`` check's ``before``
is a tool of the world or of the toolsets added with --tools."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from sandlot.cli import app
from sandlot.environments.loader import TaskFileError, load_tasks
from tests.environments.test_loader_rejects import TOOLS_FILE

TASK: dict[str, Any] = {
    "id": "m1",
    "environment": "store",
    "instruction": "Cancel my order, please.",
    "user": {"hidden": {"order_id": "1001"}, "default": "Yes. ###STOP###"},
    "reference": {
        "asks": [{"text": "Which order id? Do you confirm?", "before": 0}],
        "calls": [{"tool": "cancel_order", "args": {"order_id": 1001, "reason": "asked"}}],
        "answer": "Cancelled.",
    },
    "checklist": [
        {
            "id": "confirmed",
            "check": {"type": "asked", "contains": "confirm", "before": "cancel_order"},
        }
    ],
}


def _write(tmp_path, **changes: Any):
    path = tmp_path / "t.json"
    path.write_text(json.dumps({**TASK, **changes}))
    return path


def _asked(before: str) -> list[dict[str, Any]]:
    return [
        {"id": "confirmed", "check": {"type": "asked", "contains": "confirm", "before": before}}
    ]


def test_a_valid_multiturn_task_loads(tmp_path):
    assert load_tasks([_write(tmp_path)])[0].id == "m1"
    after_the_last_call = {**TASK["reference"], "asks": [{"text": "Anything else?", "before": 1}]}
    assert load_tasks([_write(tmp_path, reference=after_the_last_call)])[0].id == "m1"


def test_a_reference_ask_past_the_reference_calls_is_refused(tmp_path):
    reference = {**TASK["reference"], "asks": [{"text": "Which order?", "before": 2}]}
    with pytest.raises(TaskFileError) as caught:
        load_tasks([_write(tmp_path, reference=reference)])
    assert caught.value.field == "reference.asks[0].before"
    assert "2 is past the reference's 1 call(s); use 0" in str(caught.value)


def test_an_asked_check_before_an_unknown_tool_is_refused_with_a_suggestion(tmp_path):
    with pytest.raises(TaskFileError) as caught:
        load_tasks([_write(tmp_path, checklist=_asked("cancel_ordr"))])
    assert caught.value.field == "checklist[0].check.before"
    assert "no tool 'cancel_ordr' in environment 'store' (did you mean 'cancel_order'?)" in str(
        caught.value
    )


def test_an_asked_check_may_name_a_tool_added_with_tools(tmp_path):
    tools = tmp_path / "my_tools.py"
    tools.write_text(TOOLS_FILE)
    path = _write(tmp_path, checklist=_asked("loyalty_points"))
    runner = CliRunner()
    refused = runner.invoke(app, ["tasks", "validate", str(path)])
    assert refused.exit_code == 2 and "no tool 'loyalty_points'" in refused.output
    accepted = runner.invoke(app, ["tasks", "validate", str(path), "--tools", str(tools)])
    assert accepted.exit_code == 0, accepted.output
    assert load_tasks([path], extra_tools=["loyalty_points"])[0].id == "m1"
