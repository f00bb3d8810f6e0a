"""Which run a resume continues, and under which agent config."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from sandlot.agents.after.replay import replay_episode
from sandlot.agents.after.rescore import rescore
from sandlot.agents.after.resume import ResumeError, resume_run
from sandlot.agents.graph.runtime import AgentConfig
from sandlot.agents.models import ScriptedModel
from sandlot.agents.running.runner import run, stored_agent_config
from sandlot.tools import tool
from sandlot.traces.store import TraceStore
from tests.agents.conftest import notes_task


def test_the_stored_config_comes_back_and_unknown_keys_are_ignored():
    run_row = {"agent": "single", "config": {"agent": {"agent": "single", "k": 2, "new": 1}}}
    assert stored_agent_config(run_row) == AgentConfig(agent="single", k=2)
    assert stored_agent_config({"agent": "single", "config": {}}) == AgentConfig(agent="single")


async def test_resume_continues_the_latest_run_of_tasks_under_its_own_config(tmp_path):
    db = tmp_path / "t.db"
    cfg = AgentConfig(k=1, max_model_calls=7)
    first = await run([notes_task("a"), notes_task("b")], model="oracle", db=db, agent=cfg)
    by_task = {e.task_id: e.episode_id for e in first.episodes}
    report = await replay_episode(db, by_task["a"])  # a later run, of kind "replay"
    assert report.matched
    with sqlite3.connect(db) as conn:  # as if the process died before "b" started
        conn.execute("DELETE FROM events WHERE episode_id = ?", (by_task["b"],))
        conn.execute("DELETE FROM episodes WHERE id = ?", (by_task["b"],))
    conn.close()

    resumed = await resume_run(db)
    assert resumed.run_id == first.run_id
    again = next(e for e in resumed.episodes if e.task_id == "b")
    assert again.success and again.episode_id != by_task["b"]
    with TraceStore(db) as store:
        offered = [
            e["payload"]["offered"] for e in store.events(again.episode_id, kinds=["retrieval"])
        ]
        assert offered and all(len(o) == 1 for o in offered)  # k=1, not the default 5
        with pytest.raises(ResumeError, match="is a replay"):
            await resume_run(db, run_id=store.episode(report.replay.episode_id)["run_id"])


async def test_work_lost_after_the_last_checkpoint_is_marked_not_counted_twice(tmp_path):
    db = tmp_path / "t.db"

    def model(slow: bool) -> ScriptedModel:
        def script(request):
            if request.step_index == 1:
                return {"tool": "submit_answer", "args": {"answer": "There is 1 note."}}
            if request.metadata["step_calls"]:
                return "Added."
            second = (
                {"tool": "hang", "args": {"query": "x"}}
                if slow
                else {
                    "tool": "list_notes",
                    "args": {},
                }
            )
            return [{"tool": "add_note", "args": {"text": "buy milk"}}, second]

        return ScriptedModel(script, plan=["add the note", "answer"])

    task = notes_task(
        checklist=[{"id": "once", "check": {"type": "called", "tool": "add_note", "max_times": 1}}]
    )
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

    first = asyncio.create_task(
        run([task], model=model(slow=True), db=db, env_options={"extra_tools": [hang]})
    )
    await started.wait()  # the batch's second call is running: stop there
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first

    resumed = await resume_run(db, model=model(slow=False))
    (ep,) = resumed.episodes
    assert ep.success and ep.tool_calls == 2
    with TraceStore(db) as store:
        kept = store.events(ep.episode_id, kinds=["tool_call"])
        everything = store.events(ep.episode_id, kinds=["tool_call"], include_superseded=True)
    assert [e["name"] for e in kept] == ["add_note", "list_notes", "submit_answer"]
    assert [e["name"] for e in everything].count("add_note") == 2  # the lost one is kept
    rescored = await rescore(db, [task], write=False)
    assert rescored[0].new_success is True  # add_note counted once
