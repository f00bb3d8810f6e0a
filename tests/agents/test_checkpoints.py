"""The checkpoint saver beside a trace file, and the graph compiled once per saver."""

from __future__ import annotations

import sqlite3

from sandlot.agents.graph.build import default_graph, graph_for
from sandlot.agents.running.checkpoints import InlineSqliteSaver, checkpoint_path, open_checkpointer
from sandlot.agents.running.runner import run_episode
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
    # super-step is saved is tested in test_checkpoint_size.py)
    assert [c.checkpoint["id"] for c in history] == [latest.checkpoint["id"]]
    with sqlite3.connect(checkpoint_path(db)) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
