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
import weakref
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlite_utils

from sandlot.environments.sandbox.processes import process_alive, this_process_started
from sandlot.environments.trajectory import OUTCOMES, SUBMIT_TOOL
from sandlot.errors import ResumeError, UserError
from sandlot.traces.errors import TraceFileError
from sandlot.traces.files import check_writable, open_error
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
            # sum(), not total(): NULL when no call recorded a cost
            _from_events(
                "cost",
                "model_call",
                "sum(CASE WHEN json_valid(v.payload) THEN json_extract(v.payload, '$.cost_usd') END)",
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
    return process_alive(pid)


# The ids of this process's stores open for writing. A run or episode row names the store
# that writes it (``store_id``) beside its process (``pid``, ``pid_started``, ``host``):
# a row of this very process whose store has closed is no longer running.
_OPEN_STORES: set[str] = set()


def _owner_alive(
    pid: int | None, host: str | None, pid_started: float | None, store_id: str | None
) -> bool:
    """Whether the process (and, in this process, the store) writing a row still runs.
    Another host's process counts as alive: whether it runs cannot be known from here."""
    if host is not None and host != _HOST:
        return True
    if not process_alive(pid, running_at=pid_started):  # gone, or its pid reused since
        return False
    return pid != os.getpid() or store_id is None or store_id in _OPEN_STORES


def _still_running(what: str, pid: int | None, host: str | None) -> ResumeError:
    where = f"process {pid}" + ("" if host in (None, _HOST) else f" on {host}")
    if pid == os.getpid() and host in (None, _HOST):
        where += " (this process)"
    return ResumeError(
        f"{what} is still running in {where}; resuming it now would run its episodes twice. "
        "Wait for it to end, or stop it (a stopped or killed run can be resumed), then resume"
    )


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
        self._text = store.redactor.text
        # A recorder that continues an episode (start_seq > 0) first reads the messages
        # the episode stored before, so that none is stored twice.
        self._messages = MessageLog(
            episode_id, store.redactor, store._exec, store._rows, resumed=start_seq > 0
        )

    def emit(self, seq, parent, ts, kind, name, payload, duration) -> None:  # type: ignore[override]
        if kind in _NOTED_KINDS:
            self._messages.note_event(seq, kind, payload)
        # the name too: a tool's name is whatever the model asked for
        self._queue_event(
            (self.episode_id, seq, parent, ts, kind, self._text(name), self._json(payload))
            + (duration,)
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
        self.store_id: str | None = None
        if not readonly:
            check_writable(self.path)  # "read-only", and what to do, before SQLite says less
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise TraceFileError(
                    f"cannot create the folder of the trace {self.path} "
                    f"({exc.strerror or exc}); give a trace path (--db) in a writable folder"
                ) from exc
            self._columns = _prepare(self.path)
            try:
                self._writer = TraceWriter(
                    self.path, batch_size=batch_size, flush_interval=flush_interval
                )
            except sqlite3.Error as exc:
                raise open_error(self.path, exc) or TraceFileError(
                    f"cannot open the trace {self.path} for writing (SQLite says: {exc})"
                ) from exc
            self.store_id = _new_id()
            _OPEN_STORES.add(self.store_id)
            # a store dropped without close() stops owning its rows as well
            self._unregister = weakref.finalize(self, _OPEN_STORES.discard, self.store_id)
        super().__init__(self.path)
        if readonly:
            try:
                self._columns = {
                    t: {r["name"] for r in self._rows(f"PRAGMA table_info({t})")}
                    for t in ("runs", "episodes")
                }
            except sqlite3.DatabaseError as exc:
                super().close()
                raise TraceFileError(f"{self.path} is not a trace file ({exc})") from exc
            if not self._columns["runs"] or not self._columns["episodes"]:
                super().close()
                raise TraceFileError(
                    f"{self.path} is not a sandlot trace file (no runs or episodes table); "
                    "traces are written by `sandlot run --db FILE`"
                )

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

    def on_write_failure(self, callback: Callable[[BaseException], None]) -> Callable[[], None]:
        """Call ``callback(error)`` once when the file stops taking writes (disk full, I/O
        error, ...: see :mod:`sandlot.traces.writer`), from the writer's thread — or at once
        when it already has. Nothing more is written after such a failure. Returns a
        function that cancels the call."""
        return self._require_writer().on_failure(callback)

    @property
    def write_failure(self) -> BaseException | None:
        """The failure that stopped this store's writer, if any."""
        return None if self._writer is None else self._writer.stopped_by

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
            if self.store_id is not None:
                self._unregister()  # its rows no longer run, even when not marked so
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
            (run_id, time.time(), self._value(model), self._value(agent))
            + (self.redactor.json(config), os.getpid(), _HOST, n_tasks, epochs, parent_run, kind),
        )
        self._mark_owner("runs", run_id)
        self._own_runs.add(run_id)
        return run_id

    def update_run(self, run_id: str, **columns: Any) -> None:
        """Set columns of a run. Setting status 'running' makes this process its owner."""
        if columns.get("status") == "running":
            columns = {**columns, "pid": os.getpid(), "host": _HOST, "ended": None}
            columns.update(pid_started=this_process_started(), store_id=self.store_id)
        self._update("runs", run_id, columns, self._own_runs)

    def claim_run(self, run_id: str) -> None:
        """Make this store the owner of run ``run_id`` (status 'running') to go on with it —
        unless a live process runs it, or one of its episodes. The check and the claim are
        one transaction: of two resumes at once, one is refused.

        Raises:
            ResumeError: the run, or one of its episodes, is still running (the message
                names the process); or there is no such run.
        """
        self.flush()  # what this store queued comes first
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                run = conn.execute(
                    "SELECT status, pid, host, pid_started, store_id FROM runs WHERE id = ?",
                    (run_id,),
                ).fetchone()
                if run is None:
                    raise ResumeError(f"no run {run_id!r} in {self.path}")
                if run[0] == "running" and _owner_alive(*run[1:]):
                    raise _still_running(f"run {run_id}", run[1], run[2])
                for episode_id, *owner in conn.execute(
                    "SELECT id, pid, host, pid_started, store_id FROM episodes "
                    "WHERE run_id = ? AND status = 'running'",
                    (run_id,),
                ).fetchall():
                    if _owner_alive(*owner):
                        raise _still_running(f"episode {episode_id} of run {run_id}", *owner[:2])
                conn.execute(
                    "UPDATE runs SET status = 'running', ended = NULL, pid = ?, host = ?, "
                    "pid_started = ?, store_id = ? WHERE id = ?",
                    (os.getpid(), _HOST, this_process_started(), self.store_id, run_id),
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        finally:
            conn.close()
        self._own_runs.add(run_id)

    def _mark_owner(self, table: str, key: str) -> None:
        """Name this process's start time and this store beside a row's pid, so that a
        reused pid, or a store of this process that has closed, is not taken for a live
        owner (see ``_owner_alive``)."""
        self._exec(
            f"UPDATE {table} SET pid_started = ?, store_id = ? WHERE id = ?",
            (this_process_started(), self.store_id, key),
        )

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
                (run_id, self._value(t.id), self._value(t.environment))
                + (self.redactor.text(t.model_dump_json()),),
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
            (episode_id, run_id, self._value(task_id), epoch, time.time())
            + tuple(self._value(v) for v in (model, agent, environment))
            + (replay_of, thread_id or episode_id, os.getpid(), _HOST),
        )
        self._mark_owner("episodes", episode_id)
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
        self._mark_owner("episodes", episode_id)
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
        cost: float | None = None,
    ) -> None:
        """Record how an episode ended: its ``outcome`` (one of OUTCOMES, decided by
        :func:`sandlot.environments.trajectory.decide_outcome`) and what it spent; the
        lifecycle ``status`` and ``success`` follow from the outcome. ``cost`` is USD, when
        the model had a price."""
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
            **({"cost": cost} if cost is not None else {}),
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
                (episode_id, self._value(v["item_id"]), self._value(v.get("description")))
                + (self._value(v.get("kind")),)
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
    """Create or upgrade the schema and recover from dead processes; the tables' columns.

    Raises:
        TraceFileError: the file is not a trace, or it (or its folder) is read-only.
    """
    try:
        return _prepare_file(path)
    except sqlite3.Error as exc:
        error = open_error(path, exc)
        if error is None:
            raise
        raise error from exc


def _prepare_file(path: Path) -> dict[str, set[str]]:
    conn = sqlite3.connect(path, timeout=30)
    try:
        db = sqlite_utils.Database(conn)
        try:
            tables = set(db.table_names())
        except sqlite3.DatabaseError as exc:
            raise open_error(path, exc) or TraceFileError(
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
    """Runs and episodes left 'running' by a process that is gone (or by a store of this
    process that has closed) become 'interrupted'; such an episode is never a success.
    Another host's rows are left alone: whether that process lives cannot be known from
    here."""
    now = time.time()
    # an episode's own owner when it has one (it was started or resumed), else its run's
    episodes = conn.execute(
        "SELECT e.id, e.pid, e.host, e.pid_started, e.store_id, "
        "r.pid, r.host, r.pid_started, r.store_id FROM episodes e "
        "LEFT JOIN runs r ON r.id = e.run_id WHERE e.status = 'running'"
    ).fetchall()
    for episode_id, *owners in episodes:
        if not _owner_alive(*(owners[:4] if owners[0] is not None else owners[4:])):
            conn.execute(INTERRUPT_EPISODE_SQL, (now, episode_id))
    for run_id, *owner in conn.execute(
        "SELECT id, pid, host, pid_started, store_id FROM runs WHERE status = 'running'"
    ).fetchall():
        if not _owner_alive(*owner):
            conn.execute(
                "UPDATE runs SET status = 'interrupted', ended = ? WHERE id = ?", (now, run_id)
            )
