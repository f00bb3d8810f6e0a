"""The examples run as documented."""

import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_custom_tool_example_adds_a_tool_and_calls_it():
    out = subprocess.run(
        [sys.executable, "examples/custom_tool.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "result: 2026-03-15" in out.stdout  # order 1003 shipped on 2026-03-12
    assert "refusal: order 1004 is delivered" in out.stdout
    assert '"name": "estimate_delivery_date"' in out.stdout


def test_custom_tools_reach_the_cli(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "sandlot.cli",
            "tools",
            "show",
            "estimate_delivery_date",
            "--env",
            "store",
            "--tools",
            "examples/custom_tool.py",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "order_id" in out.stdout and "additionalProperties" in out.stdout


def _example(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def test_the_world_guide_example_adds_a_world_with_its_own_tasks():
    out = _example("examples/custom_world/run.py")
    assert out.returncode == 0, out.stderr
    assert "loaded 2 greenhouse tasks" in out.stdout
    assert "greenhouse-001: passed (score 1.00)" in out.stdout
    assert "greenhouse-002: passed (score 1.00)" in out.stdout


def test_the_model_provider_example_is_reached_by_its_spec():
    out = _example("examples/custom_model.py")
    assert out.returncode == 0, out.stderr
    assert "made parrot:order 1003 has shipped" in out.stdout
    assert "store-lookup-001:" in out.stdout


def test_the_sandbox_backend_example_is_selected_by_name():
    out = _example("examples/custom_sandbox.py")
    assert out.returncode == 0, out.stderr
    assert "scratch: hello from /bin/sh (exit 0)" in out.stdout
    assert "ws-code-001: passed on scratch" in out.stdout


def test_the_check_kind_guide_example_adds_a_kind_task_files_can_use():
    out = _example("examples/custom_check.py")
    assert out.returncode == 0, out.stderr
    assert "short: passed=True evidence={'words': 4, 'max_words': 12}" in out.stdout
    assert "outcome: passed" in out.stdout
    # its own model validates task files: a bad value is refused at loading
    assert "refused: task 'short-answer', field checklist[1].check.max_words" in out.stdout


def test_the_retriever_guide_example_is_selected_by_name_and_recorded():
    out = _example("examples/custom_retriever.py")
    assert out.returncode == 0, out.stderr
    assert "ranked: get_customer, get_discount_code, get_order, get_order_status" in out.stdout
    assert "store-lookup-001: passed (score 1.00)" in out.stdout
    assert "recorded retriever: prefix" in out.stdout


def test_the_tool_states_example_refuses_too_early_and_past_a_limit():
    out = subprocess.run(
        [sys.executable, "examples/tool_states.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "== declared graph: passed" in out.stdout
    assert "called cancel_order_item: refused: cancel_order_item is not available yet" in out.stdout
    assert "offered 22 tools; called cancel_order_item: ok" in out.stdout
    assert "called refund_order: refused: refund_order is not available: $120.00" in out.stdout


def test_the_demonstrations_example_shows_which_demos_were_used():
    out = _example("examples/demonstrations.py")
    assert out.returncode == 0, out.stderr
    assert "store-policy-005: passed; demos: store-contact-002" in out.stdout
    assert "without demonstrations: 0/21 passed" in out.stdout
    assert "with demonstrations: 4/21 passed" in out.stdout


def test_the_fork_example_continues_an_episode_with_two_models():
    out = _example("examples/fork.py")
    assert out.returncode == 0, out.stderr
    assert "fork at call 1 with null: budget" in out.stdout
    assert "calls ['find_customer_by_email']" in out.stdout
    assert "fork at call 1 with oracle: passed (score 1.00)" in out.stdout


def test_the_planning_example_prints_success_by_size():
    out = _example("examples/planning.py")
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "generated 12 tasks" in lines
    oracle = [line for line in lines if line.startswith("oracle ")]
    assert oracle == [
        f"oracle {tag}: 2/2 passed"
        for tag in ("rooms:6", "rooms:12", "rooms:24", "size:3", "size:4", "size:5")
    ]
    assert "null size:5: 0/2 passed" in lines and "null rooms:24: 0/2 passed" in lines


def test_the_simulated_user_example_prints_each_conversation():
    out = subprocess.run(
        [sys.executable, "examples/simulated_user.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "store-multiturn-001: passed" in out.stdout
    assert "user:  My email is alan@example.com." in out.stdout
    assert "cancel-with-a-model-user: passed" in out.stdout
    assert "user:  My order id is 1001." in out.stdout


def test_the_fanout_example_runs_three_lookups_as_branches():
    out = subprocess.run(
        [sys.executable, "examples/fanout.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert "outcome: passed, answer: 2.10, 3.40, 1.95" in out.stdout
    assert "wave: steps [0, 1, 2] run side by side" in out.stdout
    assert "branches: 3" in out.stdout


@pytest.mark.otel
def test_the_otel_example_prints_one_episode_as_a_span_tree():
    try:
        import opentelemetry.sdk  # noqa: F401
    except ImportError:
        if os.environ.get("CI"):
            pytest.fail("CI runs the OpenTelemetry example: the otel extra is missing")
        pytest.skip("the otel extra: make otel")
    out = subprocess.run(
        [sys.executable, "examples/otel_export.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("episode store-")
    assert "\n  planner\n    chat oracle in=0 out=0\n" in out.stdout
    assert "    execute_tool " in out.stdout and "one trace: " in out.stdout


@pytest.mark.mcp
def test_the_mcp_example_adds_a_server_s_tool_and_calls_it():
    if importlib.util.find_spec("mcp") is None:
        why = "the mcp extra is not installed: pip install -e '.[mcp]'"
        if os.environ.get("CI"):
            pytest.fail(f"CI runs the MCP tests: {why}")
        pytest.skip(why)
    out = _example("examples/mcp_tools.py")
    assert out.returncode == 0, out.stderr
    assert "tools from the server: shipping_cost" in out.stdout
    assert "result: 12.90 EUR" in out.stdout
    assert "refusal: " in out.stdout and "the weight must be positive" in out.stdout


@pytest.mark.bfcl
def test_the_bfcl_agreement_example_prints_its_table():
    missing = [m for m in ("bfcl_eval", "mpmath") if importlib.util.find_spec(m) is None]
    if missing:
        why = f"bfcl-eval or the bfcl extra is not installed ({', '.join(missing)}): make bfcl"
        if os.environ.get("CI"):
            pytest.fail(f"CI runs the BFCL example: {why}")
        pytest.skip(why)
    out = _example("examples/bfcl_agreement.py", "--limit", "5")
    assert out.returncode == 0, out.stderr
    assert "| gold | 5 | 5 | 5 | 5 (100.0%) |" in out.stdout


def test_the_task_set_example_generates_tasks_and_runs_them():
    out = _example("examples/custom_task_set.py")
    assert out.returncode == 0, out.stderr
    assert "tasks: lookup-1001, lookup-1002, lookup-1003" in out.stdout
    assert "refused: lookups:N takes N from 1 to 5, got '9'" in out.stdout
    assert "passed 3 of 3" in out.stdout


def test_the_langchain_example_adds_a_tool_and_calls_it():
    out = _example("examples/langchain_tools.py")
    assert out.returncode == 0, out.stderr
    assert "tools from LangChain: loyalty_discount" in out.stdout
    assert "result: 3.20 EUR off (4%)" in out.stdout
    assert "refusal: years cannot be negative" in out.stdout
    shown = _example(
        "-m",
        "sandlot.cli",
        "tools",
        "show",
        "loyalty_discount",
        "--env",
        "store",
        "--tools",
        "langchain:examples/langchain_tools.py",
    )
    assert shown.returncode == 0, shown.stderr
    assert '"name": "loyalty_discount"' in shown.stdout
