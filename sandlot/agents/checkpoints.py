"""LangGraph checkpoints beside a trace file, so an interrupted episode can resume.

The checkpoints live in their own SQLite file next to the trace (``traces.db`` →
``traces.db-checkpoints``): LangGraph's saver writes from its own connection, and keeping
it apart means the trace writer never waits on it.

The saver is LangGraph's ``SqliteSaver`` driven inline from the event loop. A checkpoint
write is a few small rows in a WAL-mode file with ``synchronous=NORMAL`` (no fsync per
commit), tens of microseconds; ``AsyncSqliteSaver`` hands each statement to a worker
thread and back, which cost more than the write itself (bench/bench_agent_overhead.py).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

from langgraph.checkpoint.base import (
    ChannelVersions,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
)
from langgraph.checkpoint.sqlite import SqliteSaver

__all__ = ["InlineSqliteSaver", "checkpoint_path", "open_checkpointer"]


def checkpoint_path(db: str | Path) -> Path:
    """Where the checkpoints of the trace file ``db`` live."""
    return Path(f"{db}-checkpoints")


class InlineSqliteSaver(SqliteSaver):
    """``SqliteSaver`` with the async API LangGraph's ``ainvoke`` calls, run inline.

    Every method takes the saver's lock and runs on the calling thread; nothing awaits,
    so one write never interleaves with another.
    """

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
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        yield conn
    finally:
        conn.close()


@contextlib.asynccontextmanager
async def open_checkpointer(db: str | Path) -> AsyncIterator[InlineSqliteSaver]:
    """A checkpoint saver on the checkpoint file of trace file ``db``."""
    with _connect(checkpoint_path(db)) as conn:
        saver = InlineSqliteSaver(conn)
        saver.setup()
        yield saver
