"""Demonstrations from past runs: selection, what is recorded, no leakage, faithful
resume and replay, and what they are worth to a model that follows them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sandlot.agents.after.replay import replay_episode
from sandlot.agents.after.resume import resume_run
from sandlot.agents.graph.demos import DemoSource, demo_text, rank_instructions, select_demos
from sandlot.agents.graph.prompts import DEMOS_HEADING
from sandlot.agents.running.runner import run, stored_agent_config
from sandlot.cli import app
from sandlot.environments.loader import load_tasks
from sandlot.testing.demo_following import DemoFollowingModel, parse_demos, swap_values
from sandlot.traces.query import TraceReader

STORE = Path(__file__).resolve().parents[2] / "examples" / "tasks" / "store"


def _store() -> list:
    return load_tasks(STORE)


def _by_id(ids: list[str]) -> list:
    tasks = {t.id: t for t in _store()}
    return [tasks[i] for i in ids]


def _demo_events(db: Path) -> dict[str, dict]:
    """Each episode's demonstrations payload, by task id."""
    with TraceReader(db) as reader:
        return {
            ep["task_id"]: e["payload"]
            for ep in reader.episodes()
            for e in reader.events(ep["id"], kinds=("demonstrations",), messages=False)
        }


@pytest.fixture(scope="module")
def oracle_db(tmp_path_factory) -> Path:
    """An oracle run of every other store task."""
    db = tmp_path_factory.mktemp("demos") / "oracle.db"
    import asyncio

    asyncio.run(run(_store()[0::2], model="oracle", db=db))
    return db


def test_bm25_over_instructions_ranks_shared_terms_first():
    docs = ["status of my order 1003", "update the phone number", "track my package"]
    ranked = rank_instructions("what is the status of order 1010", docs)
    assert ranked[0][0] == 0
    assert all(i != 1 for i, _ in ranked)  # nothing shared: not ranked


def test_a_demonstration_is_bounded():
    calls = [
        {"name": "get_order", "arguments": {"order_id": i}, "content": "x" * 500} for i in range(40)
    ]
    text = demo_text("Cancel everything", calls, "Done.", max_chars=600)
    assert len(text) <= 600
    assert "more calls not shown" in text
    assert text.startswith("Request: Cancel everything")


def test_the_follower_swaps_the_request_values():
    assert swap_values(1003, "status of order 1003?", "status of order 1010?") == 1010
    assert swap_values({"email": "a@x.org"}, "mail a@x.org, id 5", "mail b@y.org, id 6") == {
        "email": "b@y.org"
    }
    assert swap_values(104, "the hub", "the desk") == 104  # not in the request: kept


async def test_a_run_with_demos_shows_and_records_them(oracle_db, tmp_path):
    db = tmp_path / "with.db"
    targets = _store()[1::2][:4]
    result = await run(
        targets, model=DemoFollowingModel(), db=db, demos=DemoSource(str(oracle_db), k=2)
    )
    assert len(result.episodes) == 4
    shown = _demo_events(db)
    assert set(shown) == {t.id for t in targets}
    with TraceReader(oracle_db) as source:
        passed = {e["id"]: e["task_id"] for e in source.episodes() if e["outcome"] == "passed"}
    for payload in shown.values():
        assert payload["source"] == "oracle.db"
        assert 1 <= len(payload["episodes"]) <= 2
        assert [passed[e] for e in payload["episodes"]] == payload["task_ids"]
        assert payload["scores"] == sorted(payload["scores"], reverse=True)
    with TraceReader(db) as reader:
        run_row = reader.runs()[0]
        assert run_row["config"]["demos"]["path"] == str(oracle_db)
        assert run_row["config"]["agent"]["demos"]["k"] == 2
        episode = reader.episodes()[0]
        calls = [
            e
            for e in reader.events(episode["id"], kinds=("model_call",))
            if e["payload"]["purpose"] == "execute"
        ]
        sent = calls[0]["payload"]["messages"]
    block = [m for m in sent if str(m.get("content") or "").startswith(DEMOS_HEADING)]
    assert len(block) == 1 and len(block[0]["content"]) <= 2 * 1500 + 200
    assert parse_demos(sent)[0]["calls"]  # the follower reads the calls back


async def test_never_a_demonstration_of_the_same_task(tmp_path):
    db = tmp_path / "all.db"
    tasks = _by_id(["store-lookup-001", "store-lookup-002", "store-returns-001"])
    await run(tasks, model="oracle", db=db, epochs=2)
    found = select_demos(DemoSource(str(db), k=5), tasks[0].instruction, tasks[0].id)
    assert found and all(d.task_id != "store-lookup-001" for d in found)
    # one per task even when it passed twice
    assert len({d.task_id for d in found}) == len(found) == 2
    out = tmp_path / "out.db"
    await run(tasks[:1], model=DemoFollowingModel(), db=out, demos=DemoSource(str(db), k=5))
    assert "store-lookup-001" not in _demo_events(out)["store-lookup-001"]["task_ids"]


async def test_never_an_episode_of_the_run_being_recorded(tmp_path):
    db = tmp_path / "same.db"
    seed = _by_id(["store-lookup-001"])
    seeded = await run(seed, model="oracle", db=db)
    tasks = _by_id(["store-lookup-002", "store-lookup-005", "store-contact-001"])
    # the source is the run's own trace file; epoch 1 could see epoch 0's passes
    result = await run(
        tasks, model="oracle", db=db, epochs=2, concurrency=1, demos=DemoSource(str(db), k=3)
    )
    assert all(e.outcome == "passed" for e in result.episodes)
    with TraceReader(db) as reader:
        mine = {e["id"] for e in reader.episodes(result.run_id)}
        for ep in mine:
            (event,) = reader.events(ep, kinds=("demonstrations",), messages=False)
            assert set(event["payload"]["runs"]) <= {seeded.run_id}
            assert not set(event["payload"]["episodes"]) & mine
    # and selecting directly: the run's own episodes are left out by its id
    later = select_demos(
        DemoSource(str(db), k=5), "status of order 1003", "x", run_id=result.run_id
    )
    assert {d.run_id for d in later} == {seeded.run_id}


async def test_demonstrations_help_a_model_that_follows_them(tmp_path):
    source = tmp_path / "oracle.db"
    await run(_store()[1::2], model="oracle", db=source)
    targets = _store()[0::2]
    plain = await run(targets, model=DemoFollowingModel(), db=tmp_path / "plain.db")
    shown = await run(
        targets,
        model=DemoFollowingModel(),
        db=tmp_path / "demos.db",
        demos=DemoSource(str(source)),
    )
    without = sum(e.outcome == "passed" for e in plain.episodes)
    with_demos = sum(e.outcome == "passed" for e in shown.episodes)
    assert with_demos > without


async def test_a_resume_selects_the_same_demonstrations(oracle_db, tmp_path):
    source = tmp_path / "source.db"
    source.write_bytes(oracle_db.read_bytes())
    db = tmp_path / "run.db"
    targets = _store()[1::2][:3]
    first = await run(targets, model=DemoFollowingModel(), db=db, demos=DemoSource(str(source)))
    before = _demo_events(db)
    dropped = first.episodes[0]
    # the run lost one episode (never started), and the source file has grown since
    with sqlite3.connect(db) as conn:
        conn.execute("DELETE FROM events WHERE episode_id = ?", (dropped.episode_id,))
        conn.execute("DELETE FROM episodes WHERE id = ?", (dropped.episode_id,))
        conn.execute("UPDATE runs SET status = 'interrupted'")
    await run(_store()[1::2], model="oracle", db=source)
    with TraceReader(db) as reader:
        cfg = stored_agent_config(reader.runs()[0])
    assert cfg.demos is not None and cfg.demos.before is not None
    await resume_run(db, model=DemoFollowingModel())
    again = _demo_events(db)[dropped.task_id]
    assert again["episodes"] == before[dropped.task_id]["episodes"]


async def test_a_replay_of_an_episode_with_demos_matches(oracle_db, tmp_path):
    db = tmp_path / "run.db"
    result = await run(
        _by_id(["store-lookup-002"]),
        model=DemoFollowingModel(),
        db=db,
        demos=DemoSource(str(oracle_db)),
    )
    report = await replay_episode(db, result.episodes[0].episode_id)
    assert report.divergence is None
    with TraceReader(db) as reader:
        payloads = [
            e["payload"]["episodes"]
            for ep in reader.episodes()
            for e in reader.events(ep["id"], kinds=("demonstrations",), messages=False)
        ]
    assert len(payloads) == 2 and payloads[0] == payloads[1]


def test_the_cli_takes_demos_and_records_them(oracle_db, tmp_path):
    db = tmp_path / "cli.db"
    out = CliRunner().invoke(
        app,
        [
            "run",
            str(STORE / "lookups.yaml"),
            "--model",
            "oracle",
            "--db",
            str(db),
            "--demos",
            str(oracle_db),
            "--demos-k",
            "1",
            "-q",
        ],
    )
    assert out.exit_code == 0, out.output
    with TraceReader(db) as reader:
        assert reader.runs()[0]["config"]["demos"]["k"] == 1
    assert all(len(p["episodes"]) <= 1 for p in _demo_events(db).values())
    missing = CliRunner().invoke(
        app, ["run", str(STORE / "lookups.yaml"), "--demos", str(tmp_path / "nope.db")]
    )
    assert missing.exit_code != 0 and "no trace file" in missing.output
