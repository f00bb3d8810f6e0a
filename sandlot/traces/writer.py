"""The trace writer: one background thread owns the write connection.

Producers put tuples on a :class:`queue.SimpleQueue` and return at once; nothing they
call takes a lock held across I/O. The thread drains up to ``batch_size`` items (or what
arrives within ``flush_interval`` seconds), inserts consecutive event rows with one
``executemany``, applies the other statements in order, and commits the batch as one
transaction. A killed process therefore loses at most the batch being written, never
half of one.

A statement that fails does not take its batch with it: the batch is written again item
by item, each under a savepoint, and only the failing items are dropped. The first error
is kept, logged, and raised (as :class:`WriterError`) from every later ``flush()`` and
from ``close()``.

A failure of the file itself — the disk full (SQLite's "database or disk is full"), an
I/O error, the file read-only, locked for good or corrupt — stops the writer instead:
the batch is dropped whole and nothing queued after it is written, so the file keeps
what it held before the failure, as after a kill, and never a later row (an episode's
end) without the earlier ones (its events). ``on_failure`` callbacks hear of it at once,
so that a run can stop; the error is raised from ``flush()`` and ``close()`` as above.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import queue
import sqlite3
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from sandlot.errors import UserError, WriterError

__all__ = ["EVENT_COLUMNS", "TraceWriter", "WriterError"]

log = logging.getLogger(__name__)

EVENT_COLUMNS = ("episode_id", "seq", "parent", "ts", "kind", "name", "payload", "duration")
_INSERT_EVENT = (
    f"INSERT INTO events ({', '.join(EVENT_COLUMNS)}) "
    f"VALUES ({', '.join('?' for _ in EVENT_COLUMNS)})"
)
_EVENT, _SQL, _FLUSH, _STOP = "e", "x", "f", "stop"
_BUSY_RETRIES = 5  # after SQLite's own busy timeout, for another process's long write
# SQLite's primary result codes that say the file cannot take writes, whatever is written
_FILE_FAILURES = frozenset(
    {
        sqlite3.SQLITE_FULL,
        sqlite3.SQLITE_IOERR,
        sqlite3.SQLITE_READONLY,
        sqlite3.SQLITE_CANTOPEN,
        sqlite3.SQLITE_CORRUPT,
        sqlite3.SQLITE_NOTADB,
        sqlite3.SQLITE_PERM,
        sqlite3.SQLITE_NOMEM,
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
        sqlite3.SQLITE_PROTOCOL,
    }
)

_LIVE: weakref.WeakSet[TraceWriter] = weakref.WeakSet()


@atexit.register
def _close_all() -> None:
    # The thread is a daemon (a forgotten store must not hang the interpreter), so what
    # is still queued at exit would be lost without this.
    for writer in list(_LIVE):
        try:
            writer.close()
        except Exception as exc:  # already logged by the writer; exit must go on
            log.debug("closing trace writer at exit: %s", exc)


class TraceWriter:
    """Batches rows into one SQLite file from a background thread.

    Args:
        path: the SQLite file (its schema must exist).
        batch_size: the most items committed in one transaction.
        flush_interval: the longest an item waits for its batch to fill, in seconds.
        busy_timeout: how long a statement waits for another process's write lock.
    """

    def __init__(
        self,
        path: str | Path,
        *,
        batch_size: int = 1000,
        flush_interval: float = 0.05,
        busy_timeout: float = 30.0,
    ) -> None:
        if batch_size < 1:
            raise UserError(f"batch_size must be at least 1, got {batch_size}")
        if flush_interval < 0:
            raise UserError(f"flush_interval must be >= 0, got {flush_interval}")
        self.path = str(path)
        self.batch_size = batch_size
        self.flush_interval = flush_interval
        self.batches = 0  # committed transactions, for tests and benchmarks
        self.rows = 0  # items written
        self.dropped = 0  # items lost to errors
        self._queue: queue.SimpleQueue[tuple[Any, ...]] = queue.SimpleQueue()
        self._put = self._queue.put
        self._error: BaseException | None = None
        self._stopped_by: BaseException | None = None
        self._listeners: list[Callable[[BaseException], None]] = []
        self._listeners_lock = threading.Lock()
        self._closed = False
        self._close_lock = threading.Lock()
        self._pid = os.getpid()
        # Opened here, so that a file that cannot be opened fails the constructor; only
        # the thread uses it afterwards (and close(), once the thread has ended).
        self._conn = sqlite3.connect(
            self.path, check_same_thread=False, isolation_level=None, timeout=busy_timeout
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        # NORMAL in WAL mode: a commit survives the process being killed; only a power
        # loss or OS crash may take the last transactions.
        self._conn.execute("PRAGMA synchronous=NORMAL")
        self._thread = threading.Thread(target=self._loop, name="sandlot-trace-writer", daemon=True)
        self._thread.start()
        _LIVE.add(self)

    # --- producers -----------------------------------------------------------------------

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def error(self) -> BaseException | None:
        """The first error the thread met, or ``None``."""
        return self._error

    @property
    def stopped_by(self) -> BaseException | None:
        """The failure of the file that stopped the writer (disk full, I/O error, ...),
        or ``None``: after it nothing more is written."""
        return self._stopped_by

    def on_failure(self, callback: Callable[[BaseException], None]) -> Callable[[], None]:
        """Call ``callback(error)`` once when a failure of the file stops the writer — from
        the writer's thread, or at once when it has already stopped. A callback must be
        quick and must not block (e.g. ``loop.call_soon_threadsafe``). Returns a function
        that cancels the call."""
        with self._listeners_lock:
            stopped = self._stopped_by
            if stopped is None:
                self._listeners.append(callback)
        if stopped is not None:
            _tell(callback, stopped)
        return lambda: self._forget(callback)

    def _forget(self, callback: Callable[[BaseException], None]) -> None:
        with self._listeners_lock, contextlib.suppress(ValueError):
            self._listeners.remove(callback)

    def event(self, row: tuple[Any, ...]) -> None:
        """Queue one events row (values in :data:`EVENT_COLUMNS` order)."""
        if self._closed:
            raise WriterError(
                f"the trace writer for {self.path} is closed; nothing more can be written"
            )
        self._put((_EVENT, row))

    def execute(self, sql: str, params: Sequence[Any] = ()) -> None:
        """Queue one statement; it runs after everything queued before it."""
        if self._closed:
            raise WriterError(
                f"the trace writer for {self.path} is closed; cannot run {sql[:60]!r}"
            )
        self._put((_SQL, sql, tuple(params)))

    def flush(self, timeout: float | None = None, *, raise_error: bool = True) -> None:
        """Block until everything queued so far is committed (or dropped with an error).

        Raises:
            WriterError: the thread failed (on any item, ever), or ``timeout`` passed.
        """
        if not self._closed and self._thread.is_alive():
            done = threading.Event()
            self._put((_FLUSH, done))
            deadline = None if timeout is None else time.monotonic() + timeout
            # Short waits, so that a thread that died is noticed instead of waited on.
            while not done.wait(
                0.1 if deadline is None else min(0.1, max(0.0, deadline - time.monotonic()))
            ):
                if not self._thread.is_alive():
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    raise WriterError(
                        f"the trace writer for {self.path} did not flush within {timeout} s "
                        "(is the disk very slow, or another process holding the write lock?)"
                    )
        if raise_error:
            self._raise()

    def close(self, timeout: float | None = None) -> None:
        """Write what is queued, stop the thread, close the connection. Idempotent.

        Raises:
            WriterError: the thread failed at any point.
        """
        with self._close_lock:
            if self._closed:
                return
            self._closed = True
            _LIVE.discard(self)
            if os.getpid() != self._pid:
                return  # a forked child: the thread and the connection are the parent's
            self._put((_STOP,))
            self._thread.join(timeout)
            if not self._thread.is_alive():
                # A producer that raced close() may have queued after the stop marker.
                leftovers = self._drain_nowait()
                try:
                    self._write(leftovers)
                except Exception as exc:
                    self._fail(exc, len(leftovers), "writing what was queued at close")
                self._conn.close()
        self._raise()

    def _raise(self) -> None:
        if self._stopped_by is not None:
            raise WriterError(
                f"writing the trace {self.path} failed: {self._stopped_by}; nothing after it "
                f"was written ({self.dropped} item(s) lost). Is the disk full, or the file "
                "read-only?"
            ) from self._stopped_by
        if self._error is not None:
            raise WriterError(
                f"writing the trace {self.path} failed: {self._error}. "
                f"{self.dropped} item(s) were not written; everything else was."
            ) from self._error

    # --- the thread ----------------------------------------------------------------------

    def _loop(self) -> None:
        try:
            while True:
                batch = self._collect()
                if self._write(batch):
                    return
        except BaseException as exc:  # not an SQL error: kept, and flush() stops waiting
            self._fail(exc, 0, "the writer thread stopped")
            self._stop(exc, 0)
            for item in self._drain_nowait():
                if item[0] == _FLUSH:
                    item[1].set()

    def _collect(self) -> list[tuple[Any, ...]]:
        get = self._queue.get
        batch = [get()]
        deadline = time.monotonic() + self.flush_interval
        while len(batch) < self.batch_size and batch[-1][0] not in (_FLUSH, _STOP):
            try:
                batch.append(self._queue.get_nowait())  # the fast path while producers are busy
            except queue.Empty:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                try:
                    batch.append(get(timeout=remaining))
                except queue.Empty:
                    break
        return batch

    def _drain_nowait(self) -> list[tuple[Any, ...]]:
        items = []
        with contextlib.suppress(queue.Empty):
            while True:
                items.append(self._queue.get_nowait())
        return items

    def _write(self, batch: list[tuple[Any, ...]]) -> bool:
        """Commit one batch; returns whether a stop marker was in it."""
        work = [item for item in batch if item[0] in (_EVENT, _SQL)]
        if work and self._stopped_by is not None:
            self.dropped += len(work)  # stopped: nothing after the failure is written
        elif work:
            try:
                self._commit(work)
            except Exception as exc:
                if _file_failure(exc):
                    self._stop(exc, len(work))
                else:
                    log.warning(
                        "trace batch of %d items failed (%s); writing it item by item",
                        len(work),
                        exc,
                    )
                    self._salvage(work)
        stop = False
        for item in batch:
            if item[0] == _FLUSH:
                item[1].set()
            elif item[0] == _STOP:
                stop = True
        return stop

    def _commit(self, work: list[tuple[Any, ...]]) -> None:
        for attempt in range(_BUSY_RETRIES + 1):
            try:
                self._transaction(work)
                break
            except sqlite3.OperationalError as exc:
                locked = "locked" in str(exc) or "busy" in str(exc)
                if not locked or attempt == _BUSY_RETRIES:
                    raise
                time.sleep(0.2 * (attempt + 1))
        self.batches += 1
        self.rows += len(work)

    def _transaction(self, work: list[tuple[Any, ...]]) -> None:
        conn = self._conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            events: list[tuple[Any, ...]] = []
            for item in work:
                if item[0] == _EVENT:
                    events.append(item[1])
                    continue
                if events:
                    conn.executemany(_INSERT_EVENT, events)
                    events = []
                conn.execute(item[1], item[2])
            if events:
                conn.executemany(_INSERT_EVENT, events)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise

    def _salvage(self, work: list[tuple[Any, ...]]) -> None:
        """Write ``work`` item by item in one transaction, dropping only what fails."""
        conn = self._conn
        written = failed = 0
        try:
            conn.execute("BEGIN IMMEDIATE")
            for item in work:
                conn.execute("SAVEPOINT item")
                try:
                    if item[0] == _EVENT:
                        conn.execute(_INSERT_EVENT, item[1])
                    else:
                        conn.execute(item[1], item[2])
                    written += 1
                except Exception as exc:
                    if _file_failure(exc):
                        raise  # not this item's fault: the whole batch goes
                    conn.execute("ROLLBACK TO item")
                    failed += 1
                    self._fail(exc, 1, f"{_describe(item)} was not written")
                finally:
                    if conn.in_transaction:
                        conn.execute("RELEASE item")
            conn.execute("COMMIT")
        except Exception as exc:  # the transaction itself failed: the batch is lost
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            if _file_failure(exc):
                self.dropped -= failed  # counted again, with the whole batch
                self._stop(exc, len(work))
                return
            self._fail(exc, len(work) - failed, f"a batch of {len(work)} items was not written")
            return
        self.batches += 1
        self.rows += written

    def _fail(self, exc: BaseException, dropped: int, what: str) -> None:
        self.dropped += dropped
        if self._error is None:
            self._error = exc
        log.error("trace writer for %s: %s: %s", self.path, what, exc)

    def _stop(self, exc: BaseException, dropped: int) -> None:
        """The file cannot take writes: drop ``dropped`` items and everything after them,
        and tell the listeners (once)."""
        self.dropped += dropped
        if self._error is None:
            self._error = exc
        with self._listeners_lock:
            if self._stopped_by is not None:
                return
            self._stopped_by = exc
            listeners, self._listeners = self._listeners, []
        log.error("trace writer for %s stopped: %s; nothing more is written", self.path, exc)
        for callback in listeners:
            _tell(callback, exc)


def _file_failure(exc: BaseException) -> bool:
    """Whether ``exc`` says the file cannot take writes (not that one item was bad)."""
    if isinstance(exc, OSError | MemoryError):
        return True
    code = getattr(exc, "sqlite_errorcode", None)
    return isinstance(exc, sqlite3.Error) and code is not None and code & 0xFF in _FILE_FAILURES


def _tell(callback: Callable[[BaseException], None], exc: BaseException) -> None:
    try:
        callback(exc)
    except Exception:  # a listener must not stop the writer
        log.exception("a trace writer failure callback failed")


def _describe(item: tuple[Any, ...]) -> str:
    if item[0] == _EVENT:
        row = item[1]
        return f"event seq {row[1]} ({row[4]}) of episode {row[0]}"
    return f"statement {item[1][:80]!r}"
