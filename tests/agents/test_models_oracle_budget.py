"""The oracle never fails a valid task for want of model calls: a store task whose
reference makes 20 calls is valid, and the oracle passes it under the default AgentConfig
(whose 40 model calls are fewer than the 42 it needs with the plan-execute agent: the
runner raises the budget to ``model_calls_needed``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from sandlot.agents.graph.runtime import AgentConfig
from sandlot.agents.models import OracleModel
from sandlot.agents.running.runner import run_episode
from sandlot.cli import app
from sandlot.environments.loader import TaskFileError, load_tasks

CALLS = (
    [{"tool": "get_order", "args": {"order_id": 1001 + i}} for i in range(10)]
    + [{"tool": "get_customer", "args": {"customer_id": 1 + i}} for i in range(6)]
    + [
        {"tool": "track_shipment", "args": {"order_id": 1003}},
        {"tool": "check_stock", "args": {"product_id": 104}},
        {"tool": "get_product", "args": {"product_id": 101}},
        {
            "tool": "open_support_ticket",
            "args": {"customer_id": 3, "subject": "Account review", "body": "Reviewed."},
        },
    ]
)
LONG = {
    "id": "store-review-020",
    "environment": "store",
    "instruction": (
        "Review orders 1001 to 1010 and customers 1 to 6, check order 1003's shipment, "
        "the USB-C hub's stock and the keyboard, then open a review ticket for customer 3."
    ),
    "reference": {
        "calls": CALLS,
        "answer": "Reviewed 10 orders and 6 customers; order 1003 is with DHL (DHL-883412), "
        "the USB-C hub is out of stock, and a review ticket is open for Alan Turing.",
    },
    "checklist": [
        {"id": "orders", "check": {"type": "called", "tool": "get_order", "min_times": 10}},
        {"id": "customers", "check": {"type": "called", "tool": "get_customer", "min_times": 6}},
        {"id": "first", "check": {"type": "order", "tools": ["get_order", "open_support_ticket"]}},
        {
            "id": "ticket",
            "check": {
                "type": "state",
                "query": "SELECT count(*) FROM tickets WHERE customer_id = 3",
                "equals": 1,
            },
        },
        {"id": "tracking", "check": {"type": "answer", "value": ["DHL-883412", "out of stock"]}},
        {"id": "no-refund", "check": {"type": "not_called", "tool": "refund_order"}},
    ],
}


@pytest.fixture
def task_file(tmp_path: Path) -> Path:
    path = tmp_path / "long.yaml"
    path.write_text(yaml.safe_dump({"tasks": [LONG]}, sort_keys=False))
    return path


def test_a_twenty_call_reference_is_a_valid_task(task_file):
    assert len(CALLS) == 20
    [task] = load_tasks([task_file])
    assert task.max_tool_calls == 30  # the default leaves room for the 20 calls
    out = CliRunner().invoke(app, ["tasks", "validate", str(task_file)])
    assert out.exit_code == 0, out.output
    assert "1 tasks OK (1 store)" in out.output


def test_a_reference_longer_than_the_tool_budget_is_refused(task_file):
    task_file.write_text(yaml.safe_dump({"tasks": [{**LONG, "max_tool_calls": 19}]}))
    with pytest.raises(TaskFileError) as caught:
        load_tasks([task_file])
    assert caught.value.field == "max_tool_calls"
    assert "19 is below the 20 tool calls of the reference" in str(caught.value)


@pytest.mark.parametrize("agent", ["plan-execute", "single"])
async def test_the_oracle_passes_a_twenty_call_task_under_the_default_budget(task_file, agent):
    [task] = load_tasks([task_file])
    config = AgentConfig(agent=agent)
    needed = OracleModel().model_calls_needed(task, agent)
    assert config.max_model_calls == 40 and needed == (42 if agent == "plan-execute" else 21)
    result = await run_episode(task, model="oracle", agent=config)
    assert result.trajectory.error is None, result.trajectory.error
    assert result.success and result.score == 1.0
    assert result.model_calls == needed
    assert [c.name for c in result.trajectory.tools_used] == [c["tool"] for c in CALLS]


@pytest.mark.parametrize("agent", ["plan-execute", "single"])
async def test_the_oracle_passes_a_reference_that_uses_the_whole_tool_budget(task_file, agent):
    # max_tool_calls is a budget of that many calls: making the last of them must not end
    # the episode before the answer (only a call past the budget is refused).
    task_file.write_text(yaml.safe_dump({"tasks": [{**LONG, "max_tool_calls": 20}]}))
    [task] = load_tasks([task_file])  # valid: 20 calls within a budget of 20
    result = await run_episode(task, model="oracle", agent=agent)
    assert result.trajectory.error is None, result.trajectory.error
    assert result.success and result.trajectory.n_tool_calls == 20
