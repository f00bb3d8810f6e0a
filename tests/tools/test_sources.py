"""Tool sources: installed toolsets, --tools sources, which world gets which tools."""

from __future__ import annotations

import pytest

from sandlot.environments.base import make_environment
from sandlot.environments.loader import load_tasks
from sandlot.errors import TaskFileError, UserError
from sandlot.registry import TOOLS
from sandlot.tools import Tool, Toolset, tool
from sandlot.tools.sources import installed_toolsets, load_toolsets, recorded_sources, tools_for


def _make(name: str) -> Tool:
    def func() -> str:
        return name

    func.__doc__ = f"The {name} tool."
    func.__qualname__ = f"_make.<{name}>"
    return tool(name=name)(func)


COUPON = _make("apply_coupon")
PING = _make("ping")
STORE_ONLY = Toolset("coupons", [COUPON], worlds=["store"])

TOOLS_FILE = '''
from sandlot.tools import tool


@tool
def shout(text: str) -> str:
    """Say it loudly.

    Args:
        text: What to say.
    """
    return text.upper()
'''


@pytest.fixture
def registered():
    """Two toolsets registered in code: one for the store only, one for every world."""
    TOOLS.register("coupons", STORE_ONLY)
    TOOLS.register("ping", PING)
    yield
    TOOLS.unregister("coupons")
    TOOLS.unregister("ping")


def test_installed_toolsets_are_every_registered_name(registered):
    assert {"coupons", "ping"} <= set(installed_toolsets())
    loaded = load_toolsets()
    assert {ts.name for ts in loaded} >= {"coupons", "ping"}
    assert load_toolsets(installed=False) == []


def test_a_source_named_like_an_installed_toolset_is_loaded_once(registered):
    names = [ts.name for ts in load_toolsets(["coupons"])]
    assert names.count("coupons") == 1
    only = load_toolsets(["coupons"], installed=False)
    assert [ts.name for ts in only] == ["coupons"]
    assert only[0].worlds == ("store",)  # the registered Toolset's worlds are kept


def test_a_file_source_is_loaded_and_recorded_by_its_absolute_path(tmp_path, monkeypatch):
    (tmp_path / "loud.py").write_text(TOOLS_FILE)
    monkeypatch.chdir(tmp_path)
    [loaded] = load_toolsets(["loud.py"], installed=False)
    assert loaded.names() == ["shout"] and loaded.worlds is None
    assert recorded_sources(["loud.py", "sandlot.tools", "coupons"]) == [
        str(tmp_path / "loud.py"),
        "sandlot.tools",
        "coupons",
    ]


def test_tools_for_gives_each_world_its_share():
    added = [STORE_ONLY, PING]
    assert [t.name for t in tools_for("store", added)] == ["apply_coupon", "ping"]
    assert [t.name for t in tools_for("workspace", added)] == ["ping"]


def test_a_world_gets_only_the_toolsets_for_it(registered):
    store = make_environment("store", extra_tools=load_toolsets())
    workspace = make_environment("workspace", extra_tools=load_toolsets(), sandbox="local")
    assert "apply_coupon" in store.toolset and "ping" in store.toolset
    assert "apply_coupon" not in workspace.toolset and "ping" in workspace.toolset


def test_validation_knows_the_tools_of_each_world(registered, tmp_path):
    tasks = tmp_path / "tasks.yaml"
    tasks.write_text(
        "tasks:\n"
        "  - {id: s1, environment: store, instruction: Use the coupon.,\n"
        "     checklist: [{id: c, description: d, check: {type: called, tool: apply_coupon}}]}\n"
        "  - {id: w1, environment: workspace, instruction: Use the coupon.,\n"
        "     checklist: [{id: c, description: d, check: {type: called, tool: apply_coupon}}]}\n"
    )
    with pytest.raises(TaskFileError) as err:
        load_tasks([tasks], extra_tools=load_toolsets())
    message = str(err.value)
    assert "w1" in message and "no tool 'apply_coupon' in environment 'workspace'" in message
    assert "s1" not in message


def test_an_unknown_source_says_what_to_give(tmp_path):
    with pytest.raises(ModuleNotFoundError, match="give a dotted module name"):
        load_toolsets(["no_such_tools_module_4711"], installed=False)
    with pytest.raises(FileNotFoundError):
        load_toolsets([str(tmp_path / "missing.py")], installed=False)


def test_an_installed_toolset_that_fails_to_import_is_a_user_error():
    TOOLS.register("broken", "no_such_module_4713:tools")
    try:
        with pytest.raises(UserError, match="no_such_module_4713"):
            load_toolsets()
    finally:
        TOOLS.unregister("broken")
