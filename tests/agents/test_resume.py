"""Killing a run and resuming it: finished episodes kept, unfinished ones continue from
their last checkpoint, nothing counted twice; which run a resume continues, and under
which agent config."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sandlot.agents.after.replay import replay_episode
from sandlot.agents.after.rescore import rescore
from sandlot.agents.after.resume import ResumeError, resume_run
from sandlot.agents.graph.runtime import AgentConfig
from sandlot.agents.models import ScriptedModel
from sandlot.agents.running.runner import run, stored_agent_config
from sandlot.tools import tool
from sandlot.traces.store import TraceStore
from tests.agents.conftest import notes_task

# A run whose third task blocks in its second model call until killed. The world is the
# store; the model is the oracle except that it hangs on the marked task.
SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from tests.agents.hanging import HangingOracle
    from sandlot.agents.running.runner import run
    from sandlot.environments.loader import load_tasks

    tasks = [t for t in load_tasks(["examples/tasks/store"]) if len(t.reference.calls) >= 2
             and all(c.tool != "transfer_to_human_agent" for c in t.reference.calls)][:3]
    print("TASKS", " ".join(t.id for t in tasks), flush=True)
    asyncio.run(run(tasks, model=HangingOracle(sys.argv[2]), db=sys.argv[1], concurrency=1))
    """
)

ROOT = Path(__file__).resolve().parents[2]


def _start(db: Path, hang_on: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(db), hang_on],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _task_ids() -> list[str]:
    from sandlot.environments.loader import load_tasks

    tasks = load_tasks([ROOT / "examples/tasks/store"])
    # tasks that end with an answer (not with a tool that ends the episode), in any order
    return [
        t.id
        for t in tasks
        if len(t.reference.calls) >= 2
        and all(c.tool != "transfer_to_human_agent" for c in t.reference.calls)
    ][:3]


def _until_committed(db: Path, task_id: str) -> None:
    """Wait until the trace writer has committed a tool call of the episode of
    ``task_id`` (it batches: an event reaches the file some time after it happened)."""
    sql = (
        "SELECT count(*) FROM events JOIN episodes ON events.episode_id = episodes.id "
        "WHERE episodes.task_id = ? AND events.kind = 'tool_call'"
    )
    deadline = time.monotonic() + 60  # a bound against a hang, not a timing assertion
    while time.monotonic() < deadline:
        with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn:
            try:
                if conn.execute(sql, (task_id,)).fetchone()[0] >= 1:
                    return
            except sqlite3.OperationalError:  # the tables are not created yet
                pass
        time.sleep(0.01)  # polling interval of the wait above, not a synchronisation
    raise AssertionError(f"no tool call of {task_id} was committed within 60 s")


async def test_killed_run_resumes_without_counting_an_episode_twice(tmp_path):
    ids = _task_ids()
    db = tmp_path / "traces.db"
    proc = _start(db, hang_on=ids[2])
    lines = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if "HANGING" in line or not line:
            break
    assert any("HANGING" in x for x in lines), "".join(lines)
    _until_committed(db, ids[2])  # the hung episode's first steps are in the database
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)

    # the database is readable and nothing unfinished is a success
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = dict(conn.execute("SELECT task_id, status FROM episodes").fetchall())
    bad = conn.execute("SELECT count(*) FROM episodes WHERE success = 1 AND status != 'done'")
    assert bad.fetchone()[0] == 0
    conn.close()
    assert rows[ids[0]] == "done" and rows[ids[1]] == "done"
    assert rows[ids[2]] == "running"  # as left by the killed process

    with TraceStore(db) as store:  # opening marks the orphan interrupted
        hung = next(e for e in store.episodes() if e["task_id"] == ids[2])
        assert hung["status"] == "interrupted" and not hung["success"]
        events_before = len(store.events(hung["id"]))

    result = await resume_run(db, model="oracle")
    by_task = {e.task_id: e for e in result.episodes}
    assert sorted(by_task) == sorted(ids)
    assert len(result.episodes) == 3  # nothing counted twice
    assert all(e.success for e in result.episodes), [(e.task_id, e.error) for e in result.episodes]

    with TraceStore(db) as store:
        episodes = store.episodes()
        assert len(episodes) == 3
        resumed = next(e for e in episodes if e["task_id"] == ids[2])
        assert resumed["id"] == hung["id"]  # continued, not restarted as a new episode
        assert resumed["status"] == "done" and resumed["success"] == 1
        events = store.events(resumed["id"])
        assert len(events) > events_before
        restore = [e for e in events if e["kind"] == "replay" and e["name"] == "resume"]
        assert restore and restore[0]["payload"]["restored"] >= 1
        assert restore[0]["payload"]["diverged"] == []
        seqs = [e["seq"] for e in events]
        assert len(seqs) == len(set(seqs))
        # the trace tells what the episode row counts: work the killed process did after
        # its last checkpoint is kept but marked, as the resume did it again
        kinds = [e["kind"] for e in events]
        assert kinds.count("model_call") == resumed["model_calls"]
        assert kinds.count("tool_call") == resumed["tool_calls"] + 1  # + submit_answer
        everything = store.events(resumed["id"], include_superseded=True)
        assert len(everything) >= len(events)


def test_the_stored_config_comes_back_and_unknown_keys_are_ignored():
    run_row = {"agent": "single", "config": {"agent": {"agent": "single", "k": 2, "new": 1}}}
    assert stored_agent_config(run_row) == AgentConfig(agent="single", k=2)
    assert stored_agent_config({"agent": "single", "config": {}}) == AgentConfig(agent="single")


async def test_resume_continues_the_latest_run_of_tasks_under_its_own_config(tmp_path):
    db = tmp_path / "t.db"
    cfg = AgentConfig(k=1, max_model_calls=7)
    first = await run([notes_task("a"), notes_task("b")], model="oracle", db=db, agent=cfg)
    by_task = {e.task_id: e.episode_id for e in first.episodes}
    report = await replay_episode(db, by_task["a"])  # a later run, of kind "replay"
    assert report.matched
    with sqlite3.connect(db) as conn:  # as if the process died before "b" started
        conn.execute("DELETE FROM events WHERE episode_id = ?", (by_task["b"],))
        conn.execute("DELETE FROM episodes WHERE id = ?", (by_task["b"],))
    conn.close()

    resumed = await resume_run(db)
    assert resumed.run_id == first.run_id
    again = next(e for e in resumed.episodes if e.task_id == "b")
    assert again.success and again.episode_id != by_task["b"]
    with TraceStore(db) as store:
        offered = [
            e["payload"]["offered"] for e in store.events(again.episode_id, kinds=["retrieval"])
        ]
        # k=1, not the default 5 (the answer step matches no tool: none offered)
        assert ["add_note"] in offered and all(len(o) <= 1 for o in offered)
        with pytest.raises(ResumeError, match="is a replay"):
            await resume_run(db, run_id=store.episode(report.replay.episode_id)["run_id"])


async def test_work_lost_after_the_last_checkpoint_is_marked_not_counted_twice(tmp_path):
    db = tmp_path / "t.db"

    def model(slow: bool) -> ScriptedModel:
        def script(request):
            if request.step_index == 1:
                return {"tool": "submit_answer", "args": {"answer": "There is 1 note."}}
            if request.metadata["step_calls"]:
                return "Added."
            second = (
                {"tool": "hang", "args": {"query": "x"}}
                if slow
                else {
                    "tool": "list_notes",
                    "args": {},
                }
            )
            return [{"tool": "add_note", "args": {"text": "buy milk"}}, second]

        return ScriptedModel(script, plan=["add the note", "answer"])

    task = notes_task(
        checklist=[{"id": "once", "check": {"type": "called", "tool": "add_note", "max_times": 1}}]
    )
    started = asyncio.Event()

    @tool
    async def hang(query: str) -> str:
        """Wait until cancelled.

        Args:
            query: Anything.
        """
        started.set()
        await asyncio.Event().wait()
        return query

    first = asyncio.create_task(
        run([task], model=model(slow=True), db=db, env_options={"extra_tools": [hang]})
    )
    await started.wait()  # the batch's second call is running: stop there
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first

    resumed = await resume_run(db, model=model(slow=False))
    (ep,) = resumed.episodes
    assert ep.success and ep.tool_calls == 2
    with TraceStore(db) as store:
        kept = store.events(ep.episode_id, kinds=["tool_call"])
        everything = store.events(ep.episode_id, kinds=["tool_call"], include_superseded=True)
    assert [e["name"] for e in kept] == ["add_note", "list_notes", "submit_answer"]
    assert [e["name"] for e in everything].count("add_note") == 2  # the lost one is kept
    rescored = await rescore(db, [task], write=False)
    assert rescored[0].new_success is True  # add_note counted once


def _until_hanging(proc: subprocess.Popen) -> None:
    """Read the script's output until it says it hangs (bounded by the pipe's end)."""
    lines = []
    deadline = time.monotonic() + 120  # a bound against a hang, not a timing assertion
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if "HANGING" in line or not line:
            break
    assert any("HANGING" in x for x in lines), "".join(lines)


def _rows(db: Path) -> tuple[list, list]:
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn:
        runs = conn.execute("SELECT * FROM runs ORDER BY id").fetchall()
        episodes = conn.execute("SELECT id, status, pid FROM episodes ORDER BY id").fetchall()
    return runs, episodes


async def test_a_run_whose_process_lives_is_not_resumed_and_nothing_is_written(tmp_path):
    ids = _task_ids()
    db = tmp_path / "traces.db"
    proc = _start(db, hang_on=ids[2])
    try:
        _until_hanging(proc)
        _until_committed(db, ids[2])
        before = _rows(db)
        with pytest.raises(ResumeError, match=rf"still running in process {proc.pid}\b"):
            await resume_run(db, model="oracle")
        assert _rows(db) == before  # no episode started, no row taken over
        assert proc.poll() is None  # and the run goes on
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)

    result = await resume_run(db, model="oracle")
    assert sorted(e.task_id for e in result.episodes) == sorted(ids)
    assert all(e.success for e in result.episodes), [(e.task_id, e.error) for e in result.episodes]
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT task_id, epoch, status FROM episodes").fetchall()
    assert sorted(rows) == sorted((t, 0, "done") for t in ids)  # one per task-epoch


# --- a trace file that cannot take more writes (disk full) --------------------------------


def _store_tasks(n: int) -> list:
    from sandlot.environments.loader import load_tasks

    return load_tasks([ROOT / "examples/tasks/store/orders.yaml"])[:n]


def _fill_the_disk(store: TraceStore) -> None:
    """From now on the trace file cannot grow: SQLite's own 'database or disk is full'
    (SQLITE_FULL), as on a full disk. The limit is the writer connection's, so a store
    opened afterwards (the resume) has room again."""
    store._require_writer().execute("PRAGMA max_page_count = 1")  # clamped to its size


async def test_a_full_disk_stops_the_run_at_the_first_failure_and_resume_completes_it(tmp_path):
    from sandlot.errors import RunError

    db = tmp_path / "t.db"
    tasks = _store_tasks(10)
    store = TraceStore(db)
    seen: list[str] = []

    def after(result) -> None:
        seen.append(result.task_id)
        if len(seen) == 2:  # two episodes are in the file; from now on it cannot grow
            store.flush()
            _fill_the_disk(store)
        # the writer has tried this episode's rows before the next episode may start
        store._require_writer().flush(raise_error=False)

    with pytest.raises(RunError, match="database or disk is full") as raised:
        await run(tasks, model="oracle", db=store, epochs=3, concurrency=1, on_episode=after)
    assert "--resume" in str(raised.value)
    assert len(seen) == 3  # it stopped: no episode started after the failure
    with pytest.raises(RunError, match="database or disk is full"):
        store.close()
    with contextlib.closing(sqlite3.connect(db)) as conn:
        done = conn.execute("SELECT count(*) FROM episodes WHERE status = 'done'").fetchone()[0]
    assert done == 2  # nothing written after the failure: the third never finished

    resumed = await resume_run(db)
    every = sorted((t.id, epoch) for t in tasks for epoch in range(3))
    assert sorted((e.task_id, e.epoch) for e in resumed.episodes) == every
    assert all(e.success for e in resumed.episodes), [
        (e.task_id, e.error) for e in resumed.episodes
    ]
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT task_id, epoch, status FROM episodes").fetchall()
        runs = conn.execute("SELECT status FROM runs").fetchall()
    assert sorted(rows) == [(*key, "done") for key in every]  # each exactly once
    assert runs == [("done",)]


def test_the_cli_says_the_disk_is_full_without_a_traceback_and_resumes(tmp_path, monkeypatch):
    from typer.testing import CliRunner

    from sandlot.cli import app
    from sandlot.traces.writer import TraceWriter

    db = tmp_path / "t.db"
    commit = TraceWriter._commit

    init = TraceWriter.__init__

    def small_batches(self, *args, **kwargs):  # many batches however fast the run is
        init(self, *args, **{**kwargs, "batch_size": 50})

    def filling(self, work):  # the file stops growing after the run's first batches
        commit(self, work)
        if self.batches == 3:
            self._conn.execute("PRAGMA max_page_count = 1")

    monkeypatch.setattr(TraceWriter, "__init__", small_batches)
    monkeypatch.setattr(TraceWriter, "_commit", filling)
    tasks = str(ROOT / "examples/tasks/store/orders.yaml")
    runner = CliRunner()
    out = runner.invoke(app, ["run", tasks, "--db", str(db), "--concurrency", "1", "-q"])
    assert out.exit_code == 1, out.output
    assert "database or disk is full" in out.output and "--resume" in out.output
    assert "Traceback" not in out.output and isinstance(out.exception, SystemExit)
    monkeypatch.undo()
    out = runner.invoke(app, ["run", "--resume", "--db", str(db), "-q"])
    assert out.exit_code == 0, out.output
    with contextlib.closing(sqlite3.connect(db)) as conn:
        rows = conn.execute("SELECT task_id, status FROM episodes").fetchall()
    assert sorted(rows) == sorted((t.id, "done") for t in _store_tasks(100))


# --- sandbox containers across kills and resumes (Docker) ---------------------------------

# A workspace run (Docker sandboxes) whose third task hangs until killed; with argv[3]
# "resume", a resume of the trace's run that hangs on the same task.
WORKSPACE_SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from sandlot.agents.after.resume import resume_run
    from tests.agents.hanging import HangingOracle
    from sandlot.agents.running.runner import run
    from sandlot.environments.loader import load_tasks

    options = {"sandbox": "docker"}
    if sys.argv[3] == "resume":
        asyncio.run(resume_run(sys.argv[1], model=HangingOracle(sys.argv[2]), concurrency=2,
                               env_options=options))
    else:
        tasks = [t for t in load_tasks(["examples/tasks/workspace/code.yaml"])
                 if len(t.reference.calls) >= 2][:3]
        asyncio.run(run(tasks, model=HangingOracle(sys.argv[2]), db=sys.argv[1], concurrency=2,
                        env_options=options))
    """
)


def _containers(**labels: str) -> list[dict[str, str]]:
    """The labels of every sandlot container with these label values."""
    from sandlot.environments.sandbox.docker import LABEL
    from sandlot.environments.sandbox.image import docker_client

    filters = [f"{LABEL}=1"] + [f"{LABEL}.{key}={value}" for key, value in labels.items()]
    found = docker_client().containers.list(all=True, sparse=True, filters={"label": filters})
    return [c.attrs.get("Labels") or {} for c in found]


def _hang_workspace(db: Path, mode: str) -> subprocess.Popen:
    from sandlot.environments.loader import load_tasks

    tasks = [
        t
        for t in load_tasks([ROOT / "examples/tasks/workspace/code.yaml"])
        if len(t.reference.calls) >= 2
    ]
    proc = subprocess.Popen(
        [sys.executable, "-c", WORKSPACE_SCRIPT, str(db), tasks[2].id, mode],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    _until_hanging(proc)
    return proc


@pytest.mark.docker
async def test_kills_and_resumes_leave_no_container_and_resumes_label_theirs(
    tmp_path, docker_ready
):
    db = tmp_path / "traces.db"
    first = _hang_workspace(db, "run")
    os.kill(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    (run_id,) = (r[0] for r in _rows(db)[0])
    left = _containers(pid=str(first.pid))
    assert left and all(c["sandlot.run"] == run_id for c in left)  # what a kill leaves

    second = _hang_workspace(db, "resume")  # a resume, killed in its turn
    try:
        assert _containers(pid=str(first.pid)) == []  # the dead run's were removed
        mine = _containers(pid=str(second.pid))
        assert mine and all(c["sandlot.run"] == run_id for c in mine)
    finally:
        os.kill(second.pid, signal.SIGKILL)
        second.wait(timeout=30)

    result = await resume_run(db, model="oracle", env_options={"sandbox": "docker"})
    assert len(result.episodes) == 3 and all(e.success for e in result.episodes), [
        (e.task_id, e.error) for e in result.episodes
    ]
    assert {e.sandbox_backend for e in result.episodes} == {"docker"}
    assert _containers(run=run_id) == []
    for proc in (first, second):
        assert _containers(pid=str(proc.pid)) == []
