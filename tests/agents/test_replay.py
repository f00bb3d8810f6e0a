"""Replay tells the truth: a faithful re-execution matches exactly; a changed world
diverges at the right step; running out of recorded outputs, or ending with another
outcome or score, is a divergence; a resume writes back what the trace lost in a kill
(or marks the gap), and replay reports it."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from typer.testing import CliRunner

from sandlot.agents.after.replay import replay_episode
from sandlot.agents.after.resume import resume_run
from sandlot.agents.models import OracleModel
from sandlot.agents.running.runner import run
from sandlot.cli import app
from sandlot.environments.loader import load_tasks
from sandlot.traces.store import TraceStore

ROOT = Path(__file__).resolve().parents[2]
STORE = {t.id: t for t in load_tasks([ROOT / "examples/tasks/store"])}
TASK = STORE["store-orders-005"]


async def _cli(args: list[str]):  # type: ignore[no-untyped-def]
    """The command line, run off the test's event loop (it starts its own)."""
    return await asyncio.to_thread(CliRunner().invoke, app, args)


async def _recorded(tmp_path: Path) -> tuple[Path, str]:
    db = tmp_path / "t.db"
    result = await run([TASK], model="oracle", db=db)
    return db, result.episodes[0].episode_id


async def _recorded_tasks(tmp_path, task_ids):
    db = tmp_path / "t.db"
    result = await run([STORE[i] for i in task_ids], model="oracle", db=db)
    return db, {e.task_id: e.episode_id for e in result.episodes}


async def test_a_recording_that_runs_out_of_model_outputs_is_a_divergence(tmp_path):
    db, episode = await _recorded(tmp_path)
    conn = sqlite3.connect(db)
    conn.execute(
        "DELETE FROM events WHERE episode_id = ? AND seq = (SELECT max(seq) FROM events "
        "WHERE episode_id = ? AND kind = 'model_call')",
        (episode, episode),
    )
    conn.commit()
    conn.close()
    report = await replay_episode(db, episode)
    assert not report.matched
    assert report.divergence.kind == "model"
    assert "more 'execute' model outputs than the" in report.divergence.reason
    assert report.replay.outcome == "error"


async def test_another_outcome_or_score_than_recorded_is_a_divergence(tmp_path):
    db, episode = await _recorded(tmp_path)
    conn = sqlite3.connect(db)
    conn.execute("UPDATE episodes SET score = 0.5 WHERE id = ?", (episode,))
    conn.commit()
    conn.close()
    report = await replay_episode(db, episode)
    assert report.divergence is not None and report.divergence.kind == "score"
    assert (report.divergence.recorded, report.divergence.new) == ("0.5", "1.0")

    conn = sqlite3.connect(db)
    conn.execute("UPDATE episodes SET outcome = 'failed', score = 1.0 WHERE id = ?", (episode,))
    conn.commit()
    conn.close()
    out = await _cli(["replay", str(db), episode])
    assert out.exit_code == 1, out.output
    assert "the replay ended with another outcome" in out.output
    assert "matched the recording" not in out.output


async def test_a_faithful_replay_still_matches(tmp_path):
    db, episode = await _recorded(tmp_path)
    out = await _cli(["replay", str(db), episode])
    assert out.exit_code == 0, out.output
    assert "the replay matched the recording" in out.output


class _HangOnSecondExecute(OracleModel):
    """The oracle, except that its second executor call never returns."""

    def __init__(self) -> None:
        super().__init__()
        self.hung = asyncio.Event()
        self.executes = 0

    async def complete(self, request):  # type: ignore[no-untyped-def]
        if request.purpose == "execute":
            self.executes += 1
            if self.executes == 3:
                self.hung.set()
                await asyncio.Event().wait()  # until cancelled
        return await super().complete(request)


async def test_resume_writes_back_lost_calls_and_marks_the_gap_that_replay_reports(tmp_path):
    db = tmp_path / "t.db"
    model = _HangOnSecondExecute()
    running = asyncio.ensure_future(run([TASK], model=model, db=db, concurrency=1))
    await model.hung.wait()
    running.cancel()
    await asyncio.gather(running, return_exceptions=True)

    with TraceStore(db) as store:
        (row,) = store.episodes()
        assert row["outcome"] == "interrupted"
        events = store.events(row["id"])
    # a kill loses the batch not yet committed: drop a tool call and the node around it
    lost_call = next(e for e in events if e["kind"] == "tool_call")
    lost_node = next(e for e in events if e["kind"] == "node" and e["seq"] > lost_call["seq"])
    conn = sqlite3.connect(db)
    conn.execute(
        "DELETE FROM events WHERE episode_id = ? AND seq IN (?, ?)",
        (row["id"], lost_call["seq"], lost_node["seq"]),
    )
    conn.commit()
    conn.close()

    result = await resume_run(db)
    (episode,) = result.episodes
    assert episode.outcome == "passed"
    with TraceStore(db) as store:
        again = {e["seq"]: e for e in store.events(row["id"])}
        gaps = [e["payload"] for e in again.values() if e["kind"] == "gap"]
        row = store.episode(row["id"])
    # the checkpoint held the tool call: it is back, under its own number
    assert again[lost_call["seq"]]["kind"] == "tool_call"
    assert again[lost_call["seq"]]["payload"]["restored"] == "from the checkpoint"
    assert again[lost_call["seq"]]["payload"]["content"] == lost_call["payload"]["content"]
    # the node span was not in the checkpoint: a gap, said so
    assert len(gaps) == 1 and [lost_node["seq"], lost_node["seq"]] in gaps[0]["missing"]
    # the row counts what the record holds, once
    assert row["tool_calls"] == len(TASK.reference.calls)

    report = await replay_episode(db, episode.episode_id)
    assert report.gaps and report.gaps[0]["count"] == 1
    out = await _cli(["replay", str(db), episode.episode_id])
    assert "the recording has a gap" in out.output


async def test_replaying_an_oracle_episode_matches_exactly(tmp_path):
    db, ids = await _recorded_tasks(tmp_path, ["store-orders-005"])
    report = await replay_episode(db, ids["store-orders-005"])
    assert report.matched and report.compared == 3
    assert report.replay.success is True and report.replay.score == 1.0
    with TraceStore(db) as store:
        row = store.episode(report.replay.episode_id)
        assert row["replay_of"] == ids["store-orders-005"] and row["status"] == "done"
        # annotating the replay with its comparison leaves it finished and scored
        assert row["success"] == 1 and row["score"] == 1.0 and row["ended"] is not None
        assert store.run(row["run_id"])["kind"] == "replay"
        summary = [e for e in store.events(row["id"], kinds=["replay"]) if e["name"] == "summary"]
        assert summary[0]["payload"]["matched"] is True


async def test_a_changed_world_diverges_at_the_right_step(tmp_path):
    db, ids = await _recorded_tasks(tmp_path, ["store-orders-005"])
    # Change the world under the trace: order 1012 now reads as created a day earlier.
    # The first call (find the customer) is unaffected; the second (list orders) is not.
    conn = sqlite3.connect(db)
    task = STORE["store-orders-005"].model_copy(
        update={
            "initial_state": {"sql": ["UPDATE orders SET created = '2026-03-14' WHERE id = 1012"]}
        }
    )
    conn.execute(
        "UPDATE tasks SET definition = ? WHERE task_id = ?", (task.model_dump_json(), task.id)
    )
    conn.commit()
    conn.close()
    report = await replay_episode(db, ids["store-orders-005"])
    assert not report.matched
    d = report.divergence
    assert (d.index, d.tool) == (1, "list_customer_orders")
    assert "2026-03-15" in d.recorded and "2026-03-14" in d.new
    assert "content" in d.reason


def test_cli_replay_score_and_export(tmp_path):
    db, ids = asyncio.run(_recorded_tasks(tmp_path, ["store-lookup-001"]))
    runner = CliRunner()
    out = runner.invoke(app, ["replay", str(db), ids["store-lookup-001"]])
    assert out.exit_code == 0 and "matched" in out.output
    out = runner.invoke(
        app, ["score", str(db), "--tasks", str(ROOT / "examples/tasks/store/lookups.yaml")]
    )
    assert out.exit_code == 0 and "re-scored" in out.output
    html = tmp_path / "ep.html"
    out = runner.invoke(app, ["export", str(db), ids["store-lookup-001"], "--html", str(html)])
    assert out.exit_code == 0 and html.exists()
    out = runner.invoke(app, ["replay", str(db), "nope"])
    assert out.exit_code != 0 and "no episode" in out.output
