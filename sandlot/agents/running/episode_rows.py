"""One episode's rows, moved from the trace file a worker wrote to the run's own trace.

A worker on another machine records its episode into a trace file of its own; the rows
that episode wrote (its ``episodes`` row, ``events``, ``checks`` and ``messages``) come
back to the process that owns the run's trace, which writes them in one transaction: an
episode is in the trace whole, or not at all.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sandlot.traces.store import TraceStore

__all__ = ["EPISODE_TABLES", "read_episode_rows", "write_episode_rows"]

# table -> the column naming the episode; their own row ids are not moved
EPISODE_TABLES = {
    "episodes": "id",
    "events": "episode_id",
    "checks": "episode_id",
    "messages": "episode_id",
}
_OWN_IDS = {"events": "id", "checks": "id"}

EpisodeRows = dict[str, list[dict[str, Any]]]


def read_episode_rows(path: str | Path, episode_id: str) -> EpisodeRows:
    """Every row of episode ``episode_id`` in the trace file ``path`` (committed ones)."""
    conn = sqlite3.connect(path, timeout=30)
    conn.row_factory = sqlite3.Row
    try:
        rows: EpisodeRows = {}
        for table, key in EPISODE_TABLES.items():
            own = _OWN_IDS.get(table)
            found = conn.execute(f"SELECT * FROM {table} WHERE {key} = ?", (episode_id,))
            rows[table] = [{k: v for k, v in dict(r).items() if k != own} for r in found]
        return rows
    finally:
        conn.close()


def write_episode_rows(store: TraceStore, rows: EpisodeRows) -> None:
    """Write one episode's rows into ``store``'s file in one transaction, each text
    value through the store's redaction; only the columns this file has.

    Raises:
        sqlite3.IntegrityError: the episode is already in the file (nothing is written).
    """
    store.flush()  # what the store queued before comes first
    conn = sqlite3.connect(store.path, timeout=60, isolation_level=None)
    try:
        columns = {
            t: {r[1] for r in conn.execute(f"PRAGMA table_info({t})")} for t in EPISODE_TABLES
        }
        conn.execute("BEGIN IMMEDIATE")
        try:
            for table in EPISODE_TABLES:
                for row in rows.get(table, ()):
                    kept = {k: _redacted(store, v) for k, v in row.items() if k in columns[table]}
                    names = ", ".join(kept)
                    marks = ", ".join("?" for _ in kept)
                    conn.execute(
                        f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(kept.values())
                    )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    finally:
        conn.close()


def _redacted(store: TraceStore, value: Any) -> Any:
    return store.redactor.text(value) if isinstance(value, str) else value
