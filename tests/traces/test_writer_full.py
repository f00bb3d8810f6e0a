"""A trace file that cannot take more writes (disk full): the writer stops at the first
failure, writes nothing after it, and says so once."""

from __future__ import annotations

import sqlite3
import threading

import pytest

from sandlot.traces import TraceStore, TraceWriter, WriterError
from sandlot.traces.schema import SCHEMA_SQL
from tests.traces.test_writer import rows


@pytest.fixture
def db(tmp_path):
    path = tmp_path / "w.db"
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA_SQL)
    conn.execute("INSERT INTO episodes (id, status) VALUES ('e', 'running')")
    conn.commit()
    conn.close()
    return path


def event(i: int, pad: int = 0) -> tuple:
    return ("e", i, None, 0.0, "tool_call", "t", '{"pad": "' + "x" * pad + '"}', None)


def fill_the_disk(writer: TraceWriter) -> None:
    """From now on the file cannot grow: SQLite's own 'database or disk is full' path
    (SQLITE_FULL), as on a full disk. The limit is the connection's, not the file's."""
    writer.execute("PRAGMA max_page_count = 1")  # clamped to the pages the file has


def test_a_full_disk_stops_the_writer_at_the_first_failure(db):
    failures: list[BaseException] = []
    writer = TraceWriter(db, flush_interval=10.0)
    writer.on_failure(failures.append)
    for i in range(10):
        writer.event(event(i))
    writer.flush()
    fill_the_disk(writer)
    writer.flush()
    for i in range(10, 500):
        writer.event(event(i, pad=2000))
    with pytest.raises(WriterError, match="database or disk is full"):
        writer.flush()
    written = rows(db, "SELECT seq FROM events ORDER BY seq")
    # Even what would fit in the pages the file has is not written after the failure: a
    # later row (an episode's end) must never land when the events before it were lost.
    writer.execute("UPDATE episodes SET status = 'done' WHERE id = 'e'")
    writer.event(event(500))
    with pytest.raises(WriterError, match="database or disk is full"):
        writer.close()
    assert rows(db, "SELECT seq FROM events ORDER BY seq") == written
    assert [r[0] for r in written] == list(range(10))  # no item of the failed batch kept
    assert rows(db, "SELECT status FROM episodes") == [("running",)]
    assert len(failures) == 1 and "database or disk is full" in str(failures[0])
    assert writer.dropped == 492


def test_the_message_says_nothing_was_written_after_the_failure(db):
    writer = TraceWriter(db, flush_interval=10.0)
    fill_the_disk(writer)
    for i in range(200):
        writer.event(event(i, pad=2000))
    with pytest.raises(WriterError) as raised:
        writer.close()
    message = str(raised.value)
    assert "database or disk is full" in message and "nothing after it was written" in message
    assert "everything else was" not in message


def test_a_failing_statement_is_not_a_full_disk_and_the_writer_goes_on(db):
    failures: list[BaseException] = []
    writer = TraceWriter(db, flush_interval=10.0)
    writer.on_failure(failures.append)
    writer.execute("INSERT INTO no_such_table VALUES (1)")
    writer.event(event(0))
    with pytest.raises(WriterError, match="no_such_table"):
        writer.close()
    assert rows(db, "SELECT count(*) FROM events") == [(1,)] and failures == []


def test_the_store_tells_its_listeners_once_even_those_that_come_late(tmp_path):
    store = TraceStore(tmp_path / "t.db")
    early: list[BaseException] = []
    told = threading.Event()
    store.on_write_failure(lambda exc: (early.append(exc), told.set()))
    run_id = store.start_run(model="m", agent="a", config={})
    rec = store.start_episode(run_id, "t")
    store.flush()
    fill_the_disk(store._require_writer())
    for i in range(300):
        rec.event("tool_call", "t", {"i": i, "pad": "x" * 2000})
    assert told.wait(60)  # a bound against a hang, not a timing assertion
    late: list[BaseException] = []
    store.on_write_failure(late.append)
    assert len(early) == 1 and late == early
    with pytest.raises(WriterError, match="database or disk is full"):
        store.close()


def test_a_cancelled_failure_callback_is_not_called(db):
    heard: list[BaseException] = []
    writer = TraceWriter(db, flush_interval=10.0)
    cancel = writer.on_failure(heard.append)
    cancel()
    cancel()  # twice is harmless
    fill_the_disk(writer)
    for i in range(200):
        writer.event(event(i, pad=2000))
    with pytest.raises(WriterError):
        writer.close()
    assert heard == [] and writer.stopped_by is not None
