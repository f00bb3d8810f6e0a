"""LangChain tools as a tool source (``langchain:MODULE[:ATTR]``)."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from sandlot.errors import UserError
from sandlot.tools import ToolCall, invoke_tool
from sandlot.tools.sources import load_toolsets, recorded_sources

pytest.importorskip("langchain_core")

ROOT = Path(__file__).resolve().parents[2]
MODULE = "tests.tools.langchain_tools_module"


def _call(toolset, name: str, arguments: str):  # type: ignore[no-untyped-def]
    return asyncio.run(invoke_tool(toolset, ToolCall("c1", name, arguments)))


def test_a_langchain_tool_becomes_a_tool_with_its_schema_and_is_called():
    [toolset] = load_toolsets([f"langchain:{MODULE}:multiply"], installed=False)
    assert toolset.names() == ["multiply"]
    function = toolset["multiply"].schema()["function"]
    assert function["description"].startswith("Multiply two whole numbers.")
    assert function["parameters"]["required"] == ["a", "b"]
    assert function["parameters"]["properties"]["a"]["type"] == "integer"
    assert _call(toolset, "multiply", '{"a": 6, "b": 7}').content == "42"
    bad = _call(toolset, "multiply", '{"a": 6, "c": 7}')
    assert bad.error_kind == "invalid_arguments" and "c: unknown parameter" in bad.content


def test_a_tool_exception_is_a_tool_error_the_model_reads():
    [toolset] = load_toolsets([f"langchain:{MODULE}:shout"], installed=False)
    assert _call(toolset, "shout", '{"text": "hi"}').content == "HI"
    refused = _call(toolset, "shout", '{"text": ""}')
    assert refused.error_kind == "tool_error" and refused.content == "nothing to shout"


def test_a_list_attribute_and_a_whole_module_give_every_tool():
    [listed] = load_toolsets([f"langchain:{MODULE}:BOTH"], installed=False)
    assert listed.names() == ["multiply", "shout"]
    [module] = load_toolsets([f"langchain:{MODULE}"], installed=False)
    assert sorted(module.names()) == ["multiply", "shout"]


def test_a_source_that_names_no_langchain_tool_is_a_user_error():
    with pytest.raises(UserError, match="NOT_A_TOOL is not a LangChain BaseTool"):
        load_toolsets([f"langchain:{MODULE}:NOT_A_TOOL"], installed=False)
    with pytest.raises(UserError, match="no attribute 'missing'"):
        load_toolsets([f"langchain:{MODULE}:missing"], installed=False)
    with pytest.raises(UserError, match="holds no LangChain tool"):
        load_toolsets(["langchain:json"], installed=False)


def test_a_file_path_in_a_langchain_source_is_recorded_absolute():
    relative = "tests/tools/langchain_tools_module.py"
    [recorded] = recorded_sources([f"langchain:{relative}:multiply"])
    assert recorded == f"langchain:{(Path.cwd() / relative).resolve()}:multiply"
    assert recorded_sources([f"langchain:{MODULE}:BOTH"]) == [f"langchain:{MODULE}:BOTH"]


def test_tools_list_shows_langchain_tools():
    out = subprocess.run(
        [sys.executable, "-m", "sandlot.cli", "tools", "list", "--env", "store", "--tools"]
        + [f"langchain:{ROOT / 'tests/tools/langchain_tools_module.py'}:BOTH"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "multiply" in out.stdout and "shout" in out.stdout and "get_order" in out.stdout
