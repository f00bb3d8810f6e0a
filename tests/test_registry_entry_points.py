"""Extensions published by installed packages reach every command, in a new process.

Each test builds a tiny installed distribution in tmp_path — a ``*.dist-info``
directory with ``entry_points.txt``, which is all ``importlib.metadata`` reads — puts
it on ``PYTHONPATH`` and runs the ``sandlot`` command in a subprocess, as a user would
after ``pip install``. The world is the one docs/guides/world.md builds
(examples/custom_world).
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sandlot.traces.store import TraceStore

ROOT = Path(__file__).resolve().parents[1]
WORLD_DIR = ROOT / "examples" / "custom_world"


def _distribution(site: Path, name: str, version: str, entry_points: str) -> Path:
    info = site / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(entry_points)
    return site


def _sandlot(args: list[str], *paths: Path, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*(str(p) for p in paths), str(ROOT)])
    env["COLUMNS"] = "200"
    return subprocess.run(
        [sys.executable, "-m", "sandlot.cli", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.fixture
def greenhouse(tmp_path: Path) -> tuple[Path, Path]:
    """A distribution publishing the greenhouse world, and the world's module dir."""
    site = _distribution(
        tmp_path / "site",
        "sandlot-greenhouse",
        "1.0",
        "[sandlot.worlds]\ngreenhouse = greenhouse:GreenhouseEnvironment\n",
    )
    return site, WORLD_DIR


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    """A distribution whose world's module does not exist."""
    return _distribution(
        tmp_path / "broken-site",
        "broken-world",
        "0.1",
        "[sandlot.worlds]\nbroken = no_such_module_4711:World\n",
    )


def test_worlds_list_shows_an_entry_point_world_and_where_it_came_from(greenhouse):
    out = _sandlot(["worlds", "list"], *greenhouse)
    assert out.returncode == 0, out.stderr
    assert "store: builtin" in out.stdout and "workspace: builtin" in out.stdout
    assert (
        "greenhouse: entry point 'greenhouse:GreenhouseEnvironment' "
        "(group sandlot.worlds, distribution sandlot-greenhouse 1.0)"
    ) in out.stdout
    assert "A greenhouse: list the plants and water them." in out.stdout


def test_the_old_entry_point_group_still_names_worlds(tmp_path):
    site = _distribution(
        tmp_path / "site",
        "old-greenhouse",
        "2.0",
        "[sandlot.environments]\ngreenhouse = greenhouse:GreenhouseEnvironment\n",
    )
    out = _sandlot(["worlds", "list"], site, WORLD_DIR)
    assert out.returncode == 0, out.stderr
    assert "(group sandlot.environments, distribution old-greenhouse 2.0)" in out.stdout


def test_tools_list_resolves_an_entry_point_world(greenhouse):
    out = _sandlot(["tools", "list", "--env", "greenhouse"], *greenhouse)
    assert out.returncode == 0, out.stderr
    assert "water_plant" in out.stdout and "list_plants" in out.stdout


def test_tasks_validate_resolves_an_entry_point_world(greenhouse):
    out = _sandlot(["tasks", "validate", str(WORLD_DIR / "tasks")], *greenhouse)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "2 tasks OK (2 greenhouse)" in out.stdout


def test_run_resolves_an_entry_point_world(greenhouse, tmp_path):
    db = tmp_path / "traces.db"
    args = ["run", str(WORLD_DIR / "tasks"), "--model", "oracle", "--db", str(db), "-q"]
    out = _sandlot([*args, "--strict"], *greenhouse)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "greenhouse-001" in out.stdout and "greenhouse-002" in out.stdout


def test_a_world_that_fails_to_import_is_a_clear_message_not_a_traceback(broken):
    message = (
        "world 'broken' from entry point 'no_such_module_4711:World' (group sandlot.worlds, "
        "distribution broken-world 0.1) failed to import: ModuleNotFoundError"
    )
    listed = _sandlot(["worlds", "list"], broken)
    assert listed.returncode == 2, listed.stdout + listed.stderr
    assert message in listed.stdout
    assert "store: builtin" in listed.stdout  # the others are still listed
    tools = _sandlot(["tools", "list", "--env", "broken"], broken)
    assert tools.returncode == 2, tools.stdout + tools.stderr
    assert message in " ".join((tools.stdout + tools.stderr).split())
    for out in (listed, tools):
        assert "Traceback" not in out.stdout + out.stderr


def test_a_model_provider_from_an_entry_point_is_listed_and_broken_ones_say_why(tmp_path):
    site = _distribution(
        tmp_path / "site",
        "more-models",
        "3.1",
        "[sandlot.models]\nnowhere = no_such_module_4712:provider\n",
    )
    out = _sandlot(["models", "list"], site)
    assert out.returncode == 2, out.stdout + out.stderr
    assert "oracle: builtin" in out.stdout
    assert (
        "model provider 'nowhere' from entry point 'no_such_module_4712:provider' "
        "(group sandlot.models, distribution more-models 3.1) failed to import"
    ) in out.stdout
    run = _sandlot(["run", "examples/tasks/store", "--model", "nowhere:x", "-q"], site)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert "failed to import: ModuleNotFoundError" in " ".join(run.stderr.split())


COUPON_TOOLS = """
from sandlot.tools import ToolContext, Toolset, tool


@tool
def coupon_value(ctx: ToolContext, code: str) -> int:
    \"\"\"The discount a coupon code gives, in percent.

    Args:
        code: The coupon code.
    \"\"\"
    return 10 if code == "SPRING10" else 0


TOOLSET = Toolset("coupons", [coupon_value], worlds=["store"])
"""

COUPON_TASK = """
environment: store
tasks:
  - id: coupon-1
    instruction: "How much does the coupon SPRING10 take off?"
    reference:
      calls: [{tool: coupon_value, args: {code: SPRING10}}]
      answer: "10 percent."
    checklist:
      - {id: looked, description: "Looked the coupon up", check: {type: called, tool: coupon_value}}
      - {id: says, description: "Says 10", check: {type: answer, match: contains, value: "10"}}
"""


@pytest.fixture
def coupons(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A distribution publishing a store-only toolset; its module dir; a task using it."""
    site = _distribution(
        tmp_path / "site",
        "sandlot-coupons",
        "0.3",
        "[sandlot.tools]\ncoupons = coupon_tools:TOOLSET\n",
    )
    code = tmp_path / "code"
    code.mkdir()
    (code / "coupon_tools.py").write_text(COUPON_TOOLS)
    tasks = tmp_path / "coupons.yaml"
    tasks.write_text(COUPON_TASK)
    return site, code, tasks


def test_installed_tools_reach_tools_list_for_the_worlds_they_are_for(coupons):
    site, code, _ = coupons
    listed = _sandlot(["tools", "list", "--env", "store"], site, code)
    assert listed.returncode == 0, listed.stderr
    assert "coupon_value" in listed.stdout and "get_order" in listed.stdout
    without = _sandlot(["tools", "list", "--env", "store", "--no-installed-tools"], site, code)
    assert without.returncode == 0 and "coupon_value" not in without.stdout
    other = _sandlot(["tools", "list", "--env", "workspace"], site, code)
    assert other.returncode == 0 and "coupon_value" not in other.stdout


def test_tasks_validate_knows_the_installed_tools(coupons):
    site, code, tasks = coupons
    ok = _sandlot(["tasks", "validate", str(tasks)], site, code)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "1 tasks OK (1 store)" in ok.stdout
    refused = _sandlot(["tasks", "validate", str(tasks), "--no-installed-tools"], site, code)
    assert refused.returncode == 2
    assert "no tool 'coupon_value'" in refused.stdout + refused.stderr


def test_run_and_replay_in_new_processes_use_the_installed_tools(coupons, tmp_path):
    site, code, tasks = coupons
    db = tmp_path / "traces.db"
    out = _sandlot(
        ["run", str(tasks), "--model", "oracle", "--db", str(db), "-q", "--strict"], site, code
    )
    assert out.returncode == 0, out.stdout + out.stderr
    with TraceStore(db) as store:
        [episode] = store.episodes()
    replayed = _sandlot(["replay", str(db), episode["id"]], site, code)
    assert replayed.returncode == 0, replayed.stdout + replayed.stderr
    assert "matched" in replayed.stdout


def test_a_broken_installed_toolset_is_a_usage_error_naming_it(tmp_path):
    site = _distribution(
        tmp_path / "site", "broken-tools", "0.2", "[sandlot.tools]\nbroken = no_such_module_4714\n"
    )
    out = _sandlot(["tools", "list", "--env", "store"], site)
    assert out.returncode == 2, out.stdout + out.stderr
    text = " ".join((out.stdout + out.stderr).split())
    assert "toolset 'broken'" in text and "broken-tools 0.2" in text
    assert "Traceback" not in text
    assert (
        _sandlot(["tools", "list", "--env", "store", "--no-installed-tools"], site).returncode == 0
    )


EXTENSIONS = """
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from custom_sandbox import scratch_backend
from sandlot.tools import ToolContext, Toolset, tool
from tests.agents.hanging import HangingOracle


@tool
def mist_plant(ctx: ToolContext, plant: str) -> str:
    \"\"\"Mist a plant's leaves (no water counted).

    Args:
        plant: The plant to mist.
    \"\"\"
    return f"misted {plant}"


TOOLSET = Toolset("misting", [mist_plant], worlds=["greenhouse"])


class Short(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: Literal["short_answer"] = "short_answer"
    max_words: int


class ShortAnswer:
    model: ClassVar[type[BaseModel]] = Short

    def evaluate(self, check: Short, context: Any) -> tuple[bool, Any]:
        words = len((context.trajectory.answer or "").split())
        return 0 < words <= check.max_words, {"words": words}


SHORT = ShortAnswer()


def hang(rest: str, **options: object) -> HangingOracle:
    return HangingOracle(rest)


def scratch(limits=None, *, run_id: str = ""):
    return scratch_backend(limits, run_id=run_id)
"""

EXTENSION_TASKS = """
environment: greenhouse
tasks:
  - id: mist-1
    instruction: "Mist the basil."
    reference:
      calls: [{tool: mist_plant, args: {plant: basil}}]
      answer: "Misted the basil."
    checklist:
      - {id: misted, description: "Misted", check: {type: called, tool: mist_plant}}
      - {id: short, description: "Short", check: {type: short_answer, max_words: 5}}
"""

EXTENSION_WORKSPACE_TASKS = """
environment: workspace
tasks:
  - id: ws-note
    instruction: "Write hello to note.txt."
    reference:
      calls: [{tool: write_file, args: {path: note.txt, content: hello}}]
      answer: "Wrote note.txt."
    checklist:
      - {id: note, description: "note.txt says hello", check: {type: state, file: note.txt, equals: hello}}
      - {id: short, description: "Short", check: {type: short_answer, max_words: 5}}
"""


def _committed_tool_call(db: Path, task_id: str) -> bool:
    sql = (
        "SELECT count(*) FROM events JOIN episodes ON events.episode_id = episodes.id "
        "WHERE episodes.task_id = ? AND events.kind = 'tool_call'"
    )
    with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn:
        try:
            return conn.execute(sql, (task_id,)).fetchone()[0] >= 1
        except sqlite3.OperationalError:  # the tables are not created yet
            return False


def test_resume_score_and_replay_in_new_processes_resolve_every_extension_kind(tmp_path):
    """A world, a toolset, a check kind, a model provider and a sandbox backend, all
    published by an installed distribution: a run killed mid-episode is resumed, scored
    and replayed by new processes that know them only through their entry points."""
    site = _distribution(
        tmp_path / "site",
        "sandlot-everything",
        "1.0",
        "[sandlot.worlds]\ngreenhouse = greenhouse:GreenhouseEnvironment\n"
        "[sandlot.tools]\nmisting = extensions:TOOLSET\n"
        "[sandlot.checks]\nshort_answer = extensions:SHORT\n"
        "[sandlot.models]\nhang = extensions:hang\n"
        "[sandlot.sandboxes]\nscratch = extensions:scratch\n",
    )
    code = tmp_path / "code"
    code.mkdir()
    (code / "extensions.py").write_text(EXTENSIONS)
    tasks = tmp_path / "tasks"
    tasks.mkdir()
    (tasks / "greenhouse.yaml").write_text(EXTENSION_TASKS)
    (tasks / "workspace.yaml").write_text(EXTENSION_WORKSPACE_TASKS)
    paths = (site, code, WORLD_DIR, ROOT / "examples")

    valid = _sandlot(["tasks", "validate", str(tasks)], *paths)
    assert valid.returncode == 0, valid.stdout + valid.stderr
    unknown = _sandlot(["tasks", "validate", str(tasks)], WORLD_DIR)  # nothing installed
    assert unknown.returncode == 2, unknown.stdout + unknown.stderr

    db = tmp_path / "traces.db"
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([*(str(p) for p in paths), str(ROOT)])
    args = ["run", str(tasks), "--model", "hang:ws-note", "--sandbox", "scratch", "--db", str(db)]
    proc = subprocess.Popen(
        [sys.executable, "-m", "sandlot.cli", *args, "--concurrency", "1"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        lines = []
        for line in proc.stdout:  # ends when the process does: a bound against a hang
            lines.append(line)
            if "HANGING" in line:
                break
        assert any("HANGING" in x for x in lines), "".join(lines)
        deadline = time.monotonic() + 60  # a bound against a hang, not a timing assertion
        while not _committed_tool_call(db, "ws-note") and time.monotonic() < deadline:
            time.sleep(0.01)  # polling interval of the wait above, not a synchronisation
        assert _committed_tool_call(db, "ws-note")
    finally:
        proc.kill()
        proc.wait(timeout=30)

    scratch = ["--sandbox", "scratch"]
    # without --sandbox the resume takes the backend the run recorded
    resumed = _sandlot(["run", "--resume", "--db", str(db), "--model", "oracle"], *paths)
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    with TraceStore(db) as store:
        rows = store.episodes()
    episodes = {e["task_id"]: e for e in rows}
    assert len(rows) == 2 and sorted(episodes) == ["mist-1", "ws-note"]  # none counted twice
    assert all(e["success"] for e in episodes.values()), episodes
    assert episodes["ws-note"]["sandbox_backend"] == "scratch"

    scored = _sandlot(["score", str(db), "--tasks", str(tasks)], *paths)
    assert scored.returncode == 0, scored.stdout + scored.stderr
    for task_id, episode in episodes.items():
        replayed = _sandlot(["replay", str(db), episode["id"], *scratch], *paths)
        assert replayed.returncode == 0, task_id + replayed.stdout + replayed.stderr
        assert "matched" in replayed.stdout
