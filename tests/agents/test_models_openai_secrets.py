"""A run with an OpenAI model leaves its key nowhere: not in the trace, not in the
checkpoints beside it (nor their WAL files), not on the command line's stdout or stderr,
not in an export; credentials in the base URL neither."""

from __future__ import annotations

import base64
import contextlib
import json
import re
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from sandlot.agents.models.openai import OpenAIModel
from sandlot.agents.running.checkpoints import checkpoint_path
from sandlot.cli import app
from sandlot.traces.redact import REDACTED
from sandlot.traces.store import TraceStore
from tests.agents.fake_openai import FakeOpenAIServer, Reply, slow, tool_reply

ROOT = Path(__file__).resolve().parents[2]

KEY = "sk-proj-Zq7TRACEleak-9f8e7d6c5b4a3210"

TASKS = """\
environment: store
tasks:
  - id: echo-key
    instruction: "What's the status of my order 1003?"
    checklist:
      - {id: answered, check: {type: answer, match: contains, value: shipped}}
  - id: echo-401
    instruction: "Reply 401 please: what's the status of my order 1003?"
    checklist:
      - {id: answered, check: {type: answer, match: contains, value: shipped}}
"""


def _escaped(text: str) -> str:
    """``text`` as JSON source with every other character written as a \\u escape."""
    return "".join(f"\\u{ord(c):04x}" if i % 2 == 0 else c for i, c in enumerate(text))


def _forms(secret: str) -> dict[str, bytes]:
    """The forms of ``secret`` that must not be on disk or on the terminal."""
    return {
        "as is": secret.encode(),
        "upper-cased": secret.upper().encode(),
        "reversed": secret[::-1].encode(),
        **{f"base64 at offset {k}": _base64_core(secret, k) for k in range(3)},
    }


def _base64_core(secret: str, offset: int) -> bytes:
    """What base64 text holds of ``secret`` wherever it starts ``offset`` bytes after a
    multiple of 3 (the characters that depend on its bytes alone)."""
    data = base64.b64encode(b"\0" * offset + secret.encode())
    first = -(-8 * offset // 6)
    last = 8 * (offset + len(secret.encode())) // 6
    return data[first:last]


class _Echo:
    """The model's behaviour: it repeats the Authorization header it was sent in every
    way it can — a tool named with it, arguments holding it \\u-escaped, a reply with it
    upper-cased, reversed and in base64 — and, for the task that asks for it, fails with
    a 401 whose body echoes the header."""

    def __init__(self, server: FakeOpenAIServer) -> None:
        self.server = server

    def __call__(self, body: dict[str, Any]) -> Reply:
        auth = self.server.requests[-1].headers.get("authorization", "")
        key = auth.removeprefix("Bearer ")
        messages = body.get("messages") or []
        if any("Reply 401" in str(m.get("content")) for m in messages):
            error = {"message": f"Incorrect API key provided: {auth}", "type": "invalid_request"}
            return Reply(status=401, body={"error": error})
        if messages and messages[-1].get("role") == "tool":
            answer = {"answer": f"Order 1003 has shipped (asked with {key})"}
            return tool_reply({"name": "submit_answer", "arguments": answer})
        b64 = base64.b64encode(f"user:{key}".encode()).decode()
        return tool_reply(
            {"name": key, "arguments": {"order_id": 1003}, "id": "call_named"},
            {
                "name": "get_order_status",
                "arguments": '{"order_id": 1003, "note": "' + _escaped(key) + '"}',
                "id": "call_escaped",
            },
            content=f"UPPER {key.upper()} REVERSED {key[::-1]} BASIC {b64}",
        )


def _files_beside(db: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(db.parent.iterdir()) if p.is_file()}


def _leaks(blobs: dict[str, bytes], secret: str) -> list[str]:
    found = [
        f"{form} in {name}"
        for name, data in blobs.items()
        for form, needle in _forms(secret).items()
        if needle in data
    ]
    for name, data in blobs.items():
        # with every \uXXXX escape (its backslash escaped again or not) read
        text = re.sub(rb"\\+u([0-9a-fA-F]{4})", lambda m: chr(int(m[1], 16)).encode(), data)
        if secret.encode() in text and secret.encode() not in data:
            found.append(f"\\u-escaped in {name}")
    return found


def _run(tmp_path: Path, base_url: str, *extra: str) -> tuple[Path, Any]:
    tasks = tmp_path / "tasks.yaml"
    tasks.write_text(TASKS)
    db = tmp_path / "run" / "t.db"
    args = ["run", str(tasks), "--db", str(db), "--model", "openai:fake", "--agent", "single"]
    args += ["--base-url", base_url, "--concurrency", "1", "--quiet", *extra]
    return db, CliRunner().invoke(app, args)


def test_a_cli_run_leaves_the_key_in_no_file_no_output_and_no_export(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with FakeOpenAIServer() as server:
        server.default = _Echo(server)
        db, result = _run(tmp_path, server.base_url, "--api-key", KEY)
    assert result.exit_code == 0, result.output
    assert any(r.headers.get("authorization") == f"Bearer {KEY}" for r in server.requests)
    with TraceStore(db, readonly=True) as store:
        episodes = {e["task_id"]: e for e in store.episodes(store.runs()[0]["id"])}
        assert episodes["echo-401"]["outcome"] == "error"
        assert "HTTP 401" in episodes["echo-401"]["error"]
        events = store.events(episodes["echo-key"]["id"])
        names = [e["name"] for e in events if e["kind"] == "tool_call"]
        assert REDACTED in names and "get_order_status" in names
    assert "HTTP 401" in result.stderr  # the error line is shown, redacted
    export = tmp_path / "export.html"
    exported = CliRunner().invoke(
        app, ["export", str(db), episodes["echo-key"]["id"], "--html", str(export)]
    )
    assert exported.exit_code == 0, exported.output
    blobs = _files_beside(db)
    assert {"t.db", "t.db-checkpoints"} <= set(blobs)
    blobs |= {
        "stdout": result.stdout.encode(),
        "stderr": result.stderr.encode(),
        "export": export.read_bytes(),
        "export stdout": exported.output.encode(),
    }
    assert _leaks(blobs, KEY) == []


def test_the_checkpoint_of_an_unfinished_episode_holds_no_key(tmp_path, monkeypatch):
    """A killed run keeps the checkpoint of its unfinished episode for ``--resume``: it
    holds no key either, nor does any file beside it."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    tasks = tmp_path / "tasks.yaml"
    tasks.write_text(TASKS.split("  - id: echo-401")[0])
    db = tmp_path / "run" / "t.db"
    waiting = threading.Event()
    with FakeOpenAIServer() as server:
        echo = _Echo(server)

        def hang_before_answering(body: dict[str, Any]) -> Reply:
            messages = body.get("messages") or []
            if messages and messages[-1].get("role") == "tool":
                waiting.set()
                return slow(600)  # until the server stops
            return echo(body)

        server.default = hang_before_answering
        args = [sys.executable, "-m", "sandlot.cli", "run", str(tasks), "--db", str(db)]
        args += ["--model", "openai:fake", "--agent", "single", "--quiet"]
        args += ["--base-url", server.base_url, "--api-key", KEY]
        proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            assert waiting.wait(60), "the run never made its second model call"
        finally:
            proc.kill()
            out, err = proc.communicate(timeout=30)
    with contextlib.closing(sqlite3.connect(checkpoint_path(db))) as conn:
        (kept,) = conn.execute("SELECT count(*) FROM checkpoints").fetchone()
    assert kept == 1
    blobs = _files_beside(db) | {"stdout": out, "stderr": err}
    assert _leaks(blobs, KEY) == []


def test_an_episodes_error_is_printed_redacted_on_the_terminal(tmp_path, monkeypatch):
    """The per-episode error lines of the command line's own process (its real stderr,
    not a test runner's capture) show the endpoint's error without the key it echoed."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    tasks = tmp_path / "tasks.yaml"
    tasks.write_text(TASKS.replace("id: echo-key", "id: also-401").replace("What's", "Reply 401:"))
    db = tmp_path / "run" / "t.db"
    with FakeOpenAIServer() as server:
        server.default = _Echo(server)
        args = [sys.executable, "-m", "sandlot.cli", "run", str(tasks), "--db", str(db)]
        args += ["--model", "openai:fake", "--agent", "single", "--quiet"]
        args += ["--base-url", server.base_url, "--api-key", KEY]
        done = subprocess.run(args, cwd=ROOT, capture_output=True, timeout=120)
    err = done.stderr.decode()
    assert done.returncode == 0, err
    assert err.count("answered HTTP 401") == 2, err  # one line per episode
    assert f"Bearer {REDACTED}" in err
    assert _leaks({"stdout": done.stdout, "stderr": done.stderr}, KEY) == []


def test_credentials_in_the_base_url_are_stored_replaced_and_redacted(tmp_path, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    password = "pw-Basic-8c1f2e9d"
    with FakeOpenAIServer() as server:
        server.default = _Echo(server)
        url = server.base_url.replace("http://", f"http://ann:{password}@")
        db, result = _run(tmp_path, url, "--api-key", KEY)
    assert result.exit_code == 0, result.output
    with TraceStore(db, readonly=True) as store:
        config = store.runs()[0]["config"]
    shown = config["model"]["base_url"]
    assert shown.startswith(f"http://{REDACTED}:{REDACTED}@127.0.0.1:"), shown
    blobs = _files_beside(db) | {"stdout": result.stdout.encode(), "stderr": result.stderr.encode()}
    assert _leaks(blobs, password) == []
    assert _leaks(blobs, KEY) == []


def test_an_openai_model_hides_the_credentials_of_its_base_url():
    model = OpenAIModel("m", base_url="https://bob:s3cret-pass%40word@llm.example/v1", api_key=KEY)
    assert model.describe()["base_url"] == f"https://{REDACTED}:{REDACTED}@llm.example/v1/"
    assert set(model.secrets()) >= {KEY, "s3cret-pass@word"}
    assert json.dumps(model.describe()).count("s3cret") == 0


def test_a_cached_run_leaves_the_key_out_of_the_response_cache(tmp_path, monkeypatch):
    """With ``--cache`` the replies are stored redacted as the trace holds them: the key
    the model echoed is in no file the run wrote (trace, checkpoints, cache), and a
    rerun answered from the cache records the same redacted replies."""
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    cache = tmp_path / "run" / "responses.db"
    cache.parent.mkdir()
    with FakeOpenAIServer() as server:
        server.default = _Echo(server)
        db, result = _run(tmp_path, server.base_url, "--api-key", KEY, "--cache", str(cache))
        assert result.exit_code == 0, result.output
        sent = len(server.requests)
        again = CliRunner().invoke(
            app,
            ["run", str(tmp_path / "tasks.yaml"), "--db", str(tmp_path / "again" / "t.db")]
            + ["--model", "openai:fake", "--agent", "single", "--base-url", server.base_url]
            + ["--api-key", KEY, "--concurrency", "1", "--quiet", "--cache", str(cache)],
        )
    assert again.exit_code == 0, again.output
    assert len(server.requests) > sent  # the 401 is never stored: asked again
    with contextlib.closing(sqlite3.connect(cache)) as conn:
        stored = [r for (r,) in conn.execute("SELECT response FROM responses")]
    assert stored and all(REDACTED in r for r in stored if "UPPER" in r)
    with TraceStore(tmp_path / "again" / "t.db", readonly=True) as store:
        (episode,) = [e for e in store.episodes() if e["task_id"] == "echo-key"]
        calls = store.events(episode["id"], kinds=["model_call"])
    assert calls and all(c["payload"].get("cache_hit") for c in calls)
    blobs = _files_beside(db) | _files_beside(tmp_path / "again" / "t.db")
    blobs |= {"stdout": result.stdout.encode(), "stderr": result.stderr.encode()}
    assert "responses.db" in blobs
    assert _leaks(blobs, KEY) == []
