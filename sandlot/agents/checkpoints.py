"""LangGraph checkpoints beside a trace file, so an interrupted episode can resume.

The checkpoints live in their own SQLite file next to the trace (``traces.db`` →
``traces.db-checkpoints``): LangGraph's saver writes from its own connection, and keeping
it apart means the trace writer never waits on it.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from langgraph.checkpoint.sqlite.aio import AsyncSqliteSaver

__all__ = ["checkpoint_path", "open_checkpointer"]


def checkpoint_path(db: str | Path) -> Path:
    """Where the checkpoints of the trace file ``db`` live."""
    return Path(f"{db}-checkpoints")


@contextlib.asynccontextmanager
async def open_checkpointer(db: str | Path) -> AsyncIterator[Any]:
    """An AsyncSqliteSaver on the checkpoint file of trace file ``db``."""
    async with AsyncSqliteSaver.from_conn_string(str(checkpoint_path(db))) as saver:
        await saver.conn.execute("PRAGMA journal_mode=WAL")
        await saver.conn.execute("PRAGMA synchronous=NORMAL")
        yield saver
