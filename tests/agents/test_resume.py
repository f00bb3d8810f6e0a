"""Killing a run and resuming it: finished episodes kept, unfinished ones continue from
their last checkpoint, nothing counted twice; which run a resume continues, and under
which agent config."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

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

# A run whose third task blocks in its second model call until killed. The world is the
# store; the model is the oracle except that it hangs on the marked task.
SCRIPT = textwrap.dedent(
    """
    import asyncio, sys
    from sandlot.agents.models import OracleModel
    from sandlot.agents.running.runner import run
    from sandlot.environments.loader import load_tasks

    class HangingOracle(OracleModel):
        async def complete(self, request):
            calls = sum(len(m.get("tool_calls") or ()) for m in request.messages
                        if m.get("role") == "assistant")
            if request.task.id == sys.argv[2] and calls >= 1:
                print("HANGING", flush=True)
                await asyncio.sleep(3600)
            return await super().complete(request)

    tasks = [t for t in load_tasks(["examples/tasks/store"]) if len(t.reference.calls) >= 2
             and all(c.tool != "transfer_to_human_agent" for c in t.reference.calls)][:3]
    print("TASKS", " ".join(t.id for t in tasks), flush=True)
    asyncio.run(run(tasks, model=HangingOracle(), db=sys.argv[1], concurrency=1))
    """
)

ROOT = Path(__file__).resolve().parents[2]


def _start(db: Path, hang_on: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", SCRIPT, str(db), hang_on],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _task_ids() -> list[str]:
    from sandlot.environments.loader import load_tasks

    tasks = load_tasks([ROOT / "examples/tasks/store"])
    # tasks that end with an answer (not with a tool that ends the episode), in any order
    return [
        t.id
        for t in tasks
        if len(t.reference.calls) >= 2
        and all(c.tool != "transfer_to_human_agent" for c in t.reference.calls)
    ][:3]


def _until_committed(db: Path, task_id: str) -> None:
    """Wait until the trace writer has committed a tool call of the episode of
    ``task_id`` (it batches: an event reaches the file some time after it happened)."""
    sql = (
        "SELECT count(*) FROM events JOIN episodes ON events.episode_id = episodes.id "
        "WHERE episodes.task_id = ? AND events.kind = 'tool_call'"
    )
    deadline = time.monotonic() + 60  # a bound against a hang, not a timing assertion
    while time.monotonic() < deadline:
        with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn:
            try:
                if conn.execute(sql, (task_id,)).fetchone()[0] >= 1:
                    return
            except sqlite3.OperationalError:  # the tables are not created yet
                pass
        time.sleep(0.01)  # polling interval of the wait above, not a synchronisation
    raise AssertionError(f"no tool call of {task_id} was committed within 60 s")


async def test_killed_run_resumes_without_counting_an_episode_twice(tmp_path):
    ids = _task_ids()
    db = tmp_path / "traces.db"
    proc = _start(db, hang_on=ids[2])
    lines = []
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        lines.append(line)
        if "HANGING" in line or not line:
            break
    assert any("HANGING" in x for x in lines), "".join(lines)
    _until_committed(db, ids[2])  # the hung episode's first steps are in the database
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)

    # the database is readable and nothing unfinished is a success
    conn = sqlite3.connect(db)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    rows = dict(conn.execute("SELECT task_id, status FROM episodes").fetchall())
    bad = conn.execute("SELECT count(*) FROM episodes WHERE success = 1 AND status != 'done'")
    assert bad.fetchone()[0] == 0
    conn.close()
    assert rows[ids[0]] == "done" and rows[ids[1]] == "done"
    assert rows[ids[2]] == "running"  # as left by the killed process

    with TraceStore(db) as store:  # opening marks the orphan interrupted
        hung = next(e for e in store.episodes() if e["task_id"] == ids[2])
        assert hung["status"] == "interrupted" and not hung["success"]
        events_before = len(store.events(hung["id"]))

    result = await resume_run(db, model="oracle")
    by_task = {e.task_id: e for e in result.episodes}
    assert sorted(by_task) == sorted(ids)
    assert len(result.episodes) == 3  # nothing counted twice
    assert all(e.success for e in result.episodes), [(e.task_id, e.error) for e in result.episodes]

    with TraceStore(db) as store:
        episodes = store.episodes()
        assert len(episodes) == 3
        resumed = next(e for e in episodes if e["task_id"] == ids[2])
        assert resumed["id"] == hung["id"]  # continued, not restarted as a new episode
        assert resumed["status"] == "done" and resumed["success"] == 1
        events = store.events(resumed["id"])
        assert len(events) > events_before
        restore = [e for e in events if e["kind"] == "replay" and e["name"] == "resume"]
        assert restore and restore[0]["payload"]["restored"] >= 1
        assert restore[0]["payload"]["diverged"] == []
        seqs = [e["seq"] for e in events]
        assert len(seqs) == len(set(seqs))
        # the trace tells what the episode row counts: work the killed process did after
        # its last checkpoint is kept but marked, as the resume did it again
        kinds = [e["kind"] for e in events]
        assert kinds.count("model_call") == resumed["model_calls"]
        assert kinds.count("tool_call") == resumed["tool_calls"] + 1  # + submit_answer
        everything = store.events(resumed["id"], include_superseded=True)
        assert len(everything) >= len(events)


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
