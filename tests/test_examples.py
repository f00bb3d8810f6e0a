"""The examples run as documented."""

import subprocess
import sys
from pathlib import Path

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
