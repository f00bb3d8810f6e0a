"""A run records the tools it added to its worlds; replay and resume rebuild the same
worlds from the trace alone."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from sandlot.agents.after.replay import replay_episode
from sandlot.agents.after.resume import resume_run
from sandlot.agents.running.runner import run
from sandlot.agents.running.world_options import stored_world_options, world_options
from sandlot.errors import UserError
from sandlot.registry import TOOLS
from sandlot.traces.store import TraceStore
from tests.agents.conftest import notes_task

PIN_TOOLS = '''
from sandlot.tools import ToolContext, tool


@tool
def pin_note(ctx: ToolContext, text: str) -> str:
    """Pin a note at the top of the notebook.

    Args:
        text: The note's text.
    """
    ctx.state["notes"].insert(0, text)
    return "pinned"
'''


def _pin_task(task_id: str):  # type: ignore[no-untyped-def]
    return notes_task(
        task_id,
        reference={"calls": [{"tool": "pin_note", "args": {"text": "call mum"}}], "answer": "1"},
        checklist=[
            {"id": "pinned", "check": {"type": "state", "contains": "call mum"}},
            {"id": "called", "check": {"type": "called", "tool": "pin_note"}},
        ],
    )


@pytest.fixture
def pin_file(tmp_path: Path) -> Path:
    path = tmp_path / "pin_tools.py"
    path.write_text(PIN_TOOLS)
    return path


def test_world_options_load_the_sources_and_say_what_to_record(pin_file):
    options, recorded = world_options({"tools": [str(pin_file)], "sandbox": "local"})
    assert options["sandbox"] == "local" and "tools" not in options
    assert [ts.names() for ts in options["extra_tools"]] == [["pin_note"]]
    assert recorded == {"tools": [str(pin_file)], "installed_tools": True}
    options, recorded = world_options({"installed_tools": False})
    assert options["extra_tools"] == [] and recorded["installed_tools"] is False


def test_stored_options_apply_unless_the_caller_names_tools():
    run_row = {"config": {"tools": {"tools": ["billing"], "installed_tools": False}}}
    assert stored_world_options(run_row, {"sandbox": "local"}) == {
        "sandbox": "local",
        "tools": ["billing"],
        "installed_tools": False,
    }
    assert stored_world_options(run_row, {"tools": ["other"]}) == {"tools": ["other"]}
    assert stored_world_options({"config": {}}, None) == {}  # a run recorded before tools


async def test_the_run_records_its_tools_and_replay_rebuilds_them(pin_file, tmp_path):
    db = tmp_path / "t.db"
    result = await run([_pin_task("p1")], model="oracle", db=db, env_options={"tools": [pin_file]})
    [episode] = result.episodes
    assert episode.success, episode.error
    with TraceStore(db) as store:
        config = store.run(result.run_id)["config"]
    assert config["tools"] == {"tools": [str(pin_file)], "installed_tools": True}

    report = await replay_episode(db, episode.episode_id)  # no tools given: the recorded ones
    assert report.matched, report.divergence
    assert report.replay.success


async def test_a_resume_adds_the_tools_its_run_recorded(pin_file, tmp_path):
    db = tmp_path / "t.db"
    tasks = [_pin_task("p1"), _pin_task("p2")]
    first = await run(tasks, model="oracle", db=db, env_options={"tools": [str(pin_file)]})
    lost = next(e.episode_id for e in first.episodes if e.task_id == "p2")
    with sqlite3.connect(db) as conn:  # as if the process died before "p2" started
        conn.execute("DELETE FROM events WHERE episode_id = ?", (lost,))
        conn.execute("DELETE FROM episodes WHERE id = ?", (lost,))
    conn.close()

    resumed = await resume_run(db)  # a new process would know only the trace
    again = next(e for e in resumed.episodes if e.task_id == "p2")
    assert again.success, again.error


async def test_installed_toolsets_reach_the_run_unless_it_opts_out(tmp_path):
    TOOLS.register("pins", str(tmp_path / "pin_tools.py"))  # not importable: must not load
    try:
        with pytest.raises(UserError, match="toolset 'pins'"):
            await run([notes_task()], model="oracle", db=tmp_path / "a.db")
        assert not (tmp_path / "a.db").exists()  # refused before a trace is made
        result = await run(
            [notes_task()],
            model="oracle",
            db=tmp_path / "b.db",
            env_options={"installed_tools": False},
        )
        assert result.episodes[0].success
    finally:
        TOOLS.unregister("pins")
