"""Killing a run and resuming it: finished episodes kept, unfinished ones continue from
their last checkpoint, nothing counted twice."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from sandlot.agents.after.resume import resume_run
from sandlot.traces.store import TraceStore

# A run whose third task blocks in its second model call until killed. The world is the
# store; the model is the oracle except that it hangs on the marked task.
SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from sandlot.agents.models import OracleModel
    from sandlot.agents.running.runner import run
    from sandlot.environments.loader import load_tasks

    class HangingOracle(OracleModel):
        async def complete(self, request):
            calls = sum(len(m.get("tool_calls") or ()) for m in request.messages
                        if m.get("role") == "assistant")
            if request.task.id == sys.argv[2] and calls >= 1:
                print("HANGING", flush=True)
                await asyncio.sleep(3600)
            return await super().complete(request)

    tasks = [t for t in load_tasks(["examples/tasks/store"]) if len(t.reference.calls) >= 2
             and all(c.tool != "transfer_to_human_agent" for c in t.reference.calls)][:3]
    print("TASKS", " ".join(t.id for t in tasks), flush=True)
    asyncio.run(run(tasks, model=HangingOracle(), db=sys.argv[1], concurrency=1))
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
