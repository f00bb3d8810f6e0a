"""Reading a trace file: runs, episodes, events, checks, tasks and run summaries.

:class:`TraceReader` has its own read-only connection; in WAL mode it reads the last
committed state while another connection (or process) writes.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from math import comb
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandlot.traces.redact import loads

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.environments.tasks import Task

__all__ = ["TraceReader", "pass_at_k_estimate"]

_ORDER = {
    "started",
    "ended",
    "score",
    "duration",
    "task_id",
    "status",
    "tokens",
    "epoch",
    "model",
    "steps",
    "model_calls",
    "tool_calls",
}


def pass_at_k_estimate(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimator for ``c`` successes in ``n`` samples (Chen et al., 2021).

    ``k`` larger than ``n`` is clipped to ``n`` (a task run fewer times than the run's
    epochs, e.g. an interrupted run, counts with what it has).
    """
    k = min(k, n)
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


class TraceReader:
    """Read-side queries over one trace file (safe while a writer works).

    Args:
        path: the trace file; it must exist.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.exists():
            raise FileNotFoundError(f"no trace file at {self.path}")
        # as_uri() percent-encodes, so paths with '?', '#' or '%' open the right file.
        uri = self.path.resolve().as_uri() + "?mode=ro"
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
            raise ValueError(f"the trace {self.path} is closed; open it again to read")
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
        where, params = [], []
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
            raise ValueError(
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
    ) -> list[dict[str, Any]]:
        """An episode's events ordered by ``seq``, each with its ``payload`` decoded.

        Events of an attempt that a resume replaced (``superseded``) are left out unless
        ``include_superseded``: the episode's trajectory is what its final attempt did.
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
        return rows

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
        """Counts, rates, tokens and pass@k of one run.

        ``pass_at_k`` is the fraction of tasks with at least one successful epoch;
        ``per_task`` maps each task to 1 or 0 on that rule. With more than one epoch,
        ``pass@K`` (K = the run's epochs) is the unbiased estimator averaged over tasks.
        """
        eps = self.episodes(run_id)
        run = self.run(run_id) or {}
        n = len(eps)
        scores = [e["score"] for e in eps if e["score"] is not None]
        by_task: dict[str, list[int]] = {}
        for e in eps:
            by_task.setdefault(e["task_id"], []).append(int(e["success"] == 1))
        per_task = {t: int(any(v)) for t, v in by_task.items()}
        out: dict[str, Any] = {
            "run_id": run_id,
            "n": n,
            "episodes": n,
            "tasks": len(by_task),
            "done": sum(e["status"] == "done" for e in eps),
            "errors": sum(e["status"] == "error" for e in eps),
            "interrupted": sum(e["status"] == "interrupted" for e in eps),
            "running": sum(e["status"] == "running" for e in eps),
            "success_rate": sum(e["success"] == 1 for e in eps) / n if n else 0.0,
            "mean_score": sum(scores) / len(scores) if scores else 0.0,
            "tokens": sum(e["tokens"] or 0 for e in eps),
            "model_calls": sum(e["model_calls"] or 0 for e in eps),
            "tool_calls": sum(e["tool_calls"] or 0 for e in eps),
            "duration": sum(e["duration"] or 0.0 for e in eps),
            "pass_at_k": sum(per_task.values()) / len(per_task) if per_task else 0.0,
            "per_task": per_task,
        }
        k = int(run.get("epochs") or 0) or max((len(v) for v in by_task.values()), default=1)
        if k > 1 and by_task:
            out[f"pass@{k}"] = sum(
                pass_at_k_estimate(len(v), sum(v), k) for v in by_task.values()
            ) / len(by_task)
        return out


def _decode(row: dict[str, Any], column: str) -> dict[str, Any]:
    row[column] = loads(row[column])
    return row
