"""LangGraph checkpoints beside a trace file, so an interrupted episode can resume.

The checkpoints live in their own SQLite file next to the trace (``traces.db`` →
``traces.db-checkpoints``): LangGraph's saver writes from its own connection, and keeping
it apart means the trace writer never waits on it.

The saver is LangGraph's ``SqliteSaver`` driven inline from the event loop. A checkpoint
write is a few small rows in a WAL-mode file with ``synchronous=NORMAL`` (no fsync per
commit), tens of microseconds; ``AsyncSqliteSaver`` hands each statement to a worker
thread and back, which cost more than the write itself (bench/bench_agent_overhead.py).

Checkpoints stay small. A checkpoint holds the whole graph state (the conversation
included), and a resume only needs a thread's latest one, so storing a checkpoint
deletes the thread's older ones and their pending writes in the same transaction: a
thread holds one state, not one per step (which grew with the square of the
conversation). :meth:`InlineSqliteSaver.delete_thread` (or ``delete_threads``) drops a
finished episode's thread altogether. The file uses SQLite's incremental auto-vacuum,
so the space freed is given back to the disk (``vacuum()``, also when the saver
closes), and its WAL is truncated after each WAL checkpoint (``journal_size_limit``).

Checkpoints hold no secret. What the saver writes goes through the trace store's
redactor (:class:`RedactingSerializer`; rule 1 of :mod:`sandlot.traces.redact`, the
known values in all their forms): every checkpoint, every pending write (an error one
holds the exception's text) and the metadata. The redacted text is what a resume reads
back: the state never needs a key (the model holds it), so the episode continues; a tool
call whose arguments held one is re-run with ``[REDACTED]`` in its place.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    get_checkpoint_metadata,
)
from langgraph.checkpoint.sqlite import SqliteSaver

from sandlot.agents.running.redacting_serde import RedactingSerializer
from sandlot.environments.trajectory import ModelCallRecord, ToolCallRecord, UserTurnRecord
from sandlot.traces.redact import Redactor

__all__ = [
    "InlineSqliteSaver",
    "RedactingSerializer",
    "checkpoint_path",
    "open_checkpointer",
    "record_serializer",
]


def record_serializer(redactor: Redactor | None = None) -> RedactingSerializer:
    """LangGraph's serializer, allowed to read back the episode record's types (and
    nothing else that is not LangGraph's own), writing through ``redactor`` (by default
    one with the environment's keys)."""
    allowed = [
        (t.__module__, t.__name__) for t in (ModelCallRecord, ToolCallRecord, UserTurnRecord)
    ]
    return RedactingSerializer(
        redactor if redactor is not None else Redactor(), allowed_msgpack_modules=allowed
    )


def checkpoint_path(db: str | Path) -> Path:
    """Where the checkpoints of the trace file ``db`` live."""
    return Path(f"{db}-checkpoints")


# Give freed pages back to the disk when at least this many are free (4 MiB of 4 KiB
# pages): often enough to bound the file, rarely enough not to shrink and grow it again
# on every episode.
_VACUUM_PAGES = 1024
_WAL_LIMIT = 4 * 2**20  # bytes the WAL file is cut back to after a WAL checkpoint


class InlineSqliteSaver(SqliteSaver):
    """``SqliteSaver`` with the async API LangGraph's ``ainvoke`` calls, run inline,
    keeping only each thread's latest checkpoint.

    Every method takes the saver's lock and runs on the calling thread; nothing awaits,
    so one write never interleaves with another. With a :class:`RedactingSerializer`,
    the metadata is redacted like the checkpoints.
    """

    def put(
        self,
        config: Any,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> Any:
        """Store ``checkpoint`` and delete the thread's older checkpoints and their
        writes, in one transaction (a crash keeps either the old or the new one).

        Checkpoint ids grow with time, so "older" is a smaller id. A graph with delta
        channels (which rebuild values from ancestors' writes) keeps its history.
        """
        configurable = config["configurable"]
        keys = (str(configurable["thread_id"]), configurable.get("checkpoint_ns", ""))
        prune = not (metadata or {}).get("counters_since_delta_snapshot")
        if isinstance(self.serde, RedactingSerializer):
            # what the config adds is taken first, so all of it goes through the redactor
            metadata = self.serde.redactor.strings(get_checkpoint_metadata(config, metadata))
        if prune:
            with self.lock:
                self.setup()
                # Opens the transaction that super().put commits with its insert.
                for table in ("writes", "checkpoints"):
                    self.conn.execute(
                        f"DELETE FROM {table} WHERE thread_id = ? AND checkpoint_ns = ? "
                        "AND checkpoint_id < ?",
                        (*keys, checkpoint["id"]),
                    )
        try:
            return super().put(config, checkpoint, metadata, new_versions)
        except BaseException:
            if prune:
                with self.lock:
                    self.conn.rollback()  # the deletes go with the failed insert
            raise

    def delete_thread(self, thread_id: str) -> None:
        """Delete every checkpoint and write of ``thread_id`` (an episode's id): call it
        once the episode is finished and recorded, when nothing will resume it."""
        self.delete_threads([thread_id])

    def delete_threads(self, thread_ids: Iterable[str]) -> None:
        """Delete the checkpoints and writes of many threads in one transaction, then give
        the space back to the disk when much is free."""
        ids = [(str(t),) for t in thread_ids]
        if not ids:
            return
        with self.cursor() as cur:
            cur.executemany("DELETE FROM checkpoints WHERE thread_id = ?", ids)
            cur.executemany("DELETE FROM writes WHERE thread_id = ?", ids)
        self.vacuum(min_pages=_VACUUM_PAGES)

    def vacuum(self, *, min_pages: int = 0) -> None:
        """Return the file's free pages to the disk (when more than ``min_pages`` are
        free). Files created before incremental auto-vacuum keep their size."""
        with self.lock:
            (free,) = self.conn.execute("PRAGMA freelist_count").fetchone()
            if free > min_pages:
                # executescript steps the pragma to its end (execute() frees one page)
                self.conn.executescript("PRAGMA incremental_vacuum;")

    async def aget_tuple(self, config: Any) -> CheckpointTuple | None:
        return self.get_tuple(config)

    async def alist(
        self,
        config: Any,
        *,
        filter: dict[str, Any] | None = None,
        before: Any = None,
        limit: int | None = None,
    ) -> AsyncIterator[CheckpointTuple]:
        for item in self.list(config, filter=filter, before=before, limit=limit):
            yield item

    async def aput(
        self,
        config: Any,
        checkpoint: Checkpoint,
        metadata: CheckpointMetadata,
        new_versions: ChannelVersions,
    ) -> Any:
        return self.put(config, checkpoint, metadata, new_versions)

    async def aput_writes(
        self,
        config: Any,
        writes: Sequence[tuple[str, Any]],
        task_id: str,
        task_path: str = "",
    ) -> None:
        self.put_writes(config, writes, task_id, task_path)

    async def adelete_thread(self, thread_id: str) -> None:
        self.delete_thread(thread_id)


@contextlib.contextmanager
def _connect(path: Path) -> Iterator[sqlite3.Connection]:
    conn = sqlite3.connect(str(path), check_same_thread=False)
    try:
        # Only takes effect on a new file (before its first table): then pages freed by
        # deleted checkpoints can be returned to the disk (InlineSqliteSaver.vacuum).
        conn.execute("PRAGMA auto_vacuum=INCREMENTAL")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA journal_size_limit={_WAL_LIMIT}")
        conn.execute("PRAGMA synchronous=NORMAL")
        yield conn
    finally:
        conn.close()


@contextlib.asynccontextmanager
async def open_checkpointer(
    db: str | Path, redactor: Redactor | None = None
) -> AsyncIterator[InlineSqliteSaver]:
    """A checkpoint saver on the checkpoint file of trace file ``db``, writing through
    ``redactor`` (pass the trace store's, which knows the run's secrets; by default one
    with the environment's keys); when it closes, the space that deleted checkpoints
    freed is given back to the disk."""
    with _connect(checkpoint_path(db)) as conn:
        saver = InlineSqliteSaver(conn, serde=record_serializer(redactor))
        saver.setup()
        try:
            yield saver
        finally:
            with contextlib.suppress(sqlite3.Error):  # closing must not hide the run's end
                saver.vacuum()
