"""The ``tool_states`` graph: read from a task file and checked by the loader (and so by
``sandlot tasks validate``) — unknown tools, empty or self-referring lists, unknown keys
and a reference the graph would refuse are errors; the graph itself says which tools are
unavailable after which calls, and merges the world's with the task's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sandlot.cli import app
from sandlot.environments.base import get_environment_class
from sandlot.environments.loader import TaskFileError, load_tasks
from sandlot.environments.tool_states import (
    ToolStates,
    merge_tool_states,
    reference_order_problems,
    tool_states_names,
    unavailable_after,
)

ROOT = Path(__file__).resolve().parents[2]
TASK = {
    "id": "s1",
    "environment": "store",
    "instruction": "Refund $5 on order 1009.",
    "tool_states": {"after": {"refund_order": ["get_order"]}},
    "reference": {
        "calls": [
            {"tool": "get_order", "args": {"order_id": 1009}},
            {"tool": "refund_order", "args": {"order_id": 1009, "amount": 5, "reason": "x"}},
        ],
        "answer": "ok",
    },
    "checklist": [{"id": "refunded", "check": {"type": "called", "tool": "refund_order"}}],
}


def _load(tmp_path: Path, **changes: Any):  # type: ignore[no-untyped-def]
    path = tmp_path / "t.json"
    path.write_text(json.dumps({**TASK, **changes}))
    return load_tasks([path])


def _problems(tmp_path: Path, **changes: Any) -> str:
    with pytest.raises(TaskFileError) as info:
        _load(tmp_path, **changes)
    return str(info.value)


def test_a_task_reads_its_tool_states(tmp_path):
    (task,) = _load(tmp_path)
    assert task.tool_states == ToolStates(after={"refund_order": ["get_order"]})


@pytest.mark.parametrize(
    ("graph", "said"),
    [
        ({"after": {"refund_ordr": ["get_order"]}}, "tool_states.after.refund_ordr"),
        ({"after": {"refund_order": ["get_ordr"]}}, "tool_states.after.refund_order[0]"),
    ],
)
def test_an_unknown_tool_in_the_graph_is_an_error_naming_where(tmp_path, graph, said):
    message = _problems(tmp_path, tool_states=graph)
    assert said in message
    assert "did you mean" in message


@pytest.mark.parametrize(
    ("graph", "said"),
    [
        ({"after": {"refund_order": []}}, "lists no tool"),
        ({"after": {"refund_order": ["refund_order"]}}, "could never be called"),
        ({"before": {"refund_order": ["get_order"]}}, "before"),
        ({"after": {"refund_order": "get_order"}}, "refund_order"),
    ],
)
def test_a_graph_of_the_wrong_shape_is_an_error(tmp_path, graph, said):
    assert said in _problems(tmp_path, tool_states=graph)


def test_a_reference_the_graph_would_refuse_is_an_error(tmp_path):
    calls = list(reversed(TASK["reference"]["calls"]))
    message = _problems(tmp_path, reference={"calls": calls, "answer": "ok"})
    assert "reference.calls[0].tool" in message
    assert "the tool states refuse this call" in message
    assert "call get_order first" in message


def test_a_reference_the_worlds_own_graph_would_refuse_is_an_error(tmp_path):
    # the store makes cancel_order_item available only after get_order
    reference = {
        "calls": [{"tool": "cancel_order_item", "args": {"order_id": 1007, "product_id": 109}}],
        "answer": "ok",
    }
    message = _problems(tmp_path, tool_states=None, reference=reference)
    assert "reference.calls[0].tool" in message
    assert "cancel_order_item is not available yet" in message


def test_the_store_declares_a_graph_over_its_own_tools_only():
    store = get_environment_class("store")
    graph = store.declared_tool_states(None)
    assert graph.after == {"cancel_order_item": ["get_order"]}
    tools = set(store.default_toolset().names())
    assert all(name in tools for _, name in tool_states_names(graph))


def test_the_shipped_constrained_tasks_validate():
    result = CliRunner().invoke(
        app, ["tasks", "validate", str(ROOT / "examples/tasks/store/constrained.yaml")]
    )
    assert result.exit_code == 0, result.output
    assert "2 tasks OK" in result.output


def test_a_tool_is_unavailable_until_everything_it_needs_has_succeeded():
    graph = ToolStates(after={"refund_order": ["get_order", "get_customer"]})
    assert set(unavailable_after(graph, [])) == {"refund_order"}
    assert "get_customer" in unavailable_after(graph, ["get_order"])["refund_order"]
    assert unavailable_after(graph, ["get_customer", "get_order"]) == {}


def test_the_worlds_and_the_tasks_graphs_merge():
    world = ToolStates(after={"cancel_order_item": ["get_order"]})
    task = ToolStates(after={"cancel_order_item": ["get_customer"], "refund_order": ["get_order"]})
    merged = merge_tool_states(world, None, task)
    assert merged.after == {
        "cancel_order_item": ["get_order", "get_customer"],
        "refund_order": ["get_order"],
    }
    assert reference_order_problems(merged, ["get_order", "refund_order"]) == []
    assert [i for i, _ in reference_order_problems(merged, ["refund_order", "get_order"])] == [0]
