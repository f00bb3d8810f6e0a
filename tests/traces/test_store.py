"""The trace store: what it writes, how it reads back, and how it recovers from crashes."""

from __future__ import annotations

import dataclasses
import datetime
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sandlot.environments.loader import load_tasks
from sandlot.environments.tasks import Task
from sandlot.environments.trajectory import OUTCOMES
from sandlot.traces import TraceFileError, TraceReader, TraceStore, WriterError

TASK = {
    "id": "cancel-1",
    "environment": "store",
    "instruction": "Cancel order 1001",
    "checklist": [{"id": "a", "check": {"type": "answer", "value": "cancelled"}}],
}


def dead_pid() -> int:
    """The pid of a process that has exited and been reaped."""
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    return int(proc.stdout)


def finished(
    store: TraceStore, run_id: str, task_id: str, *, epoch: int = 0, success: bool = True, **kw
) -> str:
    rec = store.start_episode(run_id, task_id, epoch=epoch)
    outcome = kw.pop("outcome", "passed" if success else "failed")
    store.finish_episode(rec.episode_id, outcome=outcome, **kw)
    return rec.episode_id


def test_events_checks_and_episode_rows_round_trip(tmp_path):
    with TraceStore(tmp_path / "t.db") as store:
        run_id = store.start_run(model="m", agent="plan-execute", config={"k": 5}, n_tasks=1)
        rec = store.start_episode(run_id, "task-1", model="m")
        root = rec.event("episode", "task-1", {"instruction": "hi"})
        with rec.span("node", "executor", parent=root) as span:
            rec.event(
                "tool_call",
                "get_order",
                {"arguments": {"id": 1}, "ok": True},
                parent=span.seq,
                duration=0.01,
            )
        store.add_checks(
            rec.episode_id,
            [
                {
                    "item_id": "a",
                    "kind": "answer",
                    "passed": True,
                    "weight": 2,
                    "required": True,
                    "evidence": {"x": 1},
                }
            ],
        )
        store.finish_episode(
            rec.episode_id,
            outcome="passed",
            score=1.0,
            prompt_tokens=3,
            completion_tokens=4,
            answer="ok",
        )
        store.finish_run(run_id)
        store.flush()
        events = store.events(rec.episode_id)
        assert [(e["seq"], e["kind"], e["parent"]) for e in events] == [
            (0, "episode", None),
            (1, "node", 0),
            (2, "tool_call", 1),
        ]
        assert events[2]["payload"] == {"arguments": {"id": 1}, "ok": True}
        assert events[1]["duration"] is not None
        ep = store.episode(rec.episode_id)
        assert ep["status"] == "done" and ep["success"] == 1 and ep["tokens"] == 7 and ep["ended"]
        check = store.checks(rec.episode_id)[0]
        assert check["evidence"] == {"x": 1} and check["passed"] == 1 and check["weight"] == 2
        assert store.run(run_id)["status"] == "done" and store.run(run_id)["config"] == {"k": 5}
    conn = sqlite3.connect(tmp_path / "t.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0] == "1"


def test_reads_see_this_stores_writes_without_an_explicit_flush(tmp_path):
    with TraceStore(tmp_path / "t.db", flush_interval=5.0) as store:
        run_id = store.start_run(model="m", agent="a", config={})
        rec = store.start_episode(run_id, "t")
        rec.event("answer", "answer", {"answer": "42"})
        store.finish_episode(rec.episode_id, outcome="passed")
        assert store.episode(rec.episode_id)["status"] == "done"
        assert store.events(rec.episode_id)[0]["payload"] == {"answer": "42"}


def test_a_separate_reader_sees_committed_rows_while_the_store_writes(tmp_path):
    path = tmp_path / "t.db"
    with TraceStore(path) as store:
        run_id = store.start_run(model="m", agent="a", config={})
        rec = store.start_episode(run_id, "t")
        for i in range(100):
            rec.event("tool_call", "t", {"i": i})
        store.flush()
        with TraceReader(path) as reader:
            assert len(reader.events(rec.episode_id)) == 100
            rec.event("tool_call", "t", {"i": 100})
            store.flush()
            assert reader.events(rec.episode_id, after_seq=99)[0]["payload"] == {"i": 100}


def test_episode_filters_order_and_paging(tmp_path):
    with TraceStore(tmp_path / "t.db") as store:
        run_id = store.start_run(model="m", agent="a", config={})
        other = store.start_run(model="m", agent="a", config={})
        ids = [finished(store, run_id, f"t{i}", success=i % 2 == 0, score=i / 10) for i in range(5)]
        finished(store, other, "t0")
        assert [e["id"] for e in store.episodes(run_id)] == ids
        assert [e["task_id"] for e in store.episodes(run_id, success=True)] == ["t0", "t2", "t4"]
        assert [e["task_id"] for e in store.episodes(run_id, order_by="-score", limit=2)] == [
            "t4",
            "t3",
        ]
        assert [e["task_id"] for e in store.episodes(run_id, limit=2, offset=3)] == ["t3", "t4"]
        assert [e["task_id"] for e in store.episodes(run_id, offset=4)] == ["t4"]
        assert len(store.episodes(task_id="t0")) == 2
        with pytest.raises(ValueError, match="cannot order episodes by 'payload'"):
            store.episodes(order_by="payload")


def test_events_filter_by_kind_after_seq_and_limit(tmp_path):
    with TraceStore(tmp_path / "t.db") as store:
        rec = store.start_episode(store.start_run(model="m", agent="a", config={}), "t")
        for i in range(10):
            rec.event("tool_call" if i % 2 else "model_call", "x", {"i": i})
        assert [e["seq"] for e in store.events(rec.episode_id, kinds=["tool_call"])] == [
            1,
            3,
            5,
            7,
            9,
        ]
        assert [e["seq"] for e in store.events(rec.episode_id, after_seq=6, limit=2)] == [7, 8]


def test_summary_counts_rates_and_pass_at_k(tmp_path):
    with TraceStore(tmp_path / "t.db") as store:
        run_id = store.start_run(model="m", agent="a", config={}, epochs=3)
        # task a: 1 success in 3 epochs; task b: none; task c: all three.
        for epoch, (a, b, c) in enumerate(
            [(True, False, True), (False, False, True), (False, False, True)]
        ):
            finished(
                store,
                run_id,
                "a",
                epoch=epoch,
                success=a,
                score=1.0 if a else 0.0,
                prompt_tokens=10,
            )
            finished(
                store,
                run_id,
                "b",
                epoch=epoch,
                success=b,
                score=0.0,
                outcome="error" if epoch == 0 else "failed",
            )
            finished(store, run_id, "c", epoch=epoch, success=c, score=1.0)
        # ended early: scored (budget, gave up) or reported apart (interrupted)
        finished(store, run_id, "d", outcome="budget", score=0.5)
        finished(store, run_id, "d", epoch=1, outcome="gave_up", score=0.5)
        finished(store, run_id, "d", epoch=2, outcome="interrupted", score=None)
        s = store.summary(run_id)
    assert s["episodes"] == 12 and s["errors"] == 1 and s["interrupted"] == 1
    assert (s["passed"], s["failed"], s["budget"], s["gave_up"], s["scored"]) == (4, 4, 1, 1, 10)
    # the errored and the interrupted episode are never averaged in
    assert s["success_rate"] == pytest.approx(4 / 10)
    assert s["mean_score"] == pytest.approx(5 / 10)
    assert s["tokens"] == 30
    assert s["per_task"] == {"a": 1, "b": 0, "c": 1, "d": 0}
    assert s["pass_at_k"] == pytest.approx(2 / 4)
    # task b has two scored epochs: pass@3 clips k to 2 (still "any success" with k = n)
    assert s["pass@3"] == pytest.approx(2 / 4)


def test_tasks_are_stored_as_run_and_read_back_as_task_models(tmp_path):
    task = Task.model_validate(TASK)
    with TraceStore(tmp_path / "t.db") as store:
        run_id = store.start_run(model="m", agent="a", config={})
        store.save_tasks(run_id, [task])
        assert store.task(run_id, "cancel-1") == task
        assert store.tasks(run_id)[0]["environment"] == "store"
        assert store.task(run_id, "missing") is None


def test_resume_continues_numbering_and_reopens_the_episode(tmp_path):
    with TraceStore(tmp_path / "t.db") as store:
        run_id = store.start_run(model="m", agent="a", config={})
        rec = store.start_episode(run_id, "t")
        for _ in range(3):
            rec.event("node", "executor", {})
        store.finish_episode(rec.episode_id, outcome="interrupted")
        again = store.resume_episode(rec.episode_id)
        assert again.event("node", "executor", {}) == 3
        ep = store.episode(rec.episode_id)
        assert ep["status"] == "running" and ep["success"] is None and ep["ended"] is None
        with pytest.raises(KeyError, match="no episode 'nope'"):
            store.resume_episode("nope")
    assert [e["seq"] for e in TraceReader(tmp_path / "t.db").events(rec.episode_id)] == [0, 1, 2, 3]


def test_success_and_status_follow_from_the_outcome_and_are_never_set_alone(tmp_path):
    with TraceStore(tmp_path / "t.db") as store:
        run_id = store.start_run(model="m", agent="a", config={})
        ids = {o: finished(store, run_id, "t", outcome=o) for o in OUTCOMES}
        with pytest.raises(ValueError, match="set the episode's outcome"):
            store.update_episode(ids["failed"], success=True)
        with pytest.raises(ValueError, match="unknown outcome 'done'"):
            store.update_episode(ids["failed"], outcome="done")
        rows = {e["outcome"]: e for e in store.episodes(run_id)}
    assert {o: (r["status"], r["success"]) for o, r in rows.items()} == {
        "passed": ("done", 1),
        "failed": ("done", 0),
        "gave_up": ("done", 0),
        "budget": ("done", 0),
        "error": ("error", 0),
        "interrupted": ("interrupted", 0),
    }


def test_closing_marks_the_stores_own_unfinished_work_interrupted(tmp_path):
    with TraceStore(tmp_path / "t.db") as store:
        run_id = store.start_run(model="m", agent="a", config={})
        done = finished(store, run_id, "t")
        open_ep = store.start_episode(run_id, "t").episode_id
    with TraceStore(tmp_path / "t.db", readonly=True) as store:
        assert store.episode(done)["status"] == "done"
        assert (
            store.episode(open_ep)["status"] == "interrupted"
            and not store.episode(open_ep)["success"]
        )
        assert store.run(run_id)["status"] == "interrupted"


def test_opening_marks_a_dead_processes_running_work_interrupted_and_spares_live_ones(tmp_path):
    path = tmp_path / "t.db"
    TraceStore(path).close()
    here, dead = socket.gethostname(), dead_pid()
    conn = sqlite3.connect(path)
    for run_id, pid, host in [
        ("r-dead", dead, here),
        ("r-live", os.getpid(), here),  # this very process
        ("r-remote", dead, "another-machine"),  # its liveness cannot be known here
    ]:
        conn.execute(
            "INSERT INTO runs (id, status, pid, host) VALUES (?, 'running', ?, ?)",
            (run_id, pid, host),
        )
        conn.execute(
            "INSERT INTO episodes (id, run_id, task_id, status, success) VALUES (?, ?, 't', 'running', 1)",
            (f"e-{run_id}", run_id),
        )
    # An episode resumed (by a process now dead) inside a run that had already finished.
    conn.execute(
        "INSERT INTO runs (id, status, pid, host) VALUES ('r-old', 'done', ?, ?)", (dead, here)
    )
    conn.execute(
        "INSERT INTO episodes (id, run_id, task_id, status, pid, host) "
        "VALUES ('e-resumed', 'r-old', 't', 'running', ?, ?)",
        (dead, here),
    )
    conn.commit()
    conn.close()
    with TraceStore(path) as store:
        status = {e["id"]: (e["status"], e["success"]) for e in store.episodes()}
        runs = {r["id"]: r["status"] for r in store.runs()}
    assert status["e-r-dead"] == ("interrupted", 0)
    assert status["e-resumed"] == ("interrupted", 0)
    assert status["e-r-live"][0] == "running"
    assert status["e-r-remote"][0] == "running"
    assert runs == {
        "r-dead": "interrupted",
        "r-live": "running",
        "r-remote": "running",
        "r-old": "done",
    }


def test_resuming_a_run_makes_this_process_its_owner(tmp_path):
    path = tmp_path / "t.db"
    with TraceStore(path) as store:
        run_id = store.start_run(model="m", agent="a", config={})
    conn = sqlite3.connect(path)
    conn.execute(
        "UPDATE runs SET pid = ?, status = 'interrupted' WHERE id = ?", (dead_pid(), run_id)
    )
    conn.commit()
    conn.close()
    with TraceStore(path) as store:
        store.update_run(run_id, status="running")
        rec = store.start_episode(run_id, "t")
        store.flush()
        with TraceStore(path) as second:  # another store opening the file meanwhile
            assert second.run(run_id)["status"] == "running"
            assert second.episode(rec.episode_id)["status"] == "running"
        store.finish_episode(rec.episode_id, outcome="passed")
        store.finish_run(run_id)
        assert store.run(run_id)["status"] == "done"


def test_update_rejects_unknown_columns_at_the_call(tmp_path):
    with TraceStore(tmp_path / "t.db") as store:
        rec = store.start_episode(store.start_run(model="m", agent="a", config={}), "t")
        with pytest.raises(ValueError, match="episodes has no column.*scroe"):
            store.update_episode(rec.episode_id, scroe=1.0)
        store.update_episode(rec.episode_id, final_state={"orders": [1]}, answer="x")
        assert store.episode(rec.episode_id)["final_state"] == '{"orders":[1]}'


def test_checks_are_validated_and_replaced_whole(tmp_path):
    with TraceStore(tmp_path / "t.db") as store:
        rec = store.start_episode(store.start_run(model="m", agent="a", config={}), "t")
        store.add_checks(
            rec.episode_id, [{"item_id": "a", "passed": False}, {"item_id": "b", "passed": None}]
        )
        with pytest.raises(ValueError, match="needs an 'item_id'"):
            store.add_checks(rec.episode_id, [{"item_id": "c", "passed": True}, {"passed": True}])
        with pytest.raises(ValueError, match="unknown key.*pased"):
            store.add_checks(rec.episode_id, [{"item_id": "c", "pased": True}])
        assert [(c["item_id"], c["passed"]) for c in store.checks(rec.episode_id)] == [
            ("a", 0),
            ("b", None),
        ]
        store.replace_checks(
            rec.episode_id, [{"item_id": "a", "passed": True, "skipped_reason": None}]
        )
        assert [(c["item_id"], c["passed"]) for c in store.checks(rec.episode_id)] == [("a", 1)]


@dataclasses.dataclass
class Point:
    x: int
    y: int


def test_payloads_of_any_python_type_are_stored_not_raised(tmp_path):
    cyclic: dict = {"name": "loop"}
    cyclic["self"] = cyclic
    with TraceStore(tmp_path / "t.db") as store:
        rec = store.start_episode(store.start_run(model="m", agent="a", config={}), "t")
        rec.event(
            "tool_call", "a", {"when": datetime.date(2026, 1, 2), "tags": {"x"}, "p": Point(1, 2)}
        )
        rec.event("tool_call", "b", {"task": Task.model_validate(TASK), "big": 2**70, 3: "int key"})
        rec.event("tool_call", "c", cyclic)
        a, b, c = (e["payload"] for e in store.events(rec.episode_id))
    assert a == {"when": "2026-01-02", "tags": ["x"], "p": {"x": 1, "y": 2}}
    assert b["task"]["id"] == "cancel-1" and b["big"] == 2**70 and b["3"] == "int key"
    assert c == {"name": "loop", "self": "<cycle>"}  # the rest of a cyclic payload is kept


def test_readonly_store_reads_and_refuses_writes(tmp_path):
    with pytest.raises(FileNotFoundError, match="no trace file"):
        TraceStore(tmp_path / "missing.db", readonly=True)
    with TraceStore(tmp_path / "t.db") as store:
        run_id = store.start_run(model="m", agent="a", config={})
    with TraceStore(tmp_path / "t.db", readonly=True) as store:
        assert store.run(run_id)["id"] == run_id
        with pytest.raises(PermissionError, match="read-only"):
            store.start_run(model="m", agent="a", config={})
        with pytest.raises(PermissionError, match="read-only"):
            store.start_episode(run_id, "t")


def test_a_file_from_an_older_schema_gains_the_new_columns(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript(
        "CREATE TABLE runs (id TEXT PRIMARY KEY, status TEXT);"
        "CREATE TABLE episodes (id TEXT PRIMARY KEY, run_id TEXT, task_id TEXT, status TEXT);"
        "INSERT INTO episodes VALUES ('old', 'r', 't', 'done');"
    )
    conn.close()
    with TraceStore(path) as store:
        rec = store.start_episode(store.start_run(model="m", agent="a", config={}), "t")
        assert store.episode(rec.episode_id)["pid"] == os.getpid()
        assert store.episode("old")["status"] == "done" and store.episode("old")["tokens"] == 0


def test_a_file_that_is_not_sqlite_gets_a_clear_error(tmp_path):
    path = tmp_path / "notes.db"
    path.write_text("just some notes, not a database " * 100)
    with pytest.raises(ValueError, match="notes.db is not a trace file"):
        TraceStore(path)


def test_another_programs_sqlite_file_is_refused_and_left_unchanged(tmp_path):
    path = tmp_path / "app.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT)")
        conn.execute("INSERT INTO users (name) VALUES ('ada')")
    conn.close()
    before = path.read_bytes()
    with pytest.raises(TraceFileError, match="app.db is an SQLite database of something else"):
        TraceStore(path)
    assert path.read_bytes() == before
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
        names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    assert names == {"users"}


# --- read-only trace locations -------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
NO_TOOL = ROOT / "examples/tasks/store/no_tool.yaml"

# What a process that permission bits bind sees: each check prints one JSON line.
READ_ONLY_PROBE = textwrap.dedent(
    """
    import json, os, subprocess, sys
    from sandlot.traces import TraceStore
    from sandlot.traces.viewer.api import ViewerAPI

    trace, new = sys.argv[1], sys.argv[2]
    out = {"writable": os.access(trace, os.W_OK)}
    for name, path in (("open", trace), ("create", new)):
        try:
            TraceStore(path).close()
            out[name] = "opened"
        except Exception as exc:
            out[name] = f"{type(exc).__name__}: {exc}"
    with TraceStore(trace, readonly=True) as store:
        out["reader"] = [e["task_id"] for e in store.episodes()]
        out["reader_events"] = len(store.events(store.episodes()[0]["id"]))
    api = ViewerAPI(trace)
    run_id = api.runs()[0]["id"]
    rows = api.episodes(run_id)["rows"]
    out["viewer"] = [r["task_id"] for r in rows]
    out["viewer_events"] = api.events(rows[0]["id"])["total"]
    api.close()
    cli = [sys.executable, "-m", "sandlot.cli"]
    for name, args in (
        ("cli_run", ["run", sys.argv[3], "--db", trace, "-q"]),
        ("cli_score", ["score", trace, "--tasks", sys.argv[3], "--dry-run"]),
        ("cli_export", ["export", trace, rows[0]["id"], "--html", sys.argv[4]]),
    ):
        done = subprocess.run(cli + args, capture_output=True, text=True, timeout=120)
        out[name] = [done.returncode, done.stdout + done.stderr]
    print(json.dumps(out))
    """
)


def _unprivileged(script: str, *args: str) -> dict:
    """Run ``script`` in a process that file permission bits bind. Tests run as root
    here, and root ignores them: as root the process runs without the capabilities that
    bypass them (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH), so it stays the files' owner
    and meets their owner bits."""
    cmd = [sys.executable, "-c", script, *args]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        if setpriv is None:
            pytest.skip("as root, setpriv (util-linux) is needed to make permission bits apply")
        cmd = [setpriv, "--bounding-set=-dac_override,-dac_read_search", "--inh-caps=-all", "--"]
        cmd += [sys.executable, "-c", script, *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.fixture
def finished_trace(tmp_path):
    """A trace of two finished no-tool episodes in its own folder (modes restored after)."""
    from sandlot.agents.running.runner import run
    from tests.traces.conftest import in_a_thread

    folder = tmp_path / "media"
    tasks = load_tasks([NO_TOOL])[:2]
    in_a_thread(run(tasks, model="oracle", db=folder / "t.db", checkpoints=False))
    yield folder / "t.db"
    folder.chmod(0o755)
    for path in folder.iterdir():
        path.chmod(0o644)


def _check_read_only(out: dict, trace: Path, said: str) -> None:
    assert out["writable"] is False  # the probe really could not write
    assert out["open"].startswith("TraceFileError") and said in out["open"], out["open"]
    assert str(trace) in out["open"]
    ids = [t.id for t in load_tasks([NO_TOOL])[:2]]
    assert sorted(out["reader"]) == sorted(ids) and out["reader_events"] > 0
    assert sorted(out["viewer"]) == sorted(ids) and out["viewer_events"] > 0
    code, text = out["cli_run"]
    assert code == 2 and said in text and "Traceback" not in text, text
    code, text = out["cli_score"]
    assert code == 0 and "re-scored 2 episodes (dry run)" in text, text
    code, text = out["cli_export"]
    assert code == 0 and "wrote" in text, text


def test_a_read_only_trace_file_is_said_to_be_read_only_and_can_still_be_read(
    finished_trace, tmp_path
):
    finished_trace.chmod(0o444)
    out = _unprivileged(
        READ_ONLY_PROBE,
        str(finished_trace),
        str(finished_trace.parent / "new.db"),
        str(NO_TOOL),
        str(tmp_path / "episode.html"),
    )
    _check_read_only(out, finished_trace, "is read-only")
    assert out["create"] == "opened"  # the folder itself is writable


def test_a_trace_on_read_only_media_is_read_without_writing_beside_it(finished_trace, tmp_path):
    folder = finished_trace.parent
    finished_trace.chmod(0o444)
    folder.chmod(0o555)
    before = sorted(p.name for p in folder.iterdir())
    assert not any(name.endswith(("-wal", "-shm")) for name in before)
    out = _unprivileged(
        READ_ONLY_PROBE,
        str(finished_trace),
        str(folder / "new.db"),
        str(NO_TOOL),
        str(tmp_path / "episode.html"),
    )
    _check_read_only(out, finished_trace, "read-only")
    assert out["create"].startswith("TraceFileError") and "read-only" in out["create"]
    assert str(folder) in out["create"]
    assert sorted(p.name for p in folder.iterdir()) == before  # nothing written beside it


def test_a_writable_trace_in_a_read_only_folder_is_refused_for_writing(finished_trace):
    folder = finished_trace.parent
    folder.chmod(0o555)
    script = textwrap.dedent(
        """
        import json, sys
        from sandlot.traces import TraceStore
        try:
            TraceStore(sys.argv[1]).close()
            print(json.dumps("opened"))
        except Exception as exc:
            print(json.dumps(f"{type(exc).__name__}: {exc}"))
        """
    )
    said = _unprivileged(script, str(finished_trace))
    assert said.startswith("TraceFileError") and "read-only" in said and str(folder) in said


def test_a_run_into_a_new_trace_in_a_read_only_folder_says_so_without_a_traceback(tmp_path):
    folder = tmp_path / "media"
    folder.mkdir()
    folder.chmod(0o555)
    script = textwrap.dedent(
        """
        import json, subprocess, sys
        cli = [sys.executable, "-m", "sandlot.cli", "run", sys.argv[2], "-q", "--db", sys.argv[1]]
        done = subprocess.run(cli, capture_output=True, text=True, timeout=120)
        print(json.dumps([done.returncode, done.stdout + done.stderr]))
        """
    )
    try:
        code, text = _unprivileged(script, str(folder / "new.db"), str(NO_TOOL))
    finally:
        folder.chmod(0o755)
    assert code == 2 and "read-only" in text and "Traceback" not in text, text
    assert list(folder.iterdir()) == []


# --- who owns a run: claiming one to resume it ---------------------------------------------


def test_a_run_a_live_store_writes_cannot_be_claimed_and_a_free_one_can(tmp_path):
    from sandlot.errors import ResumeError

    path = tmp_path / "t.db"
    with TraceStore(path) as first:
        run_id = first.start_run(model="m", agent="a", config={})
        first.flush()
        with TraceStore(path) as second:
            pattern = rf"run {run_id} is still running in process {os.getpid()} \(this process\)"
            with pytest.raises(ResumeError, match=pattern):
                second.claim_run(run_id)
            assert second.run(run_id)["store_id"] == first.store_id  # unchanged
    with TraceStore(path) as third:  # the first closed: the run is free
        third.claim_run(run_id)
        row = third.run(run_id)
        assert row["status"] == "running" and row["store_id"] == third.store_id
        with pytest.raises(ResumeError, match="no run 'nope'"):
            third.claim_run("nope")


def test_rows_of_a_store_that_closed_without_marking_them_are_interrupted_on_open(tmp_path):
    path = tmp_path / "t.db"
    store = TraceStore(path)
    run_id = store.start_run(model="m", agent="a", config={})
    episode = store.start_episode(run_id, "t")
    store.flush()
    store._require_writer().execute("PRAGMA max_page_count = 1")  # the disk is full
    for i in range(300):
        episode.event("tool_call", "t", {"i": i, "pad": "x" * 2000})
    with pytest.raises(WriterError, match="database or disk is full"):
        store.close()  # it could not mark its own rows: they still read 'running'
    conn = sqlite3.connect(path)
    assert conn.execute("SELECT status FROM runs").fetchall() == [("running",)]
    conn.close()
    with TraceStore(path) as again:  # same process, but the store that wrote them is gone
        assert again.run(run_id)["status"] == "interrupted"
        assert again.episode(episode.episode_id)["status"] == "interrupted"


def test_a_reused_pid_is_not_taken_for_the_process_that_wrote_a_row(tmp_path):
    path = tmp_path / "t.db"
    TraceStore(path).close()
    conn = sqlite3.connect(path)
    # This process's pid, but a process that started a day before this one: not us.
    conn.execute(
        "INSERT INTO runs (id, status, pid, host, pid_started) VALUES ('r', 'running', ?, ?, ?)",
        (os.getpid(), socket.gethostname(), time.time() - 86_400),
    )
    conn.commit()
    conn.close()
    with TraceStore(path) as store:
        assert store.run("r")["status"] == "interrupted"
