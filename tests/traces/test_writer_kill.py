"""SIGKILL in the middle of a run: the file stays readable, finished work stays intact,
and the unfinished episode reads 'interrupted' — never a success."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

from sandlot.traces import TraceStore

WRITER = textwrap.dedent(
    """
    import sys
    from sandlot.traces import TraceStore

    store = TraceStore(sys.argv[1], batch_size=200)
    run = store.start_run(model="m", agent="a", config={})
    for i in range(2):
        rec = store.start_episode(run, f"done-{i}")
        for j in range(50):
            rec.event("tool_call", "t", {"j": j})
        store.add_checks(rec.episode_id, [{"item_id": "x", "passed": True, "evidence": {"i": i}}])
        store.finish_episode(rec.episode_id, outcome="passed", score=1.0)
    rec = store.start_episode(run, "unfinished")
    store.flush()
    print("READY", flush=True)
    i = 0
    while True:  # until killed
        rec.event("tool_call", "t", {"i": i, "pad": "x" * 200})
        i += 1
    """
)


def count_events(path, task_id: str) -> int:
    conn = sqlite3.connect(path, timeout=30)
    try:
        return conn.execute(
            "SELECT count(*) FROM events v JOIN episodes e ON e.id = v.episode_id WHERE e.task_id = ?",
            (task_id,),
        ).fetchone()[0]
    finally:
        conn.close()


def test_sigkill_leaves_a_readable_file_with_finished_episodes_intact(tmp_path):
    path = tmp_path / "t.db"
    proc = subprocess.Popen(
        [sys.executable, "-c", WRITER, str(path)], stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout.readline().strip() == "READY"
        # Kill once several batches of the unfinished episode are committed (and more
        # are being written): no fixed sleep, only progress decides.
        deadline = time.monotonic() + 60
        while count_events(path, "unfinished") < 1000 and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL

    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = conn.execute("SELECT task_id, status, success FROM episodes ORDER BY task_id").fetchall()
    assert rows == [("done-0", "done", 1), ("done-1", "done", 1), ("unfinished", "running", None)]
    assert count_events(path, "done-0") == 50 and count_events(path, "done-1") == 50
    seqs = [
        r[0]
        for r in conn.execute(
            "SELECT v.seq FROM events v JOIN episodes e ON e.id = v.episode_id "
            "WHERE e.task_id = 'unfinished' ORDER BY v.seq"
        )
    ]
    assert len(seqs) >= 1000 and seqs == list(range(len(seqs)))  # a prefix: no half batch
    assert conn.execute("SELECT count(*) FROM checks WHERE passed = 1").fetchone()[0] == 2
    conn.close()

    with TraceStore(path) as store:
        unfinished = store.episodes(task_id="unfinished")[0]
        assert unfinished["status"] == "interrupted" and not unfinished["success"]
        assert unfinished["outcome"] == "interrupted"
        # its counters are what its events show, not the zeros it started with
        calls = store.events(unfinished["id"], kinds=["tool_call"])
        assert unfinished["tool_calls"] == len(calls) > 0
        assert store.runs()[0]["status"] == "interrupted"
        done = store.episodes(task_id="done-0")[0]
        assert [c["evidence"] for c in store.checks(done["id"])] == [{"i": 0}]
        assert [e["payload"]["j"] for e in store.events(done["id"])] == list(range(50))
        assert not [e for e in store.episodes() if e["success"] == 1 and e["status"] != "done"]
        assert store.summary(store.runs()[0]["id"])["interrupted"] == 1
