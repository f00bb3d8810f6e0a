"""The checkpoint saver beside a trace file, and the graph compiled once per saver.
Checkpoints stay small: a thread keeps only its latest checkpoint (every step is still
saved, and a resume reads the latest), a finished thread can be deleted, and the space
goes back to the disk."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from sandlot.agents.graph.build import default_graph, graph_for
from sandlot.agents.graph.runtime import AgentConfig
from sandlot.agents.models.oracle import OracleModel
from sandlot.agents.models.scripted import ScriptedModel
from sandlot.agents.running.checkpoints import InlineSqliteSaver, checkpoint_path, open_checkpointer
from sandlot.agents.running.runner import run_episode
from sandlot.environments.tasks import Task
from sandlot.traces.store import TraceStore


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
