"""Reading a trace file: runs, episodes, events, checks, tasks and run summaries.

:class:`TraceReader` has its own read-only connection; in WAL mode it reads the last
committed state while another connection (or process) writes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandlot.errors import UserError
from sandlot.traces.files import read_only_uri
from sandlot.traces.messages import (
    MESSAGE_REFS,
    decode_ranges,
    load_messages,
    resolve_payload_messages,
    resolve_refs,
)
from sandlot.traces.redact import loads
from sandlot.traces.stats import TASK_TAGS_SQL, tags_from_rows
from sandlot.traces.summary import OUTCOME_SQL, summarize

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.environments.tasks import Task

__all__ = ["TraceReader"]

_ORDER = {
    "started",
    "ended",
    "score",
    "duration",
    "task_id",
    "status",
    "outcome",
    "tokens",
    "epoch",
    "model",
    "steps",
    "model_calls",
    "tool_calls",
}


class TraceReader:
    """Read-side queries over one trace file (safe while a writer works).

    Args:
        path: the trace file; it must exist.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"no trace file at {self.path}")
        # read-only; immutable on read-only media, where SQLite could not open it else
        uri = read_only_uri(self.path)
        self._read: sqlite3.Connection | None = sqlite3.connect(
            uri, uri=True, check_same_thread=False, timeout=30
        )
        self._read.row_factory = sqlite3.Row
        self._superseded_column: bool | None = None

    def close(self) -> None:
        """Close the read connection. Idempotent."""
        if self._read is not None:
            self._read.close()
            self._read = None

    def __enter__(self) -> TraceReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _has_superseded(self) -> bool:
        """Whether the file has the ``events.superseded`` column (files written before it
        was added, opened read-only, do not)."""
        if self._superseded_column is None:
            columns = self._rows("PRAGMA table_info(events)")
            self._superseded_column = any(c["name"] == "superseded" for c in columns)
        return self._superseded_column

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        if self._read is None:
            raise UserError(f"the trace {self.path} is closed; open it again to read")
        return [dict(r) for r in self._read.execute(sql, tuple(params)).fetchall()]

    # --- runs and episodes ---------------------------------------------------------------

    def runs(self) -> list[dict[str, Any]]:
        """Every run, oldest first; ``config`` decoded."""
        return [
            _decode(r, "config") for r in self._rows("SELECT * FROM runs ORDER BY started, rowid")
        ]

    def run(self, run_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM runs WHERE id = ?", (run_id,))
        return _decode(rows[0], "config") if rows else None

    def episodes(
        self,
        run_id: str | None = None,
        *,
        task_id: str | None = None,
        status: str | None = None,
        model: str | None = None,
        success: bool | None = None,
        limit: int | None = None,
        offset: int = 0,
        order_by: str = "started",
    ) -> list[dict[str, Any]]:
        """Episodes matching every filter given, ordered by ``order_by`` (prefix ``-`` for
        descending). ``success=False`` matches failures and unscored episodes."""
        where: list[str] = []
        params: list[Any] = []
        for column, value in (
            ("run_id", run_id),
            ("task_id", task_id),
            ("status", status),
            ("model", model),
        ):
            if value is not None:
                where.append(f"{column} = ?")
                params.append(value)
        if success is not None:
            where.append("coalesce(success, 0) = ?")
            params.append(int(success))
        column = order_by.removeprefix("-")
        if column not in _ORDER:
            raise UserError(
                f"cannot order episodes by {order_by!r}; use one of {sorted(_ORDER)} "
                "(prefix '-' for descending)"
            )
        direction = "DESC" if order_by.startswith("-") else "ASC"
        sql = "SELECT * FROM episodes"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += f" ORDER BY {column} {direction}, rowid {direction}"
        if limit is not None or offset:
            sql += " LIMIT ? OFFSET ?"
            params += [-1 if limit is None else limit, offset]
        return self._rows(sql, params)

    def episode(self, episode_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT * FROM episodes WHERE id = ?", (episode_id,))
        return rows[0] if rows else None

    # --- events, checks, tasks -----------------------------------------------------------

    def events(
        self,
        episode_id: str,
        *,
        kinds: Iterable[str] | None = None,
        after_seq: int | None = None,
        limit: int | None = None,
        include_superseded: bool = False,
        messages: bool = True,
    ) -> list[dict[str, Any]]:
        """An episode's events ordered by ``seq``, each with its ``payload`` decoded.

        Events of an attempt that a resume replaced (``superseded``) are left out unless
        ``include_superseded``: the episode's trajectory is what its final attempt did.
        With ``messages``, each model call's payload also holds the ``messages`` it sent,
        resolved from its ``message_refs`` (:meth:`call_messages`; the message dicts are
        shared between calls: do not change them).
        """
        sql = (
            "SELECT seq, parent, ts, kind, name, payload, duration FROM events WHERE episode_id = ?"
        )
        params: list[Any] = [episode_id]
        if not include_superseded and self._has_superseded():
            sql += " AND superseded IS NULL"
        if kinds is not None:
            kinds = [kinds] if isinstance(kinds, str) else list(kinds)
            sql += f" AND kind IN ({', '.join('?' for _ in kinds)})"
            params += kinds
        if after_seq is not None:
            sql += " AND seq > ?"
            params.append(after_seq)
        sql += " ORDER BY seq"
        if limit is not None:
            sql += " LIMIT ?"
            params.append(limit)
        rows = self._rows(sql, params)
        for r in rows:
            r["payload"] = loads(r["payload"]) or {}
        if messages:
            self._resolve_messages(episode_id, rows)
        return rows

    def call_messages(
        self, episode_id: str, payload: dict[str, Any]
    ) -> list[dict[str, Any]] | None:
        """The messages a model call of episode ``episode_id`` sent, as the model got them
        (redacted like every payload): the call's payload ``messages`` when it holds them
        inline (older traces), else its ``message_refs`` resolved from the ``messages``
        table. None when the payload has neither."""
        return resolve_payload_messages(self._rows, episode_id, payload)

    def _resolve_messages(self, episode_id: str, rows: list[dict[str, Any]]) -> None:
        calls = [
            r["payload"]
            for r in rows
            if r["kind"] == "model_call"
            and isinstance(r["payload"], dict)
            and isinstance(r["payload"].get(MESSAGE_REFS), list)
            and "messages" not in r["payload"]
        ]
        if not calls:
            return
        numbers: set[int] = set()
        for payload in calls:
            numbers.update(decode_ranges(payload[MESSAGE_REFS]))
        stored = load_messages(self._rows, episode_id, numbers)
        for payload in calls:
            payload["messages"] = resolve_refs(payload[MESSAGE_REFS], stored)

    def checks(self, episode_id: str) -> list[dict[str, Any]]:
        """An episode's checklist verdicts in the order written; ``evidence`` decoded."""
        rows = self._rows("SELECT * FROM checks WHERE episode_id = ? ORDER BY id", (episode_id,))
        return [_decode(r, "evidence") for r in rows]

    def tasks(self, run_id: str) -> list[dict[str, Any]]:
        """The task rows of a run (``definition`` is the Task's JSON)."""
        return self._rows("SELECT * FROM tasks WHERE run_id = ? ORDER BY rowid", (run_id,))

    def task(self, run_id: str, task_id: str) -> Task | None:
        """The Task as it was run, or ``None`` when the run did not save it."""
        from sandlot.environments.tasks import Task

        rows = self._rows(
            "SELECT definition FROM tasks WHERE run_id = ? AND task_id = ?", (run_id, task_id)
        )
        return Task.model_validate_json(rows[0]["definition"]) if rows else None

    # --- summaries -----------------------------------------------------------------------

    def summary(self, run_id: str) -> dict[str, Any]:
        """The run's summary (:func:`sandlot.traces.summary.summarize`): counts by
        outcome, success rate and mean score over the scored episodes, tokens, pass@k,
        pass^k, standard errors, bootstrap intervals and the per-tag rows (tags from the
        saved task definitions)."""
        columns = {c["name"] for c in self._rows("PRAGMA table_info(episodes)")}
        cost = "cost" if "cost" in columns else "NULL AS cost"  # older files have none
        eps = self._rows(
            f"SELECT task_id, {OUTCOME_SQL} AS outcome, score, tokens, model_calls, "
            f"tool_calls, duration, {cost} FROM episodes WHERE run_id = ? "
            "ORDER BY started, rowid",
            (run_id,),
        )
        run = self.run(run_id) or {}
        epochs = int(run.get("epochs") or 0) or 1
        return summarize(eps, run_id=run_id, epochs=epochs, tags=self.task_tags(run_id))

    def task_tags(self, run_id: str) -> dict[str, list[str]]:
        """Each tagged saved task's capability tags (``Task.tags``), by task id. A definition
        that is not JSON, or whose ``tags`` is not a list, gives its task none; only
        the strings of a list count."""
        if not self._rows("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tasks'"):
            return {}  # a file from before tasks were saved
        return tags_from_rows(self._rows(TASK_TAGS_SQL, (run_id,)))


def _decode(row: dict[str, Any], column: str) -> dict[str, Any]:
    row[column] = loads(row[column])
    return row
