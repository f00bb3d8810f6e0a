"""`sandlot runs` and `sandlot episodes RUN [--failed]` list ids (with why an episode did
not pass); commands that take an episode id take a unique prefix of one."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from sandlot.cli import app
from sandlot.errors import UserError
from sandlot.traces.listing import resolve_episode
from sandlot.traces.query import TraceReader

TASKS = """
environment: store
tasks:
  - id: store-a
    instruction: "Look up order 1004."
    checklist:
      - {id: looked, description: "Looked it up", check: {type: called, tool: get_order}}
    reference:
      calls:
        - {tool: get_order, args: {order_id: 1004}}
      answer: "seen"
"""


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "t.yaml"
    path.write_text(TASKS)
    db = tmp_path / "t.db"
    for model in ("oracle", "null"):
        args = ["run", str(path), "--db", str(db), "--model", model, "--agent", "single", "-q"]
        out = CliRunner().invoke(app, args)
        assert out.exit_code == 0, out.output
    return db


def test_runs_lists_every_run_with_its_passes(db):
    out = CliRunner().invoke(app, ["runs", "--db", str(db)])
    assert out.exit_code == 0, out.output
    with TraceReader(db) as reader:
        ids = [r["id"] for r in reader.runs()]
    assert all(i in out.output for i in ids)
    assert "1/1" in out.output and "0/1" in out.output


def test_episodes_failed_lists_the_failures_with_why(db):
    out = CliRunner().invoke(app, ["episodes", "latest", "--db", str(db), "--failed"])
    assert out.exit_code == 0, out.output
    with TraceReader(db) as reader:
        failed = [e for e in reader.episodes() if not e["success"]]
        passed = [e for e in reader.episodes() if e["success"]]
    assert failed[0]["id"] in out.output and passed[0]["id"] not in out.output
    assert "budget" in out.output
    out = CliRunner().invoke(app, ["episodes", "nosuchrun", "--db", str(db)])
    assert out.exit_code == 2 and "RUN" in out.output


def test_an_episode_prefix_names_one_episode(db):
    with TraceReader(db) as reader:
        ids = [e["id"] for e in reader.episodes()]
        assert resolve_episode(reader, ids[0][:6]) == ids[0]
        with pytest.raises(UserError, match="no episode"):
            resolve_episode(reader, "zzzz")
        with pytest.raises(UserError, match="no episode"):
            resolve_episode(reader, "")  # no prefix names every episode
    out = CliRunner().invoke(app, ["replay", str(db), ids[0][:6]])
    assert out.exit_code == 0, out.output
    assert f"of {ids[0]}" in out.output
    assert f"sandlot view {db}  then open http://127.0.0.1:8321/#/episode/" in out.output
