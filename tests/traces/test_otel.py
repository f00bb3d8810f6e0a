"""OpenTelemetry export: an oracle run of the store tasks sent with the real OTLP/HTTP
exporter to an OTLP/HTTP receiver in the test (protobuf requests decoded with the
official opentelemetry-proto package), and the spans read back."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from sandlot.cli import app
from sandlot.traces.query import TraceReader

pytestmark = pytest.mark.otel

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _otel_installed() -> None:
    """Skip without the otel extra on a developer's machine; under CI, fail: it must run."""
    wanted = ("opentelemetry.sdk", "opentelemetry.exporter.otlp.proto.http", "opentelemetry.proto")
    missing = [m for m in wanted if importlib.util.find_spec(m) is None]
    if not missing:
        return
    why = f"the otel extra is not installed ({', '.join(missing)}): pip install -e '.[otel]'"
    if os.environ.get("CI"):
        pytest.fail(f"CI runs the OpenTelemetry tests: {why}")
    pytest.skip(why)


class Receiver:
    """An OTLP/HTTP traces endpoint: every span it was sent, attributes decoded."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []
        self.requests = 0
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
                    ExportTraceServiceRequest,
                    ExportTraceServiceResponse,
                )

                body = self.rfile.read(int(self.headers["Content-Length"]))
                request = ExportTraceServiceRequest.FromString(body)
                receiver.requests += 1
                for resource_spans in request.resource_spans:
                    for scope_spans in resource_spans.scope_spans:
                        receiver.spans += [_decode(s) for s in scope_spans.spans]
                reply = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1/traces"


def _value(v: Any) -> Any:
    return getattr(v, v.WhichOneof("value"))


def _decode(span: Any) -> dict[str, Any]:
    return {
        "name": span.name,
        "trace": span.trace_id.hex(),
        "id": span.span_id.hex(),
        "parent": span.parent_span_id.hex() or None,
        "start": span.start_time_unix_nano,
        "end": span.end_time_unix_nano,
        "attrs": {a.key: _value(a.value) for a in span.attributes},
        "events": [e.name for e in span.events],
        "error": span.status.code == span.status.STATUS_CODE_ERROR,
    }


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver()
    thread = threading.Thread(target=r.server.serve_forever, daemon=True)
    thread.start()
    yield r
    r.server.shutdown()
    r.server.server_close()


@pytest.fixture(scope="module")
def oracle_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("otel") / "t.db"
    tasks = str(ROOT / "examples/tasks/store/orders.yaml")
    cmd = [sys.executable, "-m", "sandlot.cli", "run", tasks, "--model", "oracle"]
    out = subprocess.run([*cmd, "--db", str(db)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return db


def test_a_run_arrives_as_one_trace_per_episode_with_its_span_tree(oracle_db, receiver):
    out = CliRunner().invoke(
        app, ["export", str(oracle_db), "--format", "otlp", "--endpoint", receiver.url]
    )
    assert out.exit_code == 0, out.output
    spans = receiver.spans
    assert f"sent {len(spans)} spans to {receiver.url}" in out.output
    with TraceReader(oracle_db) as reader:
        episodes = reader.episodes()
        recorded = sum(
            1 + sum(e["duration"] is not None for e in reader.events(ep["id"], messages=False))
            for ep in episodes
        )
    assert len(spans) == recorded and receiver.requests == len(episodes)
    roots = [s for s in spans if s["parent"] is None]
    assert len(roots) == len(episodes) == len({s["trace"] for s in spans})
    by_id = {s["id"]: s for s in spans}
    for span in spans:  # every parent was sent, in the same trace, and holds its child
        if span["parent"] is not None:
            parent = by_id[span["parent"]]
            assert parent["trace"] == span["trace"]
            assert parent["start"] <= span["start"] <= span["end"] <= parent["end"]
    ep = episodes[0]
    root = next(s for s in roots if s["attrs"]["sandlot.episode.id"] == ep["id"])
    assert root["name"] == f"episode {ep['task_id']}"
    assert root["attrs"]["sandlot.run.id"] == ep["run_id"]
    assert root["attrs"]["sandlot.outcome"] == "passed" and root["attrs"]["sandlot.score"] == 1.0
    assert root["start"] == int(ep["started"] * 1e9)


def test_model_and_tool_calls_follow_the_gen_ai_conventions(oracle_db, receiver):
    out = CliRunner().invoke(
        app, ["export", str(oracle_db), "--format", "otlp", "--endpoint", receiver.url]
    )
    assert out.exit_code == 0, out.output
    by_id = {s["id"]: s for s in receiver.spans}
    chats = [s for s in receiver.spans if s["attrs"].get("gen_ai.operation.name") == "chat"]
    tools = [s for s in receiver.spans if s["attrs"].get("gen_ai.operation.name") == "execute_tool"]
    assert chats and tools
    for chat in chats:
        assert chat["name"] == "chat oracle"
        assert chat["attrs"]["gen_ai.request.model"] == "oracle"
        assert chat["attrs"]["gen_ai.provider.name"] == "oracle"
        assert isinstance(chat["attrs"]["gen_ai.usage.input_tokens"], int)
        assert isinstance(chat["attrs"]["gen_ai.usage.output_tokens"], int)
        assert by_id[chat["parent"]]["attrs"]["sandlot.kind"] == "node"
    for tool in tools:
        name = tool["attrs"]["gen_ai.tool.name"]
        assert tool["name"] == f"execute_tool {name}"
        assert tool["attrs"]["gen_ai.tool.call.id"].startswith("oracle_")
        assert by_id[tool["parent"]]["name"] == "executor"
    assert {s["name"] for s in receiver.spans} >= {"planner", "retriever", "executor"}
    # checks and answers are points in time: events on the episode span
    root = next(s for s in receiver.spans if s["parent"] is None)
    assert any(e.startswith("check ") for e in root["events"])


def test_one_episode_and_a_failed_tool_call_marked_as_errors(tmp_path, receiver):
    from tests.traces.conftest import build_viewer_db

    db = build_viewer_db(tmp_path / "v.db")
    with TraceReader(db) as reader:
        failing = [
            ep["id"]
            for ep in reader.episodes()
            if any(
                e["payload"].get("ok") is False
                for e in reader.events(ep["id"], kinds="tool_call", messages=False)
            )
        ]
    assert failing
    out = CliRunner().invoke(
        app,
        [
            "export",
            str(db),
            "--format",
            "otlp",
            "--endpoint",
            receiver.url,
            "--episode",
            failing[0],
        ],
    )
    assert out.exit_code == 0, out.output
    assert {s["trace"] for s in receiver.spans} == {receiver.spans[0]["trace"]}
    failed = [s for s in receiver.spans if s["attrs"].get("sandlot.ok") is False]
    assert failed and all(s["error"] for s in failed)


def test_attributes_are_bounded():
    from sandlot.traces.otel import MAX_ATTRIBUTE_BYTES, _bounded

    text = _bounded("é" * 10_000)
    assert len(text.encode()) <= MAX_ATTRIBUTE_BYTES and text.endswith("...")
    assert _bounded("short") == "short"


def test_an_unreachable_receiver_is_a_clear_error(oracle_db, receiver):
    url = receiver.url
    receiver.server.shutdown()
    receiver.server.server_close()  # nothing listens there any more
    out = CliRunner().invoke(app, ["export", str(oracle_db), "--format", "otlp", "--endpoint", url])
    assert out.exit_code == 1
    assert "could not send" in out.output and url in out.output
    assert "Traceback" not in out.output


def test_otlp_needs_an_endpoint_and_a_known_run(oracle_db, receiver):
    out = CliRunner().invoke(app, ["export", str(oracle_db), "--format", "otlp"])
    assert out.exit_code == 2 and "--endpoint" in out.output
    out = CliRunner().invoke(
        app,
        ["export", str(oracle_db), "--format", "otlp", "--endpoint", receiver.url, "--run", "x"],
    )
    assert out.exit_code == 2 and "no run 'x'" in out.output and not receiver.spans


def test_spans_hold_no_key_even_from_a_trace_written_raw(tmp_path, monkeypatch):
    """A trace written before a form was covered (or by other code) holds the key in its
    task id, error, model name and event names: the spans are redacted again with the
    environment's keys, as the other exports are."""
    import json

    from sandlot.traces.otel import episode_spans
    from tests.traces.conftest import TraceBuilder

    key = "sk-live-abcdefghijklmnop0123456789"
    builder = TraceBuilder(tmp_path / "raw.db")
    builder.run("r1", config=json.dumps({"note": key}))
    builder.episode(
        "r1", "ep1", f"task-{key}", status="error", outcome="error",
        error=f"HTTP 401: Bearer {key}", model=f"openai:{key}",
    )  # fmt: skip
    root = builder.event("ep1", "episode", "t", {"instruction": f"use {key}"}, duration=1.0)
    builder.event("ep1", "tool_call", key, {"arguments": {"q": key}}, parent=root, duration=0.1)
    builder.event("ep1", "check", f"c-{key}", {"why": key}, parent=root)  # a point in time
    builder.event("ep1", "error", key, {"message": key}, parent=root)
    builder.close()
    monkeypatch.setenv("OPENAI_API_KEY", key)
    with TraceReader(tmp_path / "raw.db") as reader:
        spans = episode_spans(reader, "ep1")
    shown = [
        (s.name, dict(s.attributes or {}), s.status.description,
         [(e.name, dict(e.attributes or {})) for e in s.events])
        for s in spans
    ]  # fmt: skip
    assert len(spans) == 2 and "[REDACTED]" in repr(shown)
    assert key not in repr(shown), shown


def test_run_sends_its_episodes_when_it_ends(tmp_path, receiver):
    db = tmp_path / "t.db"
    tasks = str(ROOT / "examples/tasks/store/orders.yaml")
    cmd = [sys.executable, "-m", "sandlot.cli", "run", tasks, "--model", "oracle", "--db", str(db)]
    out = subprocess.run(
        [*cmd, "--otlp-endpoint", receiver.url], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr
    with TraceReader(db) as reader:
        [run] = reader.runs()
        episodes = reader.episodes()
    assert f"spans of run {run['id']} to {receiver.url}" in out.stderr
    roots = [s for s in receiver.spans if s["parent"] is None]
    assert receiver.requests == len(episodes) == len(roots) > 0
    assert {s["attrs"]["sandlot.task.id"] for s in roots} == {e["task_id"] for e in episodes}


def test_run_refuses_an_otlp_endpoint_that_is_no_url_before_running(tmp_path):
    db = tmp_path / "t.db"
    tasks = str(ROOT / "examples/tasks/store/orders.yaml")
    out = CliRunner().invoke(
        app, ["run", tasks, "--db", str(db), "--otlp-endpoint", "localhost:4318"]
    )
    assert out.exit_code == 2 and "--otlp-endpoint" in out.output
    assert not db.exists()


def test_run_keeps_its_trace_when_the_receiver_is_gone(tmp_path, receiver):
    url = receiver.url
    receiver.server.shutdown()
    receiver.server.server_close()
    db = tmp_path / "t.db"
    tasks = str(ROOT / "examples/tasks/store/orders.yaml")
    cmd = [sys.executable, "-m", "sandlot.cli", "run", tasks, "--model", "oracle", "--db", str(db)]
    out = subprocess.run(
        [*cmd, "--otlp-endpoint", url], capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 1
    assert "could not send" in out.stderr and "sends it again" in out.stderr
    with TraceReader(db) as reader:
        assert reader.episodes() and all(e["success"] for e in reader.episodes())
