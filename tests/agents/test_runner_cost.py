"""What a run's model calls cost, from a price per million tokens: on each model_call
event, each episode and the run, in the run config, the CLI summary and `sandlot compare`;
older trace files without the cost column still open."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sandlot.agents.models import ModelRequest, Price, RoutedModel, ScriptedModel, Usage
from sandlot.agents.running.runner import run
from sandlot.cli import app
from sandlot.environments.loader import load_tasks
from sandlot.traces.query import TraceReader
from sandlot.traces.store import TraceStore

TASK = """
environment: store
tasks:
  - id: store-cost
    instruction: "Look up order 1004."
    checklist:
      - {id: looked, description: "Looked it up", check: {type: called, tool: get_order}}
"""

SCRIPT = [
    {
        "tool": "get_order",
        "args": {"order_id": 1004},
        "usage": {"prompt_tokens": 1000, "completion_tokens": 100},
    },
    {
        "tool": "submit_answer",
        "args": {"answer": "seen"},
        "usage": {"prompt_tokens": 2000, "completion_tokens": 50},
    },
]


def _task(tmp_path: Path) -> Path:
    path = tmp_path / "task.yaml"
    path.write_text(TASK)
    return path


def test_a_price_must_be_a_number_of_usd():
    with pytest.raises(ValueError, match="input tokens"):
        Price(input=-1.0)
    assert Price(input=2.0, output=10.0).cost(Usage(1_000_000, 100_000)) == pytest.approx(3.0)


async def test_each_model_call_the_episode_and_the_run_record_their_cost(tmp_path):
    model = ScriptedModel(list(SCRIPT))
    model.price = Price(input=2.0, output=10.0)
    db = tmp_path / "t.db"
    result = await run(load_tasks([_task(tmp_path)]), model=model, agent="single", db=db)
    episode = result.episodes[0]
    want = (3000 * 2.0 + 150 * 10.0) / 1e6
    assert episode.cost == pytest.approx(want)
    assert result.summary()["cost"] == pytest.approx(want)
    with TraceStore(db, readonly=True) as store:
        calls = store.events(episode.episode_id, kinds=["model_call"])
        row = store.episodes()[0]
        config = store.runs()[0]["config"]
        summary = store.summary(result.run_id)
    assert [c["payload"]["cost_usd"] for c in calls] == pytest.approx([0.003, 0.0045])
    assert row["cost"] == pytest.approx(want)
    assert summary["cost"] == pytest.approx(want)
    config = json.loads(config) if isinstance(config, str) else config
    assert config["model"]["price"] == {"input_per_million": 2.0, "output_per_million": 10.0}


async def test_no_price_records_no_cost(tmp_path):
    db = tmp_path / "t.db"
    result = await run(
        load_tasks([_task(tmp_path)]), model=ScriptedModel(list(SCRIPT)), agent="single", db=db
    )
    assert result.episodes[0].cost is None and result.summary()["cost"] is None
    with TraceStore(db, readonly=True) as store:
        calls = store.events(result.episodes[0].episode_id, kinds=["model_call"])
        assert store.episodes()[0]["cost"] is None
    assert all("cost_usd" not in c["payload"] for c in calls)


def test_a_model_per_role_costs_at_its_own_price():
    planner, executor = ScriptedModel([]), ScriptedModel([])
    planner.price, executor.price = Price(1.0, 1.0), Price(5.0, 5.0)
    routed = RoutedModel(planner, executor)
    assert routed.price_for(ModelRequest(messages=[], purpose="plan")) == Price(1.0, 1.0)
    assert routed.price_for(ModelRequest(messages=[], purpose="execute")) == Price(5.0, 5.0)
    assert routed.describe()["executor"]["price"]["input_per_million"] == 5.0


def _script_file(tmp_path: Path) -> str:
    path = tmp_path / "script.py"
    path.write_text(f"SCRIPT = {SCRIPT!r}\n")
    return f"scripted:{path}:SCRIPT"


def test_the_cli_records_the_price_and_shows_the_cost_in_the_summary_and_compare(tmp_path):
    runner = CliRunner()
    db = tmp_path / "t.db"
    task = str(_task(tmp_path))
    common = ["run", task, "--db", str(db), "--agent", "single", "-q"]
    out = runner.invoke(
        app,
        [*common, "--model", _script_file(tmp_path), "--price-input", "2", "--price-output", "10"],
    )
    assert out.exit_code == 0, out.output
    assert "$0.0075" in out.output  # the episode's cost and the run's
    out = runner.invoke(app, [*common, "--model", _script_file(tmp_path), "--price-input", "4"])
    assert out.exit_code == 0, out.output
    with TraceReader(db) as reader:
        run_a, run_b = (r["id"] for r in sorted(reader.runs(), key=lambda r: r["started"]))
    out = runner.invoke(app, ["compare", str(db), run_a, run_b, "--json"])
    assert out.exit_code == 0, out.output
    cost = json.loads(out.output)["cost"]
    assert cost["a"] == pytest.approx(0.0075) and cost["b"] == pytest.approx(0.012)
    out = runner.invoke(app, ["compare", str(db), run_a, run_b])
    assert "cost per episode" in out.output


def test_a_trace_from_before_the_cost_column_opens_read_only_and_read_write(tmp_path):
    db = tmp_path / "old.db"
    result_db = tmp_path / "new.db"
    asyncio.run(
        run(
            load_tasks([_task(tmp_path)]),
            model=ScriptedModel(list(SCRIPT)),
            agent="single",
            db=result_db,
        )
    )
    conn = sqlite3.connect(result_db)
    conn.execute("ALTER TABLE episodes DROP COLUMN cost")
    conn.commit()
    conn.execute("VACUUM INTO ?", (str(db),))
    conn.close()
    with TraceReader(db) as reader:
        run_id = reader.runs()[0]["id"]
        assert reader.summary(run_id)["cost"] is None
    with TraceStore(db) as store:  # read-write adds the column
        assert store.episodes()[0]["cost"] is None
    columns = [r[1] for r in sqlite3.connect(db).execute("PRAGMA table_info(episodes)")]
    assert "cost" in columns
