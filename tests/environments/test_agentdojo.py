"""The AgentDojo worlds: gold solutions pass, and sandlot's verdicts agree with
AgentDojo's own on gold and deliberately wrong call lists."""

import asyncio
import importlib.util
import os
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from sandlot import load_tasks, run

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.agentdojo


@pytest.fixture(scope="module", autouse=True)
def _agentdojo():
    """Skip without the agentdojo extra on a developer's machine; under CI, fail."""
    if importlib.util.find_spec("agentdojo") is None:
        why = "the agentdojo extra is not installed (make agentdojo)"
        if os.environ.get("CI"):
            pytest.fail(f"CI runs the AgentDojo tests: {why}")
        pytest.skip(why)
    warnings.filterwarnings("ignore", module="agentdojo")


def _example():
    spec = importlib.util.spec_from_file_location(
        "agentdojo_agreement", ROOT / "examples" / "agentdojo_agreement.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("suite", ["banking", "slack"])
def test_every_gold_solution_passes_under_the_oracle(suite):
    tasks = load_tasks([f"agentdojo:{suite}"])
    assert len(tasks) == {"banking": 16, "slack": 21}[suite]
    result = asyncio.run(run(tasks, model="oracle", concurrency=8))
    failed = [e.task_id for e in result.episodes if not e.success]
    assert failed == []


@pytest.mark.parametrize("suite", ["banking", "slack", "travel", "workspace"])
def test_sandlot_agrees_with_agentdojo_on_gold_and_wrong_call_lists(suite):
    example = _example()
    episodes = asyncio.run(example.measure(suite))
    kinds = {e.variant.kind for e in episodes}
    assert kinds == {"gold", "drop_call", "change_argument", "add_call"}
    disagreements = [
        (e.variant.user_task, e.variant.kind, e.agentdojo, e.sandlot)
        for e in episodes
        if not e.agree
    ]
    assert disagreements == []
    assert all(e.agentdojo for e in episodes if e.variant.kind == "gold")
    # the wrong lists are wrong often enough for agreement to mean something
    assert sum(not e.agentdojo for e in episodes) >= len(episodes) // 10


def test_an_idle_episode_is_scored_as_agentdojo_scores_it():
    """banking user_task_10 passes when nothing is done: AgentDojo's utility decides,
    not sandlot's no-credit rule."""
    from sandlot.agents.models.scripted import ScriptedModel

    (task,) = [t for t in load_tasks(["agentdojo:banking"]) if t.id == "banking-user_task_10"]
    model = ScriptedModel([{"tool": "submit_answer", "args": {"answer": ""}}])
    result = asyncio.run(run([task], model=model, agent="single"))
    assert result.episodes[0].success


def test_restoring_a_stored_snapshot_gives_the_live_environment(tmp_path):
    """Re-scoring from the trace file: redacted secrets come back when unchanged, and
    fields AgentDojo's validators rebuild (the calendar's events) keep the episode's."""
    db = tmp_path / "t.db"
    tasks = [t for t in load_tasks(["agentdojo:travel"]) if t.id == "travel-user_task_1"]
    tasks += [t for t in load_tasks(["agentdojo:banking"]) if t.id == "banking-user_task_9"]
    asyncio.run(run(tasks, model="oracle", db=db))
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "sandlot.cli",
            "score",
            str(db),
            "--tasks",
            "agentdojo:travel",
            "--tasks",
            "agentdojo:banking",
            "--dry-run",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert out.returncode == 0, out.stderr
    assert "passed -> passed" in out.stdout and "-> failed" not in out.stdout


def test_an_unknown_subset_says_what_exists():
    from sandlot.environments.worlds.agentdojo.tasksets import agentdojo_task_set
    from sandlot.errors import UserError

    with pytest.raises(UserError, match="banking, slack, travel, workspace"):
        agentdojo_task_set("bank")
    with pytest.raises(UserError, match="benchmark version"):
        agentdojo_task_set("banking@v9")


def test_the_command_line_runs_a_suite_with_the_oracle(tmp_path):
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "sandlot.cli",
            "run",
            "agentdojo:banking",
            "--model",
            "oracle",
            "--db",
            str(tmp_path / "x.db"),
            "--strict",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "banking-user_task_15" in out.stdout
