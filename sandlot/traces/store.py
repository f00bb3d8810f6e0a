"""The trace store: one SQLite file (WAL) with runs, episodes, events, checks and tasks.

All writes go through the batching :class:`~sandlot.traces.writer.TraceWriter`, so the
agent loop never waits on the disk; reads use their own connection, work while a run
writes, and first wait for what this store has queued (read-your-writes). Every payload
is redacted (:mod:`sandlot.traces.redact`) before it is queued. Opening a store marks
the runs and episodes of processes that died 'interrupted'; closing it marks its own
unfinished ones the same way.
"""

from __future__ import annotations

import os
import socket
import sqlite3
import time
import uuid
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlite_utils

from sandlot.environments.trajectory import OUTCOMES, SUBMIT_TOOL
from sandlot.errors import UserError
from sandlot.traces.errors import TraceFileError
from sandlot.traces.messages import MESSAGE_REFS, MessageLog
from sandlot.traces.query import TraceReader
from sandlot.traces.recorder import EpisodeRecorder
from sandlot.traces.redact import Redactor
from sandlot.traces.schema import SCHEMA_SQL, SCHEMA_VERSION
from sandlot.traces.summary import OUTCOME_SQL
from sandlot.traces.writer import TraceWriter

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.environments.tasks import Task

__all__ = ["StoreRecorder", "TraceStore", "pid_alive"]

_HOST = socket.gethostname()
_CHECK_KEYS = {
    "item_id",
    "description",
    "kind",
    "passed",
    "weight",
    "required",
    "evidence",
    "skipped_reason",
}


def _from_events(column: str, kind: str, value: str = "count(*)", where: str = "") -> str:
    return (
        f"{column} = (SELECT {value} FROM events v WHERE v.episode_id = episodes.id "
        f"AND v.kind = '{kind}' AND v.superseded IS NULL{where})"
    )


# json_valid first: one payload that is not JSON must not stop the whole update
# total(), a float, never overflows where sum() would fail the update (and the file's
# opening) on counts near 2**63; the cast back clamps
_TOKENS = (
    "CAST(total(CASE WHEN json_valid(v.payload) "
    "THEN json_extract(v.payload, '$.usage.{}') END) AS INTEGER)"
)
_NOT_SUBMIT = f" AND v.name != '{SUBMIT_TOOL}'"
# An episode that never finished: its outcome is 'interrupted' and its counters are what
# its trace events show (the events are the part of its record that reached the disk).
INTERRUPT_EPISODE_SQL = (
    "UPDATE episodes SET status = 'interrupted', outcome = 'interrupted', "
    "end_reason = 'interrupted', success = 0, ended = coalesce(ended, ?), "
    + ", ".join(
        [
            _from_events("model_calls", "model_call"),
            _from_events("tool_calls", "tool_call", where=_NOT_SUBMIT),
            _from_events(
                "tool_errors",
                "tool_call",
                where=_NOT_SUBMIT
                + " AND json_valid(v.payload) AND json_extract(v.payload, '$.ok') = 0",
            ),
            _from_events("prompt_tokens", "model_call", _TOKENS.format("prompt_tokens")),
            _from_events("completion_tokens", "model_call", _TOKENS.format("completion_tokens")),
            _from_events(
                "tokens",
                "model_call",
                _TOKENS.format("prompt_tokens") + " + " + _TOKENS.format("completion_tokens"),
            ),
        ]
    )
    + " WHERE id = ? AND status = 'running'"
)


# events whose long strings (a tool's output, the model's reply) messages refer to
_NOTED_KINDS = frozenset({"tool_call", "model_call"})


def _new_id() -> str:
    return uuid.uuid4().hex[:12]


def pid_alive(pid: int | None) -> bool:
    """Whether process ``pid`` runs on this machine (a zombie counts as dead)."""
    if not pid or pid < 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        return True
    try:  # killed but not yet reaped by its parent
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


class StoreRecorder(EpisodeRecorder):
    """Puts an episode's events on the store's writer queue; never blocks.

    The payload is encoded and redacted here, on the producer's thread: the writer
    thread then only runs SQL, and a secret never sits in the queue.
    """

    def __init__(self, store: TraceStore, episode_id: str, start_seq: int = 0) -> None:
        super().__init__(episode_id, start_seq)
        self._store = store
        self._queue_event = store._require_writer().event  # bound once: the hot path
        self._json = store.redactor.json
        # A recorder that continues an episode (start_seq > 0) first reads the messages
        # the episode stored before, so that none is stored twice.
        self._messages = MessageLog(
            episode_id, store.redactor, store._exec, store._rows, resumed=start_seq > 0
        )

    def emit(self, seq, parent, ts, kind, name, payload, duration) -> None:  # type: ignore[override]
        if kind in _NOTED_KINDS:
            self._messages.note_event(seq, kind, payload)
        self._queue_event(
            (self.episode_id, seq, parent, ts, kind, name, self._json(payload), duration)
        )
        self._store._dirty = True  # after the put: a concurrent read's flush then covers it

    def message_refs(self, messages: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
        """Store the messages this episode has not stored yet (each once, in the
        ``messages`` table) and return the reference a model_call payload carries:
        ``{"message_refs": [...]}`` (see :mod:`sandlot.traces.messages`)."""
        return {MESSAGE_REFS: self._messages.refs(messages)}

    def stored_seqs(self) -> set[int]:
        rows = self._store._rows("SELECT seq FROM events WHERE episode_id = ?", (self.episode_id,))
        return {r["seq"] for r in rows}

    def supersede(self, from_seq: int) -> None:
        if from_seq < self.start_seq:
            self._store._exec(
                "UPDATE events SET superseded = 1 WHERE episode_id = ? AND seq >= ? AND seq < ?",
                (self.episode_id, from_seq, self.start_seq),
            )


class TraceStore(TraceReader):
    """Write and read one trace file.

    Args:
        path: the SQLite file; created (with its folder and schema) when missing.
        secrets: values never to write (API keys); more with :meth:`add_secret`.
        batch_size: the most rows the writer commits in one transaction.
        flush_interval: the longest a row waits for its batch, in seconds.
        readonly: open for reading only (no writer thread; the file must exist).
    """

    def __init__(
        self,
        path: str | Path,
        *,
        secrets: Iterable[str] = (),
        batch_size: int = 1000,
        flush_interval: float = 0.05,
        readonly: bool = False,
    ) -> None:
        self.path = Path(path)
        self.readonly = readonly
        self.redactor = Redactor(secrets)
        self._writer: TraceWriter | None = None
        self._dirty = False
        self._own_runs: set[str] = set()
        self._own_episodes: set[str] = set()
        self._read = None
        if not readonly:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._columns = _prepare(self.path)
            self._writer = TraceWriter(
                self.path, batch_size=batch_size, flush_interval=flush_interval
            )
        super().__init__(self.path)
        if readonly:
            self._columns = {
                t: {r["name"] for r in self._rows(f"PRAGMA table_info({t})")}
                for t in ("runs", "episodes")
            }

    # --- plumbing ------------------------------------------------------------------------

    def _require_writer(self) -> TraceWriter:
        if self._writer is None:
            state = "open read-only" if self.readonly else "closed"
            raise PermissionError(
                f"the trace store {self.path} is {state}; open it with TraceStore(path) to write"
            )
        return self._writer

    def _exec(self, sql: str, params: Iterable[Any] = ()) -> None:
        self._require_writer().execute(sql, tuple(params))
        self._dirty = True

    def _rows(self, sql: str, params: Iterable[Any] = ()) -> list[dict[str, Any]]:
        # Read-your-writes: wait for what this store queued (errors are raised from
        # flush()/close(), not from reads, so a failed write never hides the trace).
        if self._dirty and self._writer is not None:
            self._dirty = False
            self._writer.flush(raise_error=False)
        return super()._rows(sql, params)

    def add_secret(self, value: str) -> None:
        """Redact ``value`` from every later payload (ignored when shorter than 8)."""
        self.redactor.add(value)

    def flush(self, timeout: float | None = None) -> None:
        """Block until everything queued so far is committed; raise the writer's error."""
        if self._writer is not None:
            self._writer.flush(timeout)

    def close(self) -> None:
        """Mark this store's unfinished runs and episodes 'interrupted', write everything
        queued, stop the writer and close. Idempotent."""
        writer, self._writer = self._writer, None
        try:
            if writer is not None and not writer.closed:
                now = time.time()
                for key in sorted(self._own_episodes):
                    writer.execute(INTERRUPT_EPISODE_SQL, (now, key))
                for key in sorted(self._own_runs):
                    writer.execute(
                        "UPDATE runs SET status = 'interrupted', ended = ? WHERE id = ? AND status = 'running'",
                        (now, key),
                    )
                writer.close()
        finally:
            super().close()

    def __enter__(self) -> TraceStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- runs and tasks ------------------------------------------------------------------

    def start_run(
        self,
        *,
        model: str,
        agent: str,
        config: dict[str, Any],
        n_tasks: int = 0,
        epochs: int = 1,
        kind: str = "run",
        parent_run: str | None = None,
        run_id: str | None = None,
    ) -> str:
        """Record a new run (status 'running', this process's pid and host); its id."""
        run_id = run_id or f"r-{time.strftime('%Y%m%d-%H%M%S')}-{uuid.uuid4().hex[:6]}"
        self._exec(
            "INSERT INTO runs (id, started, status, model, agent, config, pid, host, n_tasks, "
            "epochs, parent_run, kind) VALUES (?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (run_id, time.time(), model, agent, self.redactor.json(config), os.getpid(), _HOST)
            + (n_tasks, epochs, parent_run, kind),
        )
        self._own_runs.add(run_id)
        return run_id

    def update_run(self, run_id: str, **columns: Any) -> None:
        """Set columns of a run. Setting status 'running' makes this process its owner."""
        if columns.get("status") == "running":
            columns = {**columns, "pid": os.getpid(), "host": _HOST, "ended": None}
        self._update("runs", run_id, columns, self._own_runs)

    def finish_run(self, run_id: str, status: str = "done") -> None:
        self._exec(
            "UPDATE runs SET status = ?, ended = ? WHERE id = ?", (status, time.time(), run_id)
        )
        self._own_runs.discard(run_id)

    def save_tasks(self, run_id: str, tasks: Iterable[Task]) -> None:
        """Store each Task as run (``definition`` is its JSON, known secrets redacted)."""
        for t in tasks:
            self._exec(
                "INSERT OR REPLACE INTO tasks (run_id, task_id, environment, definition) VALUES (?, ?, ?, ?)",
                (run_id, t.id, t.environment, self.redactor.text(t.model_dump_json())),
            )

    # --- episodes ------------------------------------------------------------------------

    def start_episode(
        self,
        run_id: str,
        task_id: str,
        *,
        epoch: int = 0,
        model: str = "",
        agent: str = "",
        environment: str = "",
        replay_of: str | None = None,
        thread_id: str | None = None,
        episode_id: str | None = None,
    ) -> StoreRecorder:
        """Record a new episode (status 'running'); returns the recorder for its events."""
        episode_id = episode_id or _new_id()
        recorder = StoreRecorder(self, episode_id)
        self._exec(
            "INSERT INTO episodes (id, run_id, task_id, epoch, status, started, model, agent, "
            "environment, replay_of, thread_id, pid, host) "
            "VALUES (?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?, ?, ?)",
            (episode_id, run_id, task_id, epoch, time.time(), model, agent, environment)
            + (replay_of, thread_id or episode_id, os.getpid(), _HOST),
        )
        self._own_episodes.add(episode_id)
        return recorder

    def resume_episode(self, episode_id: str, *, reopen: bool = True) -> StoreRecorder:
        """A recorder continuing an episode's numbering after its last stored event.

        With ``reopen`` (to run the episode on) it reads 'running' again, unscored and
        owned by this process; without, it keeps its status, score and end (to annotate a
        finished episode, as replay does)."""
        self.flush()
        if self.episode(episode_id) is None:
            raise KeyError(f"no episode {episode_id!r} in {self.path}")
        last = self._rows("SELECT max(seq) AS seq FROM events WHERE episode_id = ?", (episode_id,))[
            0
        ]["seq"]
        recorder = StoreRecorder(self, episode_id, start_seq=0 if last is None else last + 1)
        if not reopen:
            return recorder
        self._exec(
            "UPDATE episodes SET status = 'running', success = NULL, ended = NULL, pid = ?, host = ? WHERE id = ?",
            (os.getpid(), _HOST, episode_id),
        )
        self._own_episodes.add(episode_id)
        return recorder

    def finish_episode(
        self,
        episode_id: str,
        *,
        outcome: str,
        end_reason: str | None = None,
        score: float | None = None,
        steps: int = 0,
        model_calls: int = 0,
        tool_calls: int = 0,
        tool_errors: int = 0,
        prompt_tokens: int = 0,
        completion_tokens: int = 0,
        error: str | None = None,
        answer: str | None = None,
        final_state: dict[str, Any] | None = None,
        sandbox_backend: str | None = None,
        duration: float | None = None,
    ) -> None:
        """Record how an episode ended: its ``outcome`` (one of OUTCOMES, decided by
        :func:`sandlot.environments.trajectory.decide_outcome`) and what it spent; the
        lifecycle ``status`` and ``success`` follow from the outcome."""
        self.update_episode(
            episode_id,
            outcome=outcome,
            end_reason=end_reason,
            score=score,
            steps=steps,
            model_calls=model_calls,
            tool_calls=tool_calls,
            tool_errors=tool_errors,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            tokens=(prompt_tokens or 0) + (completion_tokens or 0),
            error=error,
            answer=answer,
            final_state=final_state,
            sandbox_backend=sandbox_backend,
            duration=duration,
            ended=time.time(),
        )

    def update_episode(self, episode_id: str, **columns: Any) -> None:
        """Set columns of an episode (dicts and lists stored as JSON, text redacted).

        ``success`` and the lifecycle ``status`` of a finished episode are never set
        alone: they follow from ``outcome`` (only 'passed' is a success).
        """
        if "success" in columns:
            raise UserError(
                "set the episode's outcome (passed, failed, ...), not success: success "
                "follows from the outcome"
            )
        if "outcome" in columns:
            outcome = columns["outcome"]
            if outcome not in OUTCOMES:
                raise UserError(f"unknown outcome {outcome!r}; use one of {', '.join(OUTCOMES)}")
            columns["success"] = int(outcome == "passed")
            columns["status"] = outcome if outcome in ("error", "interrupted") else "done"
        self._update("episodes", episode_id, columns, self._own_episodes)

    def _update(self, table: str, key: str, columns: dict[str, Any], owned: set[str]) -> None:
        if not columns:
            return
        unknown = sorted(set(columns) - self._columns[table])
        if unknown:
            raise UserError(
                f"{table} has no column(s) {', '.join(unknown)}; known: {', '.join(sorted(self._columns[table]))}"
            )
        sets = [f"{name} = ?" for name in columns]
        values = [self._value(value) for value in columns.values()]
        self._exec(f"UPDATE {table} SET {', '.join(sets)} WHERE id = ?", (*values, key))
        if "status" in columns:
            (owned.add if columns["status"] == "running" else owned.discard)(key)

    def _value(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.redactor.text(value)
        if isinstance(value, int):  # SQLite's INTEGER is 64-bit: clamped, never a lost row
            return min(max(value, -(2**63)), 2**63 - 1)
        if value is None or isinstance(value, float | bytes):
            return value
        return self.redactor.json(value)

    # --- checks --------------------------------------------------------------------------

    def add_checks(self, episode_id: str, verdicts: Iterable[dict[str, Any]]) -> None:
        """Store checklist verdicts (keys: item_id, description, kind, passed, weight,
        required, evidence, skipped_reason; ``passed`` None means skipped)."""
        now = time.time()
        rows = []
        for i, v in enumerate(verdicts):
            if not isinstance(v, dict) or not v.get("item_id"):
                raise UserError(
                    f"check verdict #{i} for episode {episode_id} needs an 'item_id': {v!r}"
                )
            unknown = sorted(set(v) - _CHECK_KEYS)
            if unknown:
                raise UserError(
                    f"check verdict {v['item_id']!r} for episode {episode_id} has unknown key(s) "
                    f"{', '.join(unknown)}; known: {', '.join(sorted(_CHECK_KEYS))}"
                )
            passed = v.get("passed")
            rows.append(
                (episode_id, v["item_id"], self._value(v.get("description")), v.get("kind"))
                + (None if passed is None else int(bool(passed)), v.get("weight", 1.0))
                + (int(bool(v.get("required", True))), self.redactor.json(v.get("evidence")))
                + (self._value(v.get("skipped_reason")), now)
            )
        for row in rows:  # validated first: a bad verdict writes none of them
            self._exec(
                "INSERT INTO checks (episode_id, item_id, description, kind, passed, weight, "
                "required, evidence, skipped_reason, scored_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row,
            )

    def replace_checks(self, episode_id: str, verdicts: Iterable[dict[str, Any]]) -> None:
        """Replace an episode's verdicts (re-scoring); one batch, so never half-replaced
        unless a crash splits the batch boundary."""
        verdicts = list(verdicts)
        self._exec("DELETE FROM checks WHERE episode_id = ?", (episode_id,))
        self.add_checks(episode_id, verdicts)


# --- opening a file ------------------------------------------------------------------------


def _prepare(path: Path) -> dict[str, set[str]]:
    """Create or upgrade the schema and recover from dead processes; the tables' columns."""
    conn = sqlite3.connect(path, timeout=30)
    try:
        db = sqlite_utils.Database(conn)
        try:
            tables = set(db.table_names())
        except sqlite3.DatabaseError as exc:
            raise TraceFileError(
                f"{path} is not a trace file (SQLite says: {exc}); give a new or existing trace path"
            ) from exc
        if tables and not tables & {"meta", "runs"}:
            # another program's database: adding our tables to it is not ours to do
            raise TraceFileError(
                f"{path} is an SQLite database of something else (tables: "
                f"{', '.join(sorted(tables)[:5])}); give a new or existing trace path"
            )
        db.enable_wal()
        conn.execute("PRAGMA synchronous=NORMAL")
        _add_missing_columns(db)
        conn.executescript(SCHEMA_SQL)
        with conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES ('schema_version', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = max(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
                (str(SCHEMA_VERSION),),
            )
            _recover(conn)
            # rows from before the outcome column: theirs, from status, success and error
            conn.execute(
                f"UPDATE episodes SET outcome = {OUTCOME_SQL} "
                "WHERE outcome IS NULL AND status != 'running'"
            )
        return {t: set(db[t].columns_dict) for t in ("runs", "episodes")}
    finally:
        conn.close()


def _add_missing_columns(db: sqlite_utils.Database) -> None:
    """Files written by an older sandlot lack columns added since: add them."""
    want = sqlite_utils.Database(memory=True)
    want.conn.executescript(SCHEMA_SQL)
    for table in want.table_names():
        if not db[table].exists():
            continue
        have = set(db[table].columns_dict)
        for column in want[table].columns:
            if column.name not in have:
                default = "" if column.default_value is None else f" DEFAULT {column.default_value}"
                db.execute(
                    f"ALTER TABLE [{table}] ADD COLUMN [{column.name}] {column.type}{default}"
                )


def _recover(conn: sqlite3.Connection) -> None:
    """Runs and episodes left 'running' by a process that is gone become 'interrupted';
    such an episode is never a success. Another host's rows are left alone: whether that
    process lives cannot be known from here."""
    now = time.time()

    def dead(pid: int | None, host: str | None) -> bool:
        return (host is None or host == _HOST) and not pid_alive(pid)

    episodes = conn.execute(
        "SELECT e.id, coalesce(e.pid, r.pid), coalesce(e.host, r.host) FROM episodes e "
        "LEFT JOIN runs r ON r.id = e.run_id WHERE e.status = 'running'"
    ).fetchall()
    for episode_id, pid, host in episodes:
        if dead(pid, host):
            conn.execute(INTERRUPT_EPISODE_SQL, (now, episode_id))
    for run_id, pid, host in conn.execute(
        "SELECT id, pid, host FROM runs WHERE status = 'running'"
    ).fetchall():
        if dead(pid, host):
            conn.execute(
                "UPDATE runs SET status = 'interrupted', ended = ? WHERE id = ?", (now, run_id)
            )
