"""The checkpoint saver beside a trace file, and the graph compiled once per saver.
Checkpoints stay small: a thread keeps only its latest checkpoint (every step is still
saved, and a resume reads the latest), a finished thread can be deleted, and the space
goes back to the disk."""

from __future__ import annotations

import asyncio
import contextlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from sandlot.agents.after.resume import resume_run
from sandlot.agents.graph.build import default_graph, graph_for
from sandlot.agents.graph.runtime import AgentConfig
from sandlot.agents.models.oracle import OracleModel
from sandlot.agents.models.scripted import ScriptedModel
from sandlot.agents.running.checkpoints import (
    InlineSqliteSaver,
    RedactingSerializer,
    checkpoint_path,
    open_checkpointer,
)
from sandlot.agents.running.runner import run, run_episode
from sandlot.environments.tasks import Task
from sandlot.environments.trajectory import ModelCallRecord
from sandlot.tools import tool
from sandlot.traces.redact import Redactor
from sandlot.traces.store import TraceStore
from tests.agents.conftest import notes_task


async def test_one_compiled_graph_per_checkpointer(tmp_path):
    async with open_checkpointer(tmp_path / "a.db") as a, open_checkpointer(tmp_path / "b.db") as b:
        assert isinstance(a, InlineSqliteSaver)
        assert graph_for(a) is graph_for(a)
        assert graph_for(a) is not graph_for(b)
        assert graph_for(a).checkpointer is a
    assert graph_for(None) is default_graph()


async def test_every_step_is_checkpointed_and_reads_back(tmp_path, task):
    db = tmp_path / "t.db"
    store = TraceStore(db)
    run_id = store.start_run(model="oracle", agent="plan-execute", config={})
    async with open_checkpointer(db) as saver:
        result = await run_episode(
            task, model="oracle", store=store, run_id=run_id, checkpointer=saver
        )
        config = {"configurable": {"thread_id": result.episode_id}}
        latest = await saver.aget_tuple(config)
        history = [c async for c in saver.alist(config)]
    store.close()
    assert result.success
    assert latest is not None and latest.checkpoint["channel_values"]["ended"] == "answered"
    # only the latest checkpoint is kept: a resume needs nothing older (that every
    # super-step is saved is tested below)
    assert [c.checkpoint["id"] for c in history] == [latest.checkpoint["id"]]
    with sqlite3.connect(checkpoint_path(db)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def _notes(n: int, text: str = "note") -> ScriptedModel:
    """A single-agent script of ``n`` model calls: n - 1 notes added, then the answer."""
    script: list[Any] = [
        {"tool": "add_note", "args": {"text": f"{text} {i}"}} for i in range(n - 1)
    ]
    script.append({"tool": "submit_answer", "args": {"answer": str(n - 1)}})
    return ScriptedModel(script)


async def _episode(
    db: Path, task: Task, model: Any, saver: InlineSqliteSaver, agent: str = "single"
) -> str:
    config = AgentConfig(agent=agent, max_model_calls=100)  # type: ignore[arg-type]
    task = task.model_copy(update={"max_tool_calls": 100})
    with TraceStore(db) as store:
        run_id = store.start_run(model=model.name, agent=agent, config={})
        result = await run_episode(
            task, model=model, agent=config, store=store, run_id=run_id, checkpointer=saver
        )
    assert result.status == "done", result  # ended by itself, not cut short
    return result.episode_id


def _rows(db: Path, sql: str, *params: Any) -> list[tuple[Any, ...]]:
    with contextlib.closing(sqlite3.connect(checkpoint_path(db))) as conn:
        return conn.execute(sql, params).fetchall()


def _stored_bytes(db: Path) -> int:
    (checkpoints,) = _rows(db, "SELECT coalesce(sum(length(checkpoint)), 0) FROM checkpoints")[0]
    (writes,) = _rows(db, "SELECT coalesce(sum(length(value)), 0) FROM writes")[0]
    return checkpoints + writes


async def test_a_thread_keeps_only_its_latest_checkpoint_yet_every_step_is_saved(
    tmp_path, task, monkeypatch
):
    db = tmp_path / "t.db"
    puts: list[str] = []
    original = InlineSqliteSaver.put

    def counting(self, config, checkpoint, metadata, new_versions):
        puts.append(checkpoint["id"])
        return original(self, config, checkpoint, metadata, new_versions)

    monkeypatch.setattr(InlineSqliteSaver, "put", counting)
    async with open_checkpointer(db) as saver:
        episode_id = await _episode(db, task, OracleModel(), saver, agent="plan-execute")
        config = {"configurable": {"thread_id": episode_id}}
        latest = await saver.aget_tuple(config)
        history = [c async for c in saver.alist(config)]
    assert latest is not None and latest.checkpoint["channel_values"]["ended"] == "answered"
    assert len(puts) >= 6  # input, planner, retriever, executor (twice), finish
    assert [c.checkpoint["id"] for c in history] == [puts[-1]] == [latest.checkpoint["id"]]
    assert _rows(db, "SELECT count(*) FROM checkpoints") == [(1,)]
    stale = _rows(db, "SELECT count(*) FROM writes WHERE checkpoint_id != ?", puts[-1])
    assert stale == [(0,)]


async def test_checkpoint_bytes_grow_linearly_with_the_conversation(tmp_path, task):
    sizes = {}
    for n in (20, 40):
        db = tmp_path / f"{n}.db"
        model = _notes(n, "a note long enough to weigh something in the state " * 3)
        async with open_checkpointer(db) as saver:
            await _episode(db, task, model, saver)
        assert len(model.requests) == n
        sizes[n] = _stored_bytes(db)
    # One checkpoint per step, each holding the whole conversation, made this 3.4.
    assert sizes[40] < 2.3 * sizes[20], sizes


async def test_deleting_a_finished_thread_removes_it_and_gives_the_space_back(tmp_path, task):
    db = tmp_path / "t.db"
    big = "x" * 200_000
    async with open_checkpointer(db) as saver:
        kept = await _episode(db, task, _notes(3), saver)
        gone = await _episode(db, task, _notes(4, big), saver)
        assert _stored_bytes(db) > 4 * len(big)  # the big notes are in the latest state
        saver.delete_thread(gone)
        assert await saver.aget_tuple({"configurable": {"thread_id": gone}}) is None
        assert await saver.aget_tuple({"configurable": {"thread_id": kept}}) is not None
        assert _rows(db, "SELECT count(*) FROM writes WHERE thread_id = ?", gone) == [(0,)]
    # closed: the freed pages are returned to the disk
    assert checkpoint_path(db).stat().st_size < 2 * len(big)
    assert _rows(db, "PRAGMA auto_vacuum") == [(2,)]  # incremental


async def test_delete_threads_deletes_many_at_once(tmp_path, task):
    db = tmp_path / "t.db"
    async with open_checkpointer(db) as saver:
        ids = [await _episode(db, task, _notes(2), saver) for _ in range(3)]
        saver.delete_threads(ids[:2])
        saver.delete_threads([])
        await saver.adelete_thread(ids[2])
    assert _rows(db, "SELECT count(*) FROM checkpoints") == [(0,)]


async def test_a_checkpoint_that_cannot_be_stored_leaves_the_previous_one(tmp_path, task):
    db = tmp_path / "t.db"
    async with open_checkpointer(db) as saver:
        episode_id = await _episode(db, task, _notes(2), saver)
        config = {"configurable": {"thread_id": episode_id}}
        before = saver.get_tuple(config)
        assert before is not None
        newer = {**before.checkpoint, "id": before.checkpoint["id"][:-1] + "f"}
        saver.serde = _Broken(saver.serde)
        with pytest.raises(RuntimeError, match="cannot serialize"):
            saver.put(
                {"configurable": {"thread_id": episode_id, "checkpoint_ns": ""}},
                newer,
                {},
                {},
            )
        saver.serde = saver.serde.inner
        after = saver.get_tuple(config)
    assert after is not None and after.checkpoint["id"] == before.checkpoint["id"]


class _Broken:
    def __init__(self, inner: Any) -> None:
        self.inner = inner

    def dumps_typed(self, obj: Any) -> Any:
        raise RuntimeError("cannot serialize this")

    def loads_typed(self, data: Any) -> Any:
        return self.inner.loads_typed(data)


# --- secrets -------------------------------------------------------------------------

KEY = "sk-ckpt-Hq4ZsecretVALUE-0a1b2c3d4e5f"


class _KeyedScript(ScriptedModel):
    """A scripted model whose key the endpoint echoes into everything it says."""

    def secrets(self) -> list[str]:
        return [KEY]


def _echoing_model(n_notes: int = 2) -> _KeyedScript:
    script: list[Any] = [
        {"tool": "add_note", "args": {"text": f"note {i} {KEY} {KEY.upper()} {KEY[::-1]}"}}
        for i in range(n_notes)
    ]
    script.append({"tool": "submit_answer", "args": {"answer": f"{n_notes} notes ({KEY})"}})
    return _KeyedScript(script)


def _checkpoint_bytes(db: Path) -> bytes:
    """Every byte of the checkpoint file and its -wal / -shm files."""
    return b"".join(
        p.read_bytes() for p in sorted(db.parent.iterdir()) if p.name.startswith(f"{db.name}-ch")
    )


async def test_checkpoints_and_their_writes_hold_none_of_the_runs_secrets(tmp_path, task):
    db = tmp_path / "t.db"
    task = task.model_copy(update={"max_tool_calls": 100})
    with TraceStore(db, secrets=[KEY]) as store:
        run_id = store.start_run(model="scripted", agent="single", config={})
        async with open_checkpointer(db, store.redactor) as saver:
            result = await run_episode(
                task,
                model=_echoing_model(),
                agent=AgentConfig(agent="single"),
                store=store,
                run_id=run_id,
                checkpointer=saver,
            )
            assert result.status == "done", result
            on_disk = _checkpoint_bytes(db)
            latest = await saver.aget_tuple({"configurable": {"thread_id": result.episode_id}})
    for form in (KEY, KEY.upper(), KEY[::-1]):
        assert form.encode() not in on_disk, form
    assert latest is not None
    state = latest.checkpoint["channel_values"]
    # what comes back is the state's own types, with the secret replaced
    records = state["tool_log"]
    assert [type(r).__name__ for r in records] == ["ToolCallRecord"] * 3
    assert records[0].arguments == {"text": "note 0 [REDACTED] [REDACTED] [REDACTED]"}
    assert state["answer"] == "2 notes ([REDACTED])"


def test_a_failed_tasks_error_write_and_the_metadata_are_redacted(tmp_path):
    async def scenario() -> None:
        db = tmp_path / "t.db"
        redactor = Redactor([KEY], from_environment=False)
        async with open_checkpointer(db, redactor) as saver:
            config = {"configurable": {"thread_id": "t1", "checkpoint_ns": ""}}
            checkpoint = {
                "v": 4,
                "id": "1f000000-0000-6000-8000-000000000001",
                "ts": "2026-01-01T00:00:00+00:00",
                "channel_values": {"messages": [{"role": "user", "content": KEY}]},
                "channel_versions": {},
                "versions_seen": {},
                "updated_channels": None,
            }
            stored = saver.put(config, checkpoint, {"source": "loop", "note": KEY}, {})
            error = RuntimeError(f"HTTP 401: Incorrect API key provided: Bearer {KEY}")
            saver.put_writes(stored, [("__error__", error), ("answer", KEY)], "task-1")
            back = saver.get_tuple(stored)
        assert back is not None
        assert back.metadata["note"] == "[REDACTED]"
        assert back.checkpoint["channel_values"]["messages"][0]["content"] == "[REDACTED]"
        assert [w[2] for w in back.pending_writes or []] == [
            "RuntimeError('HTTP 401: Incorrect API key provided: Bearer [REDACTED]')",
            "[REDACTED]",
        ]
        assert KEY.encode() not in _checkpoint_bytes(db)

    asyncio.run(scenario())


def test_the_serializer_changes_nothing_where_there_is_no_secret():
    redacting = RedactingSerializer(Redactor([KEY], from_environment=False))
    reference = JsonPlusSerializer()
    value = {
        "records": [ModelCallRecord(purpose="plan", content="fine", tool_calls=[{"id": "1"}])],
        "counts": {1: 2, "x": (1, 2.5, None, True)},
        "big": 2**63 + 5,
        "bytes": b"\x00\xff",
        "text": "caf\u00e9 \u2603",
    }
    assert redacting.dumps_typed(value) == reference.dumps_typed(value)
    secret = {**value, "records": [ModelCallRecord(purpose="plan", content=f"k={KEY}")]}
    kind, data = redacting.dumps_typed(secret)
    assert KEY.encode() not in data
    back = redacting.loads_typed((kind, data))
    assert back["records"] == [ModelCallRecord(purpose="plan", content="k=[REDACTED]")]
    assert back["counts"] == {1: 2, "x": [1, 2.5, None, True]}
    assert back["big"] == 2**63 + 5 and back["bytes"] == b"\x00\xff"
    assert reference.loads_typed((kind, data)) == back


async def test_an_episode_whose_checkpoint_was_redacted_resumes(tmp_path, monkeypatch):
    """The state never needs the secret: the episode continues from a redacted
    checkpoint."""
    monkeypatch.setenv("SANDLOT_TEST_API_KEY", KEY)  # a key of the environment
    db = tmp_path / "t.db"
    started = asyncio.Event()

    @tool
    async def hang(query: str) -> str:
        """Wait until cancelled.

        Args:
            query: Anything.
        """
        started.set()
        await asyncio.Event().wait()
        return query

    def model(slow: bool) -> ScriptedModel:
        def script(request: Any) -> Any:
            if request.step_index == 1:
                return {"tool": "submit_answer", "args": {"answer": "There is 1 note."}}
            if request.metadata["step_calls"]:
                return "Added."
            second = {"tool": "hang", "args": {"query": "x"}} if slow else {"tool": "list_notes"}
            return [{"tool": "add_note", "args": {"text": f"key {KEY}"}}, second]

        # the plan, in the state from the planner's step on, holds the key
        return ScriptedModel(script, plan=[f"add the note {KEY}", "answer"])

    first = asyncio.create_task(
        run([_task()], model=model(slow=True), db=db, env_options={"extra_tools": [hang]})
    )
    await started.wait()  # the batch's second call runs: stop there
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    assert _rows(db, "SELECT count(*) FROM checkpoints") == [(1,)]
    assert KEY.encode() not in _checkpoint_bytes(db)

    resumed = await resume_run(db, model=model(slow=False))
    (episode,) = resumed.episodes
    assert episode.success, episode.error
    with TraceStore(db) as store:
        final = store.episode(episode.episode_id)["final_state"]
    assert json.loads(final) == {"notes": ["key [REDACTED]"]}


def _task() -> Task:
    return notes_task(checklist=[{"id": "noted", "check": {"type": "state", "equals": 1}}])
