"""A typo of a model kind, a tool's name, a toolset or a path is answered with the
closest known name (a usage error, exit 2, no traceback)."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from sandlot.cli import app
from sandlot.registry import TOOLS
from sandlot.tools.suggest import close_path

ROOT = Path(__file__).resolve().parents[1]
WIDE = {"COLUMNS": "400"}  # one error line, however long the path
STORE = str(ROOT / "examples/tasks/store/orders.yaml")


def _usage_error(args: list[str]) -> str:
    out = CliRunner().invoke(app, args, env=WIDE)
    assert out.exit_code == 2, out.output
    assert "Traceback" not in out.output
    return out.output


@pytest.mark.parametrize(
    ("option", "typo", "meant"),
    [
        ("--model", "oracel", "oracle"),
        ("--model", "openia:gpt-4o", "openai"),
        ("--judge", "oracl", "oracle"),
        ("--user-model", "orcale", "oracle"),
    ],
)
def test_a_model_kind_typo_suggests_the_kind(tmp_path, option, typo, meant):
    said = _usage_error(["run", STORE, "--db", str(tmp_path / "t.db"), "-q", option, typo])
    assert f"Invalid value for {option}:" in said
    assert f"did you mean {meant!r}?" in said


def test_a_tool_name_typo_in_tools_show_suggests_the_tool():
    said = _usage_error(["tools", "show", "get_ordr"])
    assert "no tool 'get_ordr' in store; did you mean 'get_order'?" in said


def test_a_tools_file_typo_suggests_the_file():
    said = _usage_error(["tools", "list", "--tools", str(ROOT / "examples/custm_tool.py")])
    assert "Invalid value for --tools:" in said
    assert f"did you mean {str(ROOT / 'examples/custom_tool.py')!r}?" in said


def test_a_toolset_name_typo_suggests_the_registered_toolset():
    TOOLS.register("coupons", "sandlot.tools.builtin")  # never imported: only its name
    try:
        said = _usage_error(["tools", "list", "--no-installed-tools", "--tools", "coupnos"])
    finally:
        TOOLS.unregister("coupons")
    assert "did you mean the toolset 'coupons'?" in said


@pytest.mark.parametrize("typo", ["examples/tasks/stor", "examples/taks/store/orders.yml"])
def test_a_task_path_typo_suggests_the_path(monkeypatch, tmp_path, typo):
    monkeypatch.chdir(ROOT)
    meant = close_path(typo)
    assert meant is not None and meant.exists()
    for args in (["tasks", "validate", typo], ["run", typo, "--db", str(tmp_path / "t.db")]):
        said = _usage_error(args)
        assert f"no such file or directory; did you mean {str(meant)!r}?" in said


def test_close_path_corrects_each_missing_part_or_gives_none(tmp_path):
    (tmp_path / "tasks" / "store").mkdir(parents=True)
    assert close_path(tmp_path / "taks" / "stor") == tmp_path / "tasks" / "store"
    assert close_path(tmp_path / "tasks" / "zzzzzz") is None
    assert close_path(tmp_path / "tasks") is None  # it exists: nothing to suggest
