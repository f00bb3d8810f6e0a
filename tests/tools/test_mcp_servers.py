"""MCP servers as tool sources, against a real server (tests/tools/mcp_server.py) run
over stdio and over streamable HTTP."""

from __future__ import annotations

import asyncio
import importlib.util
import os
import shlex
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandlot.errors import UserError
from sandlot.tools import ToolCall, invoke_tool
from sandlot.tools.mcp_servers import close_mcp_servers, mcp_toolset
from sandlot.tools.sources import load_toolsets, recorded_sources
from sandlot.traces.store import TraceStore

ROOT = Path(__file__).resolve().parents[2]
SERVER = Path(__file__).with_name("mcp_server.py")
STDIO = f"mcp+stdio:{shlex.quote(sys.executable)} {shlex.quote(str(SERVER))}"

pytestmark = pytest.mark.mcp


@pytest.fixture(autouse=True)
def _mcp_installed() -> Iterator[None]:
    """Skip without the mcp extra on a developer's machine; under CI, fail: it must run.
    Each test opens its own sessions."""
    if importlib.util.find_spec("mcp") is None:
        why = "the mcp extra is not installed: pip install -e '.[mcp]'"
        if os.environ.get("CI"):
            pytest.fail(f"CI runs the MCP tests: {why}")
        pytest.skip(why)
    yield
    close_mcp_servers()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def http_server() -> Iterator[str]:
    """The test server over streamable HTTP, once it accepts connections; its source."""
    port = _free_port()
    proc = subprocess.Popen(
        [sys.executable, str(SERVER), "http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:  # poll the port until it answers; a server that died fails the test
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                try:
                    code = proc.wait(timeout=0.05)  # between polls: has it exited?
                except subprocess.TimeoutExpired:
                    continue
                pytest.fail(f"the MCP test server exited with {code}")
        yield f"mcp+http://127.0.0.1:{port}/mcp"
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _call(toolset, name: str, arguments: str):  # type: ignore[no-untyped-def]
    return asyncio.run(invoke_tool(toolset, ToolCall("c1", name, arguments)))


def _check_tools(source: str) -> None:
    toolset = mcp_toolset(source)
    assert toolset.names() == ["add", "echo", "refuse"]
    params = toolset["add"].schema()["function"]["parameters"]
    assert params["properties"]["a"]["type"] == "integer" and params["required"] == ["a", "b"]
    assert _call(toolset, "add", '{"a": 2, "b": 3}').content == "5"
    assert _call(toolset, "echo", '{"text": "hello"}').content == "hello"
    bad = _call(toolset, "add", '{"a": "two"}')
    assert bad.error_kind == "invalid_arguments" and "b: required" in bad.content
    refused = _call(toolset, "refuse", '{"reason": "not today"}')
    assert refused.error_kind == "tool_error" and "not today" in refused.content


def test_a_stdio_server_s_tools_are_listed_validated_and_called():
    _check_tools(STDIO)


def test_a_streamable_http_server_s_tools_are_listed_validated_and_called(http_server):
    _check_tools(http_server)


def test_one_session_per_source_and_a_new_one_after_closing():
    first = load_toolsets([STDIO], installed=False)[0]
    again = load_toolsets([STDIO], installed=False)[0]
    assert first["add"] is again["add"]
    close_mcp_servers()
    closed = _call(first, "add", '{"a": 1, "b": 1}')
    assert closed.error_kind == "tool_error" and "closed" in closed.content
    reopened = mcp_toolset(STDIO)
    assert _call(reopened, "add", '{"a": 1, "b": 1}').content == "2"


def test_a_server_that_fails_to_start_is_a_user_error_naming_its_command():
    with pytest.raises(UserError, match="no-such-mcp-server.*failed to start"):
        mcp_toolset("mcp+stdio:no-such-mcp-server --flag")
    with pytest.raises(UserError, match=r"-c pass.*failed to start"):
        mcp_toolset(f"mcp+stdio:{sys.executable} -c pass")


def test_mcp_sources_are_recorded_as_given():
    assert recorded_sources([STDIO]) == [STDIO]


def _sandlot(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "sandlot.cli", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_tools_list_shows_the_tools_of_a_stdio_and_an_http_server(http_server):
    for source in (STDIO, http_server):
        out = _sandlot("tools", "list", "--env", "store", "--tools", source)
        assert out.returncode == 0, out.stderr
        assert "add" in out.stdout and "echo" in out.stdout and "get_order" in out.stdout


def test_a_server_that_fails_to_start_is_a_usage_error_in_the_cli():
    out = _sandlot("tools", "list", "--env", "store", "--tools", "mcp+stdio:no-such-mcp-server")
    assert out.returncode == 2
    assert "no-such-mcp-server" in out.stdout + out.stderr
    assert "Traceback" not in out.stderr


TASK = """
environment: store
tasks:
  - id: mcp-add-1
    instruction: "What is 2 plus 3? Use the add tool."
    reference:
      calls: [{tool: add, args: {a: 2, b: 3}}]
      answer: "5"
    checklist:
      - {id: added, description: "Called add", check: {type: called, tool: add}}
"""


def test_a_scripted_episode_calls_a_server_tool(tmp_path):
    tasks = tmp_path / "mcp.yaml"
    tasks.write_text(TASK)
    db = tmp_path / "traces.db"
    out = _sandlot(
        "run", str(tasks), "--model", "oracle", "--tools", STDIO, "--db", str(db), "-q", "--strict"
    )
    assert out.returncode == 0, out.stdout + out.stderr
    with TraceStore(db) as store:
        [episode] = store.episodes()
        assert episode["tool_calls"] == 1 and episode["tool_errors"] == 0
