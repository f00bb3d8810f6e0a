"""The batching writer: batches, order, errors that are raised and lose only what failed."""

from __future__ import annotations

import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from sandlot.traces import TraceStore, TraceWriter, WriterError
from sandlot.traces.schema import SCHEMA_SQL


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "w.db"
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA_SQL)
    conn.close()
    return path


def rows(path, sql):
    conn = sqlite3.connect(path)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


def event(i: int, episode: str = "e") -> tuple:
    return (episode, i, None, 0.0, "tool_call", "t", "{}", None)


def test_events_are_committed_in_batches_of_batch_size(db):
    # A long interval: batches close on size, or on the flush marker.
    writer = TraceWriter(db, batch_size=1000, flush_interval=10.0)
    for i in range(2500):
        writer.event(event(i))
    writer.flush()
    assert writer.batches == 3 and writer.rows == 2500
    assert rows(db, "SELECT count(*), min(seq), max(seq) FROM events") == [(2500, 0, 2499)]
    writer.close()


def test_a_lone_event_is_committed_after_the_flush_interval_without_a_flush(db):
    writer = TraceWriter(db, flush_interval=0.01)
    writer.event(event(0))
    deadline = time.monotonic() + 30  # generous: only a hang fails this, not a slow machine
    # the writer counts a batch just after committing it: wait for both
    while time.monotonic() < deadline and not (
        rows(db, "SELECT count(*) FROM events") == [(1,)] and writer.batches == 1
    ):
        time.sleep(0.01)
    assert rows(db, "SELECT count(*) FROM events") == [(1,)] and writer.batches == 1
    writer.close()


def test_statements_run_in_queue_order_between_events(db):
    writer = TraceWriter(db, flush_interval=10.0)
    writer.execute("INSERT INTO episodes (id, status) VALUES ('e', 'running')")
    writer.event(event(0))
    writer.execute("UPDATE episodes SET steps = (SELECT count(*) FROM events) WHERE id = 'e'")
    writer.event(event(1))
    writer.execute("UPDATE episodes SET status = 'done' WHERE id = 'e'")
    writer.close()
    assert rows(db, "SELECT status, steps FROM episodes") == [("done", 1)]


def test_a_failing_statement_loses_only_itself_and_is_raised(db):
    writer = TraceWriter(db, flush_interval=10.0)
    writer.event(event(0))
    writer.execute("INSERT INTO no_such_table VALUES (1)")
    writer.event(event(1))
    with pytest.raises(WriterError, match=r"no_such_table.*1 item\(s\) were not written"):
        writer.flush()
    writer.event(event(2))  # the writer keeps going after an error
    with pytest.raises(WriterError, match="no_such_table"):  # the first error, again
        writer.close()
    assert [r[0] for r in rows(db, "SELECT seq FROM events ORDER BY seq")] == [0, 1, 2]
    assert writer.dropped == 1


def test_store_raises_writer_errors_from_flush_and_close_not_from_reads(tmp_path):
    store = TraceStore(tmp_path / "t.db")
    store._exec("INSERT INTO no_such_table VALUES (1)")
    assert store.runs() == []  # reads still work
    with pytest.raises(WriterError, match="no_such_table"):
        store.flush()
    with pytest.raises(WriterError):
        store.close()
    store.close()  # idempotent: the error was reported once by close


def test_flush_times_out_with_a_clear_error_while_another_process_holds_the_lock(db):
    writer = TraceWriter(db, busy_timeout=0.2)
    blocker = sqlite3.connect(db, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    writer.event(event(0))
    with pytest.raises(WriterError, match="did not flush within 0.1 s"):
        writer.flush(timeout=0.1)
    blocker.execute("ROLLBACK")  # the writer retries a locked batch and then gets through
    blocker.close()
    writer.flush()
    assert rows(db, "SELECT count(*) FROM events") == [(1,)]
    writer.close()


def test_flush_does_not_hang_when_the_writer_thread_dies(db, monkeypatch):
    writer = TraceWriter(db)

    def broken(batch):
        raise MemoryError("simulated")

    monkeypatch.setattr(writer, "_write", broken)
    writer.event(event(0))
    with pytest.raises(WriterError, match="simulated"):
        writer.flush()
    with pytest.raises(WriterError):
        writer.close()


def test_writing_after_close_is_an_error_not_a_silent_loss(db):
    writer = TraceWriter(db)
    writer.close()
    writer.close()
    with pytest.raises(WriterError, match="closed"):
        writer.event(event(0))
    with pytest.raises(WriterError, match="closed"):
        writer.execute("SELECT 1")


def test_bad_settings_are_rejected(db):
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        TraceWriter(db, batch_size=0)


def test_events_queued_before_exit_are_written_even_without_close(tmp_path):
    path = tmp_path / "t.db"
    script = textwrap.dedent(
        """
        import sys
        from sandlot.traces import TraceStore
        store = TraceStore(sys.argv[1], flush_interval=30)
        rec = store.start_episode(store.start_run(model="m", agent="a", config={}), "t")
        for i in range(500):
            rec.event("tool_call", "t", {"i": i})
        """
    )
    subprocess.run([sys.executable, "-c", script, str(path)], check=True, timeout=60)
    assert rows(path, "SELECT count(*) FROM events") == [(500,)]
    # The store was never closed, so its unfinished episode is marked on the way out.
    assert rows(path, "SELECT status FROM episodes") == [("running",)]
    with TraceStore(path) as store:
        assert store.episodes()[0]["status"] == "interrupted"
