"""Extensions published by installed packages reach every command, in a new process.

Each test builds a tiny installed distribution in tmp_path — a ``*.dist-info``
directory with ``entry_points.txt``, which is all ``importlib.metadata`` reads — puts
it on ``PYTHONPATH`` and runs the ``sandlot`` command in a subprocess, as a user would
after ``pip install``. The world is the one docs/guides/world.md builds
(examples/custom_world).
"""

from __future__ import annotations

import os
import subprocess
import sys
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
