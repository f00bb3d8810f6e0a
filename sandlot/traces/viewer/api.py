"""The viewer's queries over a trace file, returning JSON-able data.

Everything that can grow (episodes of a run, events of an episode, children of a span,
search hits) is filtered, sorted and paged in SQL, so a run of 10,000 episodes or an
episode of 50,000 events answers in milliseconds. Lists carry one-line summaries instead
of payloads; one event's payload is fetched on demand, with huge strings cut unless the
caller asks for all of it.
"""

from __future__ import annotations

import contextlib
import json
import re
import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from sandlot.errors import ViewerError
from sandlot.traces.messages import MESSAGE_REFS, load_messages, resolve_payload_messages
from sandlot.traces.query import TraceReader
from sandlot.traces.runs_compare import compare_runs
from sandlot.traces.stats import TASK_TAGS_SQL, tags_from_rows
from sandlot.traces.summary import SCORED_SQL, outcome_sql
from sandlot.traces.summary import summarize as summarize_run
from sandlot.traces.viewer.compare import compare_episodes
from sandlot.traces.viewer.conversation import conversation
from sandlot.traces.viewer.db import ConnectionPool
from sandlot.traces.viewer.search_query import SearchQuery, parse_search
from sandlot.traces.viewer.summaries import (
    PAYLOAD_LIMIT,
    STEP_FAILED_PREFIX,
    cut_long_strings,
    loads,
    summarize,
)
from sandlot.traces.why import evidence_sentence, linked_calls, why

__all__ = ["MAX_PAGE", "MAX_SEARCH", "SORTABLE", "TRACE_B_PREFIX", "ViewerAPI", "ViewerError"]

MAX_PAGE = 1000
# A run of the second trace file (``sandlot view A.db --compare-with B.db``) is named
# ``b:RUN`` where a run of this one would be (#/runs-compare/RUN_A/b:RUN_B).
TRACE_B_PREFIX = "b:"
# checks whose evidence names tool calls, or (state) what the calls changed
_LINKED_KINDS = ("called", "not_called", "order", "state")
# Characters in a search. Escaped as JSON and for LIKE, 1,000 stay well under SQLite's
# limit on a LIKE pattern (50,000 bytes), past which the query would fail.
MAX_SEARCH = 1000
SORTABLE = (
    "started",
    "task_id",
    "epoch",
    "status",
    "outcome",
    "success",
    "score",
    "steps",
    "model_calls",
    "tool_calls",
    "tokens",
    "duration",
    "model",
)
_STEP_KINDS = ("plan", "retrieval", "model_call", "tool_call", "answer", "error")
_LIST_COLUMNS = "seq, parent, ts, kind, name, duration, payload"
# The replay lists every move of an episode (40,000 in a 50,000-event one), so its step
# and status come from SQLite's JSON functions, about twice as fast as parsing each
# payload in Python; the statuses are those of summaries.summarize. json_valid first:
# one malformed payload must not fail the whole list (SQLite caches the parse).
_STEP_SQL = (
    "CASE WHEN json_valid(payload) AND json_type(payload, '$.step_index') = 'integer' "
    "THEN json_extract(payload, '$.step_index') END"
)
_STATUS_SQL = f"""CASE WHEN NOT json_valid(payload) THEN NULL
    WHEN kind = 'tool_call' THEN CASE WHEN json_extract(payload, '$.ok') THEN 'ok' ELSE 'error' END
    WHEN kind = 'model_call' THEN CASE
        WHEN coalesce(json_extract(payload, '$.error'), '') NOT IN ('', 0) THEN 'error'
        WHEN ltrim(json_extract(payload, '$.response.content'), ' ' || char(10, 9, 13))
            LIKE '{STEP_FAILED_PREFIX}%' THEN 'failed' END
    WHEN kind = 'retrieval' THEN CASE json_extract(payload, '$.hit') WHEN 1 THEN 'ok' WHEN 0 THEN 'miss' END
    WHEN kind = 'plan' THEN CASE WHEN json_extract(payload, '$.replan') THEN 'replan' END
    WHEN kind = 'error' THEN 'error' END"""


def _page(limit: int, offset: int) -> tuple[int, int]:
    if limit < 1 or offset < 0:
        raise ViewerError(f"limit must be >= 1 and offset >= 0 (got {limit}, {offset})")
    return min(limit, MAX_PAGE), offset


def _list_row(row: sqlite3.Row) -> dict[str, Any]:
    """An event for a list: no payload, a summary, a status and the payload's size."""
    out = {k: row[k] for k in ("seq", "parent", "ts", "kind", "name", "duration")}
    text = row["payload"] or ""
    out["summary"], out["status"] = summarize(row["kind"], row["name"], loads(text))
    out["size"] = len(text)
    if row["superseded"]:
        out["summary"] = "[replaced by a resume] " + out["summary"]
        out["status"] = "superseded"
    return out


def _kinds_clause(kinds: list[str] | None) -> tuple[str, list[Any]]:
    if not kinds:
        return "", []
    return f" AND kind IN ({', '.join('?' for _ in kinds)})", list(kinds)


def _episode_filter(
    run_id: str,
    *,
    task: str | None = None,
    status: str | None = None,
    model: str | None = None,
    success: str | None = None,
    outcome: str | None = None,
    alias: str = "",
) -> tuple[str, list[Any]]:
    """The WHERE clause (and its parameters) of a run page's filters over its episodes:
    ``task`` matches part of the task id, ``success`` is "1" or "0"."""
    if success not in (None, "", "0", "1"):
        raise ViewerError(f"success must be 1 or 0, not {success!r}")
    p = f"{alias}." if alias else ""
    where: list[str] = [f"{p}run_id = ?"]
    params: list[Any] = [run_id]
    if task:
        where.append(f"{p}task_id LIKE ? ESCAPE '\\'")
        params.append(f"%{_like_escape(task)}%")
    for column, value in (("status", status), ("model", model), ("o", outcome)):
        if value:
            where.append(f"{p}{column} = ?")
            params.append(value)
    if success:
        where.append(f"coalesce({p}success, 0) = ?")
        params.append(int(success))
    return " AND ".join(where), params


class ViewerAPI:
    """Every query the viewer makes, over read-only connections to ``db``.

    Raises:
        TraceFileError: ``db`` is missing or not a trace file.
    """

    def __init__(self, db: str | Path, *, compare_with: str | Path | None = None) -> None:
        self.path = Path(db)
        self._pool = ConnectionPool(self.path)
        # a second trace file whose runs this one's can be compared with (read-only too)
        try:
            self.other = None if compare_with is None else ViewerAPI(compare_with)
        except BaseException:
            self._pool.close()
            raise
        # Events a resume replaced are listed (marked) but left out of the replay and the
        # comparison; files from before the column have none.
        columns = {r["name"] for r in self._rows("PRAGMA table_info(events)")}
        has = "superseded" in columns
        self._list_columns = _LIST_COLUMNS + (", superseded" if has else ", NULL AS superseded")
        self._live = " AND superseded IS NULL" if has else ""
        # Episodes with their outcome, however old the file (summary.outcome_sql). A store
        # fills in the outcome of old rows when it opens a file for writing: only a file
        # never opened so since needs the expression, which costs a scan per query.
        have = {r["name"] for r in self._rows("PRAGMA table_info(episodes)")}
        legacy = "outcome" not in have or self._value(
            "SELECT 1 FROM episodes WHERE outcome IS NULL AND status != 'running' LIMIT 1"
        )
        outcome = outcome_sql(column="outcome" in have) if legacy else "outcome"
        reason = "end_reason" if "end_reason" in have else "NULL"
        self._episodes = f"(SELECT *, {outcome} AS o, {reason} AS end_reason_ FROM episodes)"

    def close(self) -> None:
        self._pool.close()
        if self.other is not None:
            self.other.close()

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[dict[str, Any]]:
        with self._pool.connection() as conn:
            return [dict(r) for r in conn.execute(sql, tuple(params)).fetchall()]

    def _value(self, sql: str, params: tuple[Any, ...] | list[Any] = ()) -> Any:
        with self._pool.connection() as conn:
            row = conn.execute(sql, tuple(params)).fetchone()
        return row[0] if row else None

    # --- runs ------------------------------------------------------------------------

    # Errored and interrupted episodes are counted apart, never averaged in: success and
    # mean score are over the scored outcomes, as in summary.summarize.
    _RUN_SQL = (
        "SELECT r.id, r.started, r.ended, r.status, r.model, r.agent, r.kind, r.parent_run, "
        "r.n_tasks, r.epochs, count(e.id) AS episodes, sum(e.o = 'error') AS errors, "
        # progress of a run in progress: N = tasks x epochs, n = episodes that ended
        "r.n_tasks * coalesce(r.epochs, 1) AS expected, sum(e.o IS NOT NULL) AS finished, "
        "sum(e.o IS NOT NULL AND e.o != 'passed') AS not_passed, "
        "sum(e.o = 'interrupted') AS interrupted, "
        f"sum(e.o IN {SCORED_SQL}) AS scored, "
        f"avg(CASE WHEN e.o IN {SCORED_SQL} THEN e.o = 'passed' END) AS success_rate, "
        f"avg(CASE WHEN e.o IN {SCORED_SQL} THEN e.score END) AS mean_score, "
        # total(), not sum(): two token counts near 2**63 (the store clamps there) would
        # make sum() fail the whole list with "integer overflow"
        "CASE WHEN count(e.tokens) > 0 THEN CAST(total(e.tokens) AS INTEGER) END AS tokens, "
        "sum(e.duration) AS episode_time "
        "FROM runs r LEFT JOIN {episodes} e ON e.run_id = r.id"
    )

    def runs(self) -> list[dict[str, Any]]:
        """Every run, newest first, with success rate, mean score, tokens and times."""
        sql = self._RUN_SQL.replace("{episodes}", self._episodes)
        return self._rows(sql + " GROUP BY r.id ORDER BY r.started DESC")

    def run(self, run_id: str) -> dict[str, Any] | None:
        """One run with its aggregates and its config (JSON, secrets already removed)."""
        sql = self._RUN_SQL.replace("{episodes}", self._episodes)
        rows = self._rows(sql + " WHERE r.id = ? GROUP BY r.id", (run_id,))
        if not rows:
            return None
        rows[0]["config"] = loads(self._value("SELECT config FROM runs WHERE id = ?", (run_id,)))
        return rows[0]

    def episodes(
        self,
        run_id: str,
        *,
        task: str | None = None,
        status: str | None = None,
        model: str | None = None,
        success: str | None = None,
        outcome: str | None = None,
        sort: str = "started",
        desc: bool = False,
        limit: int = 100,
        offset: int = 0,
    ) -> dict[str, Any]:
        """A page of a run's episodes: ``task`` matches part of the task id, ``success``
        is "1" or "0" (unscored counts as 0); sorted by one of ``SORTABLE``.

        Returns:
            ``{"total", "rows", "facets": {"status", "model", "task"}}``.
        """
        if sort not in SORTABLE:
            raise ViewerError(f"cannot sort episodes by {sort!r}; use one of {', '.join(SORTABLE)}")
        limit, offset = _page(limit, offset)
        clause, params = _episode_filter(
            run_id, task=task, status=status, model=model, success=success, outcome=outcome
        )
        order = f"{sort} {'DESC' if desc else 'ASC'} NULLS LAST, rowid"
        total = self._value(f"SELECT count(*) FROM {self._episodes} WHERE {clause}", params)
        rows = self._rows(
            "SELECT id, task_id, epoch, status, o AS outcome, end_reason_ AS end_reason, success, "
            "score, steps, model_calls, tool_calls, tool_errors, tokens, duration, model, agent, "
            f"error, replay_of, started FROM {self._episodes} WHERE {clause} "
            f"ORDER BY {order} LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
        self._add_why(rows)
        facets = {
            c: [
                r["v"]
                for r in self._rows(
                    f"SELECT DISTINCT {c} AS v FROM {self._episodes} WHERE run_id = ? "
                    f"AND {c} IS NOT NULL ORDER BY 1 LIMIT 500",
                    (run_id,),
                )
            ]
            for c in ("status", "model", "task_id", "o")
        }
        facets["task"] = facets.pop("task_id")
        facets["outcome"] = facets.pop("o")
        return {"total": total, "rows": rows, "facets": facets}

    def _add_why(self, rows: list[dict[str, Any]]) -> None:
        """Each row's ``why`` (:func:`sandlot.traces.why.why`), with the failed checks of
        the page's failed episodes read in one query."""
        failed = [r["id"] for r in rows if r["outcome"] == "failed"]
        checks: dict[str, list[dict[str, Any]]] = {}
        for start in range(0, len(failed), 500):
            ids = failed[start : start + 500]
            for c in self._rows(
                "SELECT episode_id, item_id, passed, required FROM checks WHERE passed = 0 "
                f"AND episode_id IN ({', '.join('?' for _ in ids)}) ORDER BY id",
                ids,
            ):
                checks.setdefault(c["episode_id"], []).append(c)
        for r in rows:
            r["why"] = why(r["outcome"], r.get("error"), checks.get(r["id"], ()))

    def stats(
        self,
        run_id: str,
        *,
        max_points: int = 20_000,
        task: str | None = None,
        status: str | None = None,
        model: str | None = None,
        success: str | None = None,
        outcome: str | None = None,
    ) -> dict[str, Any]:
        """What the run's plots need: scores, success per task, call durations — over
        the episodes that the run page's filters (``task``, ``status``, ``model``,
        ``success``, ``outcome``, as in :meth:`episodes`) keep; the ``summary``
        statistics are the whole run's."""
        filters: dict[str, Any] = {"task": task, "status": status, "model": model}
        filters |= {"success": success, "outcome": outcome}
        clause, params = _episode_filter(run_id, **filters)
        scores = [
            r["score"]
            for r in self._rows(
                f"SELECT score FROM {self._episodes} WHERE {clause} AND score IS NOT NULL "
                f"AND o IN {SCORED_SQL}",
                params,
            )
        ]
        per_task = self._rows(
            f"SELECT task_id, avg(CASE WHEN o IN {SCORED_SQL} THEN o = 'passed' END) "
            f"AS success_rate, avg(CASE WHEN o IN {SCORED_SQL} THEN score END) AS mean_score, "
            f"count(*) AS n FROM {self._episodes} WHERE {clause} GROUP BY task_id "
            "ORDER BY task_id LIMIT 500",
            params,
        )
        e_clause, e_params = _episode_filter(run_id, alias="e", **filters)
        filtered = e_clause != "e.run_id = ?"
        episodes = self._episodes if filtered else "episodes"
        # Durations come from the events' own column: reading a latency out of every
        # model call's JSON would parse megabytes of messages for one number each.
        latency = {
            kind: [
                round(r["duration"], 5)
                for r in self._rows(
                    f"SELECT v.duration FROM {episodes} e JOIN events v ON v.episode_id = e.id "
                    f"WHERE {e_clause} AND v.kind = ? AND v.duration IS NOT NULL LIMIT ?",
                    (*e_params, kind, max_points),
                )
            ]
            for kind in ("model_call", "tool_call")
        }
        return {
            "scores": scores,
            "per_task": per_task,
            "model_latency": latency["model_call"],
            "tool_latency": latency["tool_call"],
            "summary": self._run_statistics(run_id),
        }

    # the statistics the run page shows beside the plots
    _STAT_KEYS = ("pass_at", "pass_hat", "success_se", "success_ci", "score_se", "score_ci")

    def _run_statistics(self, run_id: str) -> dict[str, Any]:
        """The summary's statistics (:mod:`sandlot.traces.stats`): pass@k and pass^k per
        k, standard errors, bootstrap intervals and the per-tag rows."""
        eps = self._rows(
            f"SELECT task_id, o AS outcome, score FROM {self._episodes} WHERE run_id = ?",
            (run_id,),
        )
        epochs = int(self._value("SELECT epochs FROM runs WHERE id = ?", (run_id,)) or 0) or 1
        has_tasks = self._value(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tasks'"
        )
        tags = tags_from_rows(self._rows(TASK_TAGS_SQL, (run_id,))) if has_tasks else {}
        full = summarize_run(eps, run_id=run_id, epochs=epochs, tags=tags)
        keys = ("success_rate", "mean_score", "scored", "errors", "interrupted", "by_tag")
        return {"epochs": epochs} | {k: full[k] for k in (*keys, *self._STAT_KEYS)}

    def next_failed(self, run_id: str | None, after: str | None = None) -> dict[str, Any]:
        """The run's next episode (in the order they started) whose outcome is not
        passed, after episode ``after`` (None: from the start), wrapping around to the
        first: ``{"id"}``, None when there is none. Running episodes are skipped.
        ``run_id`` None: the run of episode ``after``."""
        if run_id is None:
            run_id = self._value("SELECT run_id FROM episodes WHERE id = ?", (after,))
            if run_id is None:
                return {"id": None}
        base = (
            f"SELECT id FROM {self._episodes} WHERE run_id = ? AND o IS NOT NULL AND o != 'passed'"
        )
        order = " ORDER BY coalesce(started, 0), id LIMIT 1"
        found = None
        if after is not None:
            mark = self._value(
                "SELECT coalesce(started, 0) FROM episodes WHERE id = ? AND run_id = ?",
                (after, run_id),
            )
            if mark is not None:
                found = self._value(
                    base + " AND (coalesce(started, 0), id) > (?, ?)" + order,
                    (run_id, mark, after),
                )
        if found is None:
            found = self._value(base + order, (run_id,))
        return {"id": found}

    # --- one episode -----------------------------------------------------------------

    def episode(self, episode_id: str) -> dict[str, Any] | None:
        """An episode's row (without the final state), checklist, event counts by kind
        and time span (``t0``, ``t1``)."""
        rows = self._rows(f"SELECT * FROM {self._episodes} WHERE id = ?", (episode_id,))
        if not rows:
            return None
        ep = rows[0]
        ep.pop("final_state", None)
        ep["outcome"], ep["end_reason"] = ep.pop("o"), ep.pop("end_reason_")
        ep["checks"] = self._rows(
            "SELECT item_id, description, kind, passed, weight, required, evidence, "
            "skipped_reason FROM checks WHERE episode_id = ? ORDER BY id",
            (episode_id,),
        )
        for check in ep["checks"]:
            check["evidence"] = loads(check["evidence"])
            check["sentence"] = evidence_sentence(check["kind"], check["evidence"])
        self._link_checks(episode_id, ep["checks"])
        ep["why"] = why(ep["outcome"], ep.get("error"), ep["checks"])
        counts = self._rows(
            "SELECT kind, count(*) AS n, min(ts) AS t0, max(ts + coalesce(duration, 0)) AS t1 "
            "FROM events WHERE episode_id = ? GROUP BY kind",
            (episode_id,),
        )
        ep["kinds"] = {r["kind"]: r["n"] for r in counts}
        ep["n_events"] = sum(ep["kinds"].values())
        t0 = [r["t0"] for r in counts if r["t0"] is not None]
        t1 = [r["t1"] for r in counts if r["t1"] is not None]
        ep["t0"], ep["t1"] = (min(t0), max(t1)) if t0 else (None, None)
        root = loads(
            self._value(
                "SELECT payload FROM events WHERE episode_id = ? AND kind = 'episode' "
                "ORDER BY seq LIMIT 1",
                (episode_id,),
            )
        )
        ep["instruction"] = root.get("instruction") if isinstance(root, dict) else None
        ep["replay"] = self._replay_summary(episode_id) if ep.get("replay_of") else None
        return ep

    def _link_checks(self, episode_id: str, checks: list[dict[str, Any]]) -> None:
        """Each check's ``events``: for a failed one, the seqs of the tool calls its
        evidence names (:func:`sandlot.traces.why.linked_calls`), else ``[]``."""
        failed = [c for c in checks if c["passed"] == 0 and c["kind"] in _LINKED_KINDS]
        for check in checks:
            check["events"] = []
        if not failed:
            return
        calls = self._rows(
            "SELECT seq, name, CASE WHEN json_valid(payload) THEN "
            "json_extract(payload, '$.arguments') END AS arguments, CASE WHEN "
            "json_valid(payload) THEN json_extract(payload, '$.ok') END AS ok, CASE WHEN "
            "json_valid(payload) THEN json_extract(payload, '$.changed') END AS changed FROM events "
            f"WHERE episode_id = ? AND kind = 'tool_call'{self._live} ORDER BY seq",
            (episode_id,),
        )
        for call in calls:
            for key in ("arguments", "changed"):
                if isinstance(call[key], str):
                    call[key] = loads(call[key])
        for check in failed:
            check["events"] = linked_calls(check["kind"], check["evidence"], calls)

    def _replay_summary(self, episode_id: str) -> dict[str, Any] | None:
        """Whether a replay matched its recording (its ``replay`` ``summary`` event):
        ``{"matched", "compared", "divergence"}``, or None when it recorded none."""
        summary = loads(
            self._value(
                f"SELECT payload FROM events WHERE episode_id = ? AND kind = 'replay' "
                f"AND name = 'summary'{self._live} ORDER BY seq DESC LIMIT 1",
                (episode_id,),
            )
        )
        if not isinstance(summary, dict) or "matched" not in summary:
            return None
        return {k: summary.get(k) for k in ("matched", "compared", "divergence")}

    def events(
        self, episode_id: str, *, offset: int = 0, limit: int = 200, kinds: list[str] | None = None
    ) -> dict[str, Any]:
        """A page of an episode's events in seq order (the timeline), summaries only.

        Returns:
            ``{"total", "offset", "rows"}``; ``total`` counts the events of ``kinds``.
        """
        limit, offset = _page(limit, offset)
        extra, params = _kinds_clause(kinds)
        where = f"episode_id = ?{extra}"
        total = self._value(f"SELECT count(*) FROM events WHERE {where}", (episode_id, *params))
        with self._pool.connection() as conn:
            rows = conn.execute(
                f"SELECT {self._list_columns} FROM events WHERE {where} ORDER BY seq LIMIT ? OFFSET ?",
                (episode_id, *params, limit, offset),
            ).fetchall()
        return {"total": total, "offset": offset, "rows": [_list_row(r) for r in rows]}

    def position(self, episode_id: str, seq: int, *, kinds: list[str] | None = None) -> int:
        """The index of event ``seq`` in the timeline of ``kinds`` (to scroll to it)."""
        extra, params = _kinds_clause(kinds)
        return self._value(
            f"SELECT count(*) FROM events WHERE episode_id = ? AND seq < ?{extra}",
            (episode_id, seq, *params),
        )

    def next_error(
        self, episode_id: str, after: int, *, kinds: list[str] | None = None
    ) -> dict[str, Any]:
        """The first event after ``after`` (a seq; -1: from the start) whose status is
        error (a failed tool or model call, an error event), among ``kinds``, wrapping
        around to the first: ``{"seq", "index"}`` (its place in that timeline), both
        None when the episode has none."""
        extra, params = _kinds_clause(kinds)
        sql = (
            f"SELECT seq FROM events WHERE episode_id = ? AND seq > ?{extra} "
            f"AND ({_STATUS_SQL}) = 'error' ORDER BY seq LIMIT 1"
        )
        seq = self._value(sql, (episode_id, after, *params))
        if seq is None and after >= 0:
            seq = self._value(sql, (episode_id, -1, *params))
        if seq is None:
            return {"seq": None, "index": None}
        return {"seq": seq, "index": self.position(episode_id, seq, kinds=kinds)}

    def event(self, episode_id: str, seq: int, *, full: bool = False) -> dict[str, Any] | None:
        """One event with its payload. Strings over ``PAYLOAD_LIMIT`` characters are cut
        (``cut`` says how many) unless ``full``; lists and objects nested deeper than
        ``DEPTH_LIMIT`` levels are shown as ``TOO_DEEP``."""
        rows = self._rows(
            "SELECT seq, parent, ts, kind, name, duration, payload FROM events "
            "WHERE episode_id = ? AND seq = ?",
            (episode_id, seq),
        )
        if not rows:
            return None
        event = rows[0]
        payload = loads(event["payload"])
        if event["kind"] == "model_call" and isinstance(payload, dict):
            self._with_messages(episode_id, payload)
        event["summary"], event["status"] = summarize(event["kind"], event["name"], payload)
        # Even in full, what is nested past DEPTH_LIMIT levels is not sent (not counted
        # in ``cut``: showing "all" could not show more).
        event["payload"], event["cut"] = cut_long_strings(payload, None if full else PAYLOAD_LIMIT)
        return event

    def _with_messages(self, episode_id: str, payload: dict[str, Any]) -> None:
        """Put the messages a model call sent into its payload (``messages``), resolved
        from its ``message_refs`` (sandlot.traces.messages); a reference that cannot be
        read leaves the payload as it is."""
        if "messages" in payload or MESSAGE_REFS not in payload:
            return
        try:
            messages = resolve_payload_messages(self._rows, episode_id, payload)
        except (ValueError, sqlite3.Error):
            return
        if messages is not None:
            payload["messages"] = messages

    def messages(self, episode_id: str) -> dict[str, Any]:
        """Every message an episode's model calls sent, by number (as text: JSON keys),
        for a page that resolves ``message_refs`` itself (an export)."""
        try:
            stored = load_messages(self._rows, episode_id)
        except sqlite3.OperationalError:  # a trace from before the messages table
            return {}
        return {str(n): m for n, m in stored.items()}

    def conversation(
        self, episode_id: str, *, offset: int = 0, limit: int | None = 100
    ) -> dict[str, Any] | None:
        """A page of the episode read as a conversation: system prompt, instruction, each
        model turn with its tool calls and their results (see
        ``sandlot.traces.viewer.conversation``); ``limit`` None gives every turn (an
        export). None when there is no such episode."""
        if limit is not None:
            limit, offset = _page(limit, offset)
        elif offset < 0:
            raise ViewerError(f"offset must be >= 0 (got {offset})")
        return conversation(self._rows, episode_id, offset=offset, limit=limit, live=self._live)

    def children(
        self, episode_id: str, parent: int | None, *, offset: int = 0, limit: int = 200
    ) -> dict[str, Any]:
        """A page of the span tree: the children of span ``parent`` (None: the roots).

        Roots include orphans, events whose parent span was never written because the
        run was killed before it ended; they carry ``"orphan": true``. Each row says how
        many children it has, so the tree opens one level at a time.
        """
        limit, offset = _page(limit, offset)
        if parent is None:
            where = (
                "episode_id = ? AND (parent IS NULL OR parent NOT IN "
                "(SELECT seq FROM events WHERE episode_id = ?))"
            )
            params: tuple[Any, ...] = (episode_id, episode_id)
        else:
            where, params = "episode_id = ? AND parent = ?", (episode_id, parent)
        total = self._value(f"SELECT count(*) FROM events WHERE {where}", params)
        with self._pool.connection() as conn:
            found = conn.execute(
                f"SELECT {self._list_columns} FROM events WHERE {where} ORDER BY seq LIMIT ? OFFSET ?",
                (*params, limit, offset),
            ).fetchall()
        rows = [_list_row(r) for r in found]
        counts: dict[int, int] = {}
        if rows:
            marks = ", ".join("?" for _ in rows)
            counts = {
                r["parent"]: r["n"]
                for r in self._rows(
                    f"SELECT parent, count(*) AS n FROM events WHERE episode_id = ? "
                    f"AND parent IN ({marks}) GROUP BY parent",
                    (episode_id, *(r["seq"] for r in rows)),
                )
            }
        for row in rows:
            row["n_children"] = counts.get(row["seq"], 0)
            if parent is None and row["parent"] is not None:
                row["orphan"] = True
        return {"total": total, "offset": offset, "rows": rows}

    def steps(self, episode_id: str) -> dict[str, list[Any]]:
        """The moves of a step-through replay (plans, retrievals, model and tool calls,
        answer, errors) in order, as columns: ``seq``, ``kind``, ``name``, ``step`` (the
        plan step index) and ``status`` (as ``summarize`` would give it)."""
        marks = ", ".join("?" for _ in _STEP_KINDS)
        with self._pool.connection() as conn:
            found = conn.execute(
                f"SELECT seq, kind, name, {_STEP_SQL}, {_STATUS_SQL} FROM events "
                f"WHERE episode_id = ? AND kind IN ({marks}){self._live} ORDER BY seq",
                (episode_id, *_STEP_KINDS),
            ).fetchall()
        names = ("seq", "kind", "name", "step", "status")
        return {name: [row[i] for row in found] for i, name in enumerate(names)}

    def iter_events(self, episode_id: str) -> Iterator[tuple[dict[str, Any], Any]]:
        """Every event of an episode in order, as (list row, full parsed payload)."""
        with self._pool.connection() as conn:
            for row in conn.execute(
                f"SELECT {self._list_columns} FROM events WHERE episode_id = ? ORDER BY seq",
                (episode_id,),
            ):
                yield _list_row(row), loads(row["payload"])

    def compare(self, a: str, b: str, *, window: int = 200) -> dict[str, Any] | None:
        """Two episodes' model responses and tool calls side by side, with the first
        difference (see ``sandlot.traces.viewer.compare``); None if either is missing."""
        with self._pool.connection() as conn:
            return compare_episodes(conn, a, b, window=window, live=self._live)

    def trace_b(self) -> dict[str, Any] | None:
        """The second trace file (``compare_with``): its file name and its runs, newest
        first, as :meth:`runs` lists them; None when the viewer has none."""
        if self.other is None:
            return None
        return {"name": self.other.path.name, "runs": self.other.runs()}

    def compare_runs(self, a: str, b: str) -> dict[str, Any] | None:
        """Two runs task by task: flipped tasks, the paired tests, per-tag, token, time
        and cost deltas (``sandlot.traces.runs_compare``); None if either is missing.
        ``a`` is a run of this trace; ``b`` too, or ``b:RUN`` a run of the second trace
        (``compare_with``). The files are named, never given as paths (``db_a``,
        ``db_b``)."""
        other = self
        if b.startswith(TRACE_B_PREFIX):
            if self.other is None:
                return None
            other, b = self.other, b[len(TRACE_B_PREFIX) :]
        with contextlib.ExitStack() as stack:
            reader_a = stack.enter_context(TraceReader(self.path))
            reader_b = reader_a if other is self else stack.enter_context(TraceReader(other.path))
            if reader_a.run(a) is None or reader_b.run(b) is None:
                return None
            out = compare_runs(reader_a, a, reader_b, b).to_dict()
        out["db_a"], out["db_b"] = self.path.name, other.path.name
        out["b_in_trace_b"] = other is not self
        return out

    # --- search ----------------------------------------------------------------------

    def search(
        self,
        query: str,
        *,
        run_id: str | None = None,
        kind: str | None = None,
        limit: int = 50,
        tool: str | None = None,
        args: str | None = None,
        failed: str | None = None,
    ) -> dict[str, Any]:
        """Events whose payload or name contains ``query``'s text (case-insensitive for
        ASCII), narrowed by its ``tool:``, ``args:`` and ``failed:`` terms or the same
        keywords (:mod:`sandlot.traces.viewer.search_query`). ``failed:`` alone lists
        the episodes whose check of that id failed.

        Returns:
            ``{"rows", "more", "groups", "query"}``: up to ``limit`` hits (each with its
            episode's outcome and an excerpt around the match; ``seq`` None for an
            episode found by ``failed:`` alone), ``more`` when there were further hits,
            the hits grouped by episode in order of their first hit, and the parsed query.

        Raises:
            ViewerError: ``query`` is longer than MAX_SEARCH characters.
        """
        if len(query) > MAX_SEARCH:
            raise ViewerError(
                f"a search is at most {MAX_SEARCH} characters, this one has {len(query)}: "
                "search for a shorter part of the text"
            )
        parsed = parse_search(query, tool=tool, args=args, failed=failed)
        answer: dict[str, Any] = {"rows": [], "more": False, "groups": [], "query": vars(parsed)}
        if parsed.empty:
            return answer
        limit = _page(limit, 0)[0]
        where: list[str] = []
        params: list[Any] = []
        if parsed.failed:
            where.append("e.id IN (SELECT episode_id FROM checks WHERE item_id = ? AND passed = 0)")
            params.append(parsed.failed)
        if run_id:
            where.append("e.run_id = ?")
            params.append(run_id)
        if parsed.events:
            sql, front = self._event_search(parsed, kind, where, params)
            params = front + params
        else:
            sql = (
                "SELECT e.id AS episode_id, NULL AS seq, NULL AS kind, NULL AS name, e.task_id, "
                f"e.run_id, e.o AS outcome, NULL AS excerpt FROM {self._episodes} e "
                f"WHERE {' AND '.join(where)} ORDER BY e.started, e.id"
            )
        rows = self._rows(sql + " LIMIT ?", (*params, limit + 1))
        for row in rows:
            row["excerpt"] = _unescape_json(row["excerpt"] or "")
        answer["rows"], answer["more"] = rows[:limit], len(rows) > limit
        answer["groups"] = _by_episode(answer["rows"])
        return answer

    def _event_search(
        self, q: SearchQuery, kind: str | None, where: list[str], params: list[Any]
    ) -> tuple[str, list[Any]]:
        """The SQL of a search that matches events, and the parameters that come before
        ``params`` (those of ``where``) in it."""
        # Payloads are JSON text: a quote, backslash or newline in them is escaped, so
        # the payload is matched against the text as JSON writes it; names are plain.
        text_json = json.dumps(q.text, ensure_ascii=False)[1:-1]
        needle = text_json if q.text else json.dumps(q.args or "", ensure_ascii=False)[1:-1]
        front: list[Any] = [needle]
        clauses: list[str] = []
        if q.text:
            clauses.append("(v.payload LIKE ? ESCAPE '\\' OR v.name LIKE ? ESCAPE '\\')")
            front += [f"%{_like_escape(text_json)}%", f"%{_like_escape(q.text)}%"]
        if q.tool:
            clauses.append("v.kind = 'tool_call' AND v.name = ?")
            front.append(q.tool)
        if q.args:
            args_json = json.dumps(q.args, ensure_ascii=False)[1:-1]
            clauses.append(
                "v.kind = 'tool_call' AND json_valid(v.payload) AND "
                "(CAST(json_extract(v.payload, '$.arguments') AS TEXT) LIKE ? ESCAPE '\\' "
                "OR json_extract(v.payload, '$.arguments_raw') LIKE ? ESCAPE '\\')"
            )
            front += [f"%{_like_escape(args_json)}%", f"%{_like_escape(q.args)}%"]
        if kind:
            where = [*where, "v.kind = ?"]
            params.append(kind)
        sql = (
            "SELECT v.episode_id, v.seq, v.kind, v.name, e.task_id, e.run_id, e.o AS outcome, "
            "substr(v.payload, max(1, instr(lower(v.payload), lower(?)) - 80), 240) AS excerpt "
            f"FROM events v JOIN {self._episodes} e ON e.id = v.episode_id "
            f"WHERE {' AND '.join([*clauses, *where])}"
        )
        return sql, front


def _by_episode(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Search hits grouped by episode, in order of each episode's first hit."""
    groups: dict[str, dict[str, Any]] = {}
    for row in rows:
        group = groups.setdefault(
            row["episode_id"],
            {k: row[k] for k in ("episode_id", "task_id", "run_id", "outcome")} | {"hits": []},
        )
        if row["seq"] is not None:
            group["hits"].append(row)
    return list(groups.values())


_JSON_ESCAPE = re.compile(r'\\(["\\/bfnrt]|u[0-9a-fA-F]{4})')
_JSON_ESCAPED = {'"': '"', "\\": "\\", "/": "/", "b": " ", "f": " ", "n": " ", "r": " ", "t": " "}


def _unescape_json(text: str) -> str:
    """Read a slice of JSON text the way a person would: quotes and backslashes as such,
    line breaks as spaces. The slice may start or end inside an escape: that is kept."""

    def one(m: re.Match[str]) -> str:
        code = m.group(1)
        if code[0] == "u":
            char = chr(int(code[1:], 16))
            return char if char.isprintable() else " "
        return _JSON_ESCAPED[code]

    return _JSON_ESCAPE.sub(one, text)


def _like_escape(text: str) -> str:
    """Make ``%`` and ``_`` in a user's query match themselves in LIKE ... ESCAPE '\\'."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
