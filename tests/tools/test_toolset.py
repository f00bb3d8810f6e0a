"""Toolset: a named, ordered collection, from code, modules, files and entry points."""

from __future__ import annotations

import sys
import types
from importlib.metadata import EntryPoint

import pytest

import sandlot.tools.toolset as toolset_module
from sandlot.tools import Tool, ToolCall, Toolset, invoke_tool, tool


def make(name: str, doc: str = "A tool.") -> Tool:
    def func() -> str:
        return name

    func.__doc__ = doc
    func.__qualname__ = f"make.<{name}>"
    return tool(name=name)(func)


A, B, C = make("a"), make("b"), make("c")


def test_a_toolset_keeps_its_tools_in_order_by_name():
    ts = Toolset("demo", [A, B])
    assert ts.name == "demo"
    assert ts.names() == ["a", "b"]
    assert list(ts) == [A, B]
    assert len(ts) == 2
    assert "a" in ts and "z" not in ts
    assert ts.get("a") is A and ts.get("z") is None
    assert ts["b"] is B
    assert repr(ts) == "Toolset('demo', 2 tools)"


def test_add_chains_and_adding_the_same_tool_twice_is_harmless():
    ts = Toolset("demo").add(A).add(B).add(A)
    assert ts.names() == ["a", "b"]


def test_a_duplicate_name_raises_naming_both_tools():
    other_a = make("a", "Another a.")
    other_a.function.__qualname__ = "elsewhere.a"
    with pytest.raises(ValueError) as err:
        Toolset("demo", [A]).add(other_a)
    message = str(err.value)
    assert "toolset 'demo' already has a tool named 'a'" in message
    assert "make.<a>" in message and "elsewhere.a" in message
    assert "@tool(name=...)" in message


def test_adding_a_plain_function_says_to_decorate_it():
    with pytest.raises(TypeError, match="is not a Tool \\(decorate it with @tool\\)"):
        Toolset("demo").add(len)  # type: ignore[arg-type]


def test_an_unknown_name_raises_key_error_listing_the_tools():
    with pytest.raises(KeyError, match="no tool 'z' in toolset 'demo'; tools: a, b"):
        Toolset("demo", [A, B])["z"]


def test_schemas_of_all_or_of_the_named_tools_in_the_order_given():
    ts = Toolset("demo", [A, B, C])
    assert [s["function"]["name"] for s in ts.schemas()] == ["a", "b", "c"]
    assert [s["function"]["name"] for s in ts.schemas(["c", "missing", "a"])] == ["c", "a"]
    assert ts.schemas([]) == []


def test_copy_and_merge_make_new_toolsets():
    ts = Toolset("demo", [A])
    copied = ts.copy().add(B)
    assert ts.names() == ["a"] and copied.names() == ["a", "b"]
    merged = ts.merge(Toolset("more", [B, C]))
    assert merged.name == "demo" and merged.names() == ["a", "b", "c"]
    assert ts.names() == ["a"]
    with pytest.raises(ValueError, match="already has a tool named 'a'"):
        ts.merge([make("a")])


TOOLS_FILE = '''
from sandlot.tools import tool
from tests.tools.test_toolset import A  # imported, not defined here: not collected


@tool
def shout(text: str) -> str:
    """Shout.

    Args:
        text: What to shout.
    """
    return text.upper()


alias = shout  # the same tool under two names counts once


@tool
def whisper(text: str) -> str:
    """Whisper.

    Args:
        text: What to whisper.
    """
    return text.lower()
'''


async def test_from_module_imports_a_file_by_path(tmp_path):
    path = tmp_path / "my_tools.py"
    path.write_text(TOOLS_FILE)
    ts = Toolset.from_module(str(path))
    assert ts.name == "my_tools"
    assert ts.names() == ["shout", "whisper"]
    out = await invoke_tool(ts, ToolCall("1", "shout", '{"text": "hi"}'))
    assert out.content == "HI"
    again = Toolset.from_module(path, name="mine")  # a Path works; imported once
    assert again.name == "mine" and again["shout"] is ts["shout"]


def test_from_module_takes_a_module_object_or_a_dotted_name(monkeypatch):
    module = types.ModuleType("fake_tools_mod")
    module.__dict__.update(exec_tools(TOOLS_FILE, "fake_tools_mod"))
    monkeypatch.setitem(sys.modules, "fake_tools_mod", module)
    assert Toolset.from_module(module).names() == ["shout", "whisper"]
    by_name = Toolset.from_module("fake_tools_mod")
    assert by_name.name == "fake_tools_mod" and by_name.names() == ["shout", "whisper"]


def test_from_module_uses_all_when_the_module_declares_it(monkeypatch):
    module = types.ModuleType("fake_exports")
    module.__dict__.update(exec_tools(TOOLS_FILE, "fake_exports"))
    module.__all__ = ["whisper", "A", "not_a_tool"]
    module.not_a_tool = 3
    assert Toolset.from_module(module).names() == ["whisper", "a"]


def exec_tools(source: str, module_name: str) -> dict:
    namespace = {"__name__": module_name}
    exec(compile(source, f"<{module_name}>", "exec"), namespace)
    return namespace


def test_from_module_errors_name_what_is_missing(tmp_path):
    with pytest.raises(FileNotFoundError, match="no tools file at .*nowhere.py"):
        Toolset.from_module(tmp_path / "nowhere.py")
    with pytest.raises(ModuleNotFoundError, match="no module named 'no_such_tools_pkg'"):
        Toolset.from_module("no_such_tools_pkg")


def test_a_file_that_fails_to_import_can_be_fixed_and_imported_again(tmp_path):
    path = tmp_path / "fixable.py"
    path.write_text("raise RuntimeError('half written')\n")
    with pytest.raises(RuntimeError, match="half written"):
        Toolset.from_module(path)
    path.write_text(TOOLS_FILE)
    assert Toolset.from_module(path).names() == ["shout", "whisper"]


def fake_entry_points(monkeypatch, *eps: EntryPoint) -> None:
    monkeypatch.setattr(
        toolset_module, "entry_points", lambda group: [e for e in eps if e.group == group]
    )


def ep(name: str, value: str, group: str = "sandlot.tools") -> EntryPoint:
    return EntryPoint(name=name, value=value, group=group)


def test_from_entry_points_loads_tools_toolsets_and_modules(monkeypatch):
    module = types.ModuleType("fake_plugin")
    module.__dict__.update(exec_tools(TOOLS_FILE, "fake_plugin"))
    monkeypatch.setitem(sys.modules, "fake_plugin", module)
    fake_entry_points(
        monkeypatch,
        ep("one", "tests.tools.test_toolset:A"),
        ep("set", "tests.tools.test_toolset:BC"),
        ep("mod", "fake_plugin"),
        ep("other_group", "tests.tools.test_toolset:A", group="elsewhere"),
    )
    ts = Toolset.from_entry_points()
    assert ts.name == "sandlot.tools"
    assert ts.names() == ["a", "b", "c", "shout", "whisper"]
    assert Toolset.from_entry_points("elsewhere", name="x").names() == ["a"]


BC = Toolset("bc", [B, C])


def test_an_entry_point_of_the_wrong_kind_is_named(monkeypatch):
    fake_entry_points(monkeypatch, ep("bad", "tests.tools.test_toolset:make"))
    with pytest.raises(TypeError) as err:
        Toolset.from_entry_points()
    assert str(err.value) == (
        "entry point 'bad' = 'tests.tools.test_toolset:make' in group 'sandlot.tools' "
        "loaded a function; expected a Tool, a Toolset or a module"
    )


def test_an_entry_point_that_fails_to_load_is_named(monkeypatch):
    fake_entry_points(monkeypatch, ep("gone", "no_such_plugin_pkg.tools:x"))
    with pytest.raises(ImportError, match="entry point 'gone' .* failed to load"):
        Toolset.from_entry_points()


def test_two_entry_points_with_the_same_tool_name_conflict(monkeypatch):
    fake_entry_points(
        monkeypatch,
        ep("one", "tests.tools.test_toolset:A"),
        ep("two", "tests.tools.test_toolset:OTHER_A"),
    )
    with pytest.raises(ValueError, match="already has a tool named 'a'"):
        Toolset.from_entry_points()


OTHER_A = make("a", "A different a.")
