"""Read-only access to a trace file for the viewer.

The viewer must never change what it shows: every connection is opened with SQLite's
``mode=ro`` URI flag and ``PRAGMA query_only``, so not even a bug in a query can write.
A trace on read-only media (its folder not writable) is opened ``immutable`` as well,
since SQLite cannot make the ``-shm`` file a WAL reader needs there.
A small pool hands one connection to each request thread, because the stdlib server
runs requests in parallel and one sqlite3 connection must not serve two threads at once.
"""

from __future__ import annotations

import queue
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sandlot.traces.errors import TraceFileError
from sandlot.traces.files import read_only_uri

__all__ = ["ConnectionPool", "TraceFileError", "open_readonly"]

_REQUIRED_TABLES = ("runs", "episodes", "events", "checks")


def open_readonly(path: str | Path) -> sqlite3.Connection:
    """Open ``path`` read-only and check that it holds the trace tables.

    Raises:
        TraceFileError: the file is missing, is not an SQLite database, or lacks the
            tables of schema.py (say which, and what to do).
    """
    path = Path(path)
    if not path.is_file():
        raise TraceFileError(f"no trace file at {path}; give the --db of a `sandlot run`")
    # mode=ro (immutable on read-only media: see sandlot.traces.files); the path is
    # percent-encoded, so a '?' or '#' in a file name cannot open another file
    conn = sqlite3.connect(read_only_uri(path), uri=True, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    try:
        conn.execute("PRAGMA query_only = ON")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        conn.close()
        raise TraceFileError(f"{path} is not an SQLite trace file ({exc})") from exc
    missing = [t for t in _REQUIRED_TABLES if t not in tables]
    if missing:
        conn.close()
        raise TraceFileError(
            f"{path} is not a sandlot trace file: no {', '.join(missing)} table(s); "
            "traces are written by `sandlot run --db FILE`"
        )
    return conn


class ConnectionPool:
    """Read-only connections to one trace file, one per concurrent request."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._idle: queue.SimpleQueue[sqlite3.Connection] = queue.SimpleQueue()
        self._idle.put(open_readonly(self.path))  # fails early on a bad file

    @contextmanager
    def connection(self) -> Iterator[sqlite3.Connection]:
        """Borrow a connection for the duration of one request."""
        try:
            conn = self._idle.get_nowait()
        except queue.Empty:
            conn = open_readonly(self.path)
        try:
            yield conn
        finally:
            self._idle.put(conn)

    def close(self) -> None:
        while True:
            try:
                self._idle.get_nowait().close()
            except queue.Empty:
                return
