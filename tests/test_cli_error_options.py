"""Each error of `sandlot replay` and `sandlot run --resume` is said under the option or
argument it is about — a missing trace under the trace's, never under --tools — and
`--user-model` goes with `--resume`."""

from __future__ import annotations

import asyncio
import sqlite3

from typer.testing import CliRunner

from sandlot.agents.models import ScriptedModel
from sandlot.agents.running.runner import run
from sandlot.cli import app
from sandlot.traces.store import TraceStore
from tests.agents.test_resume_users import llm_user_task

WIDE = {"COLUMNS": "400"}  # one error line, however long the path


def test_a_missing_trace_in_replay_is_a_trace_error_not_a_tools_error(tmp_path):
    out = CliRunner().invoke(app, ["replay", str(tmp_path / "typo.db"), "ep"], env=WIDE)
    assert out.exit_code == 2, out.output
    assert "Invalid value for DB:" in out.output and "no trace file" in out.output
    assert "--tools" not in out.output


def test_an_unknown_episode_in_replay_is_about_the_episode_not_tools(tmp_path):
    db = tmp_path / "t.db"
    with TraceStore(db):
        pass
    out = CliRunner().invoke(app, ["replay", str(db), "nope"], env=WIDE)
    assert out.exit_code == 2, out.output
    assert "Invalid value for EPISODE_ID:" in out.output and "no episode 'nope'" in out.output
    assert "--tools" not in out.output


def test_resume_errors_are_about_db_and_user_model(tmp_path):
    runner = CliRunner()
    missing = runner.invoke(app, ["run", "--resume", "--db", str(tmp_path / "typo.db")], env=WIDE)
    assert missing.exit_code == 2 and "Invalid value for --db:" in missing.output
    assert "--tools" not in missing.output
    bad = runner.invoke(
        app, ["run", "--resume", "--db", str(tmp_path / "t.db"), "--user-model", "bogus"], env=WIDE
    )
    assert bad.exit_code == 2 and "Invalid value for --user-model:" in bad.output, bad.output
    assert not (tmp_path / "t.db").exists()


def test_run_resume_takes_the_user_model_again(tmp_path):
    db = tmp_path / "t.db"
    tasks = [llm_user_task("u1"), llm_user_task("u2")]
    user = ScriptedModel(["Order 1001, yes."] * 4)  # cannot be rebuilt from its name
    first = asyncio.run(run(tasks, model="oracle", db=db, agent="single", user_model=user))
    assert all(e.success for e in first.episodes)
    gone = next(e.episode_id for e in first.episodes if e.task_id == "u2")
    with sqlite3.connect(db) as conn:  # as if the process died before u2 started
        conn.execute("DELETE FROM events WHERE episode_id = ?", (gone,))
        conn.execute("DELETE FROM episodes WHERE id = ?", (gone,))
    conn.close()

    runner = CliRunner()
    refused = runner.invoke(app, ["run", "--resume", "--db", str(db), "-q"], env=WIDE)
    assert refused.exit_code == 2 and "give the user model again (--user-model)" in refused.output
    assert "--tools" not in refused.output
    resumed = runner.invoke(
        app, ["run", "--resume", "--db", str(db), "--user-model", "oracle", "-q"], env=WIDE
    )
    assert resumed.exit_code == 0, resumed.output
    with TraceStore(db) as store:
        episodes = store.episodes(first.run_id)
    assert sorted(e["task_id"] for e in episodes) == ["u1", "u2"]
    assert all(e["status"] == "done" and e["success"] for e in episodes)


def _recorded(tmp_path) -> tuple[str, str]:
    """A trace with one oracle run of one task: (its path, the run's id)."""
    tasks = tmp_path / "one.yaml"
    tasks.write_text(
        "environment: store\ntasks:\n  - id: one\n    instruction: order 1003's status?\n"
        "    checklist:\n      - {id: a, check: {type: answer, match: contains, value: x}}\n"
    )
    db = tmp_path / "t.db"
    out = CliRunner().invoke(app, ["run", str(tasks), "--db", str(db), "-q"], env=WIDE)
    assert out.exit_code == 0, out.output
    with TraceStore(db, readonly=True) as store:
        return str(db), store.runs()[0]["id"]


def test_an_unknown_run_is_named_with_the_runs_there(tmp_path):
    db, run_id = _recorded(tmp_path)
    tasks = str(tmp_path / "one.yaml")
    for args in (
        ["export", db, "--format", "jsonl", "--run", "r-nope"],
        ["export", db, "--format", "otlp", "--endpoint", "http://127.0.0.1:9/v1/traces"]
        + ["--run", "r-nope"],
        ["score", db, "--tasks", tasks, "--run", "r-nope"],
        ["run", "--resume", "--db", db, "--run", "r-nope"],
    ):
        out = CliRunner().invoke(app, args, env=WIDE)
        assert out.exit_code == 2, (args, out.output)
        assert "Invalid value for --run:" in out.output and "'r-nope'" in out.output, out.output
        assert run_id in out.output and f"sandlot runs --db {db}" in out.output


def test_run_names_the_run_to_resume_only_with_resume(tmp_path):
    db, run_id = _recorded(tmp_path)
    out = CliRunner().invoke(app, ["run", "--db", db, "--run", run_id], env=WIDE)
    assert out.exit_code == 2 and "give --resume too" in out.output, out.output
    other = CliRunner().invoke(app, ["run", str(tmp_path / "one.yaml"), "--db", db, "-q"])
    assert other.exit_code == 0, other.output
    # a prefix of the first run's id names it, though it is not the latest run
    out = CliRunner().invoke(app, ["run", "--resume", "--db", db, "--run", run_id[:-2]], env=WIDE)
    assert out.exit_code == 0, out.output
    assert f"run {run_id}" in out.output


def test_export_makes_the_folder_of_out_and_names_one_it_cannot_make(tmp_path):
    db, _ = _recorded(tmp_path)
    out = tmp_path / "missing" / "folder" / "file.json"
    done = CliRunner().invoke(app, ["export", db, "--format", "jsonl", "--out", str(out)])
    assert done.exit_code == 0, done.output
    assert '"task_id": "one"' in out.read_text()
    (tmp_path / "a file").write_text("")
    blocked = tmp_path / "a file" / "file.json"
    refused = CliRunner().invoke(
        app, ["export", db, "--format", "jsonl", "--out", str(blocked)], env=WIDE
    )
    assert refused.exit_code == 2, refused.output
    assert "Invalid value for --out:" in refused.output
    assert f"cannot make the folder {str(tmp_path / 'a file')!r}" in refused.output


def test_judge_errors_name_the_judge_option(tmp_path):
    tasks = tmp_path / "one.yaml"
    _recorded(tmp_path)
    db = str(tmp_path / "j.db")
    bad = CliRunner().invoke(app, ["run", str(tasks), "--db", db, "--judge", "oracel"], env=WIDE)
    assert bad.exit_code == 2 and "Invalid value for --judge:" in bad.output, bad.output
    unreachable = CliRunner().invoke(
        app,
        ["run", str(tasks), "--db", db, "-q", "--judge", "openai:judge"]
        + ["--base-url", "http://127.0.0.1:9/v1", "--retries", "0", "--request-timeout", "5"],
        env=WIDE,
    )
    assert unreachable.exit_code == 1, unreachable.output
    assert "the judge (--judge): cannot reach" in unreachable.output
    resumed = CliRunner().invoke(
        app,
        ["run", "--resume", "--db", _recorded(tmp_path)[0], "-q", "--judge", "openai:judge"]
        + ["--base-url", "http://127.0.0.1:9/v1", "--retries", "0", "--request-timeout", "5"],
        env=WIDE,
    )
    assert resumed.exit_code == 1, resumed.output
    assert "the judge (--judge): cannot reach" in resumed.output
