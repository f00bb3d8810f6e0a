"""OpenTelemetry export to a real Arize Phoenix: the server started offline on free ports
with its own working directory, an oracle run of the store's orders task sent to its
OTLP/HTTP endpoint, and the spans read back through Phoenix's REST API."""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import pytest

from sandlot.traces.otel import export_otlp
from sandlot.traces.query import TraceReader

pytestmark = [pytest.mark.otel, pytest.mark.phoenix]

ROOT = Path(__file__).resolve().parents[2]
START_DEADLINE_S = 120.0  # a first start creates and migrates Phoenix's SQLite database
SPANS_DEADLINE_S = 60.0

T = TypeVar("T")


@pytest.fixture(autouse=True)
def _phoenix_installed() -> None:
    """Skip without the phoenix extra on a developer's machine; under CI, fail: it must run."""
    wanted = ("opentelemetry.sdk", "opentelemetry.exporter.otlp.proto.http")
    missing = [m for m in wanted if importlib.util.find_spec(m) is None]
    try:  # the distribution: importing phoenix in the test process is slow and noisy
        importlib.metadata.distribution("arize-phoenix")
    except importlib.metadata.PackageNotFoundError:
        missing.append("arize-phoenix")
    if not missing:
        return
    why = f"the phoenix extra is not installed ({', '.join(missing)}): pip install -e '.[phoenix]'"
    if os.environ.get("CI"):
        pytest.fail(f"CI runs the Phoenix export test: {why}")
    pytest.skip(why)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=10) as reply:
        return json.loads(reply.read())


@dataclass
class Phoenix:
    url: str
    process: subprocess.Popen[bytes]


def _poll(what: str, deadline_s: float, attempt: Callable[[], T | None], server: Phoenix) -> T:
    """``attempt()`` until it returns a value; fail at the deadline or if Phoenix exits."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            code = server.process.returncode
            pytest.fail(f"Phoenix exited ({code}) while waiting for {what}")
        value = attempt()
        if value is not None:
            return value
        time.sleep(0.2)  # polling interval, not a synchronisation
    pytest.fail(f"no {what} within {deadline_s:.0f} s")


@pytest.fixture
def phoenix(tmp_path: Path) -> Iterator[Phoenix]:
    """A Phoenix server on free ports, offline, its data in ``tmp_path``: its base URL."""
    port, grpc_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "PHOENIX_HOST": "127.0.0.1",
        "PHOENIX_PORT": str(port),
        "PHOENIX_GRPC_PORT": str(grpc_port),
        "PHOENIX_WORKING_DIR": str(tmp_path / "phoenix"),
        "PHOENIX_TELEMETRY_ENABLED": "false",
        "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
    }
    log = (tmp_path / "phoenix.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "phoenix.server.main", "serve"],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    running = Phoenix(base, server)

    def ready() -> bool | None:
        try:
            with urllib.request.urlopen(f"{base}/healthz", timeout=2) as reply:
                return True if reply.status == 200 else None
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            return None

    try:
        _poll("Phoenix's HTTP port", START_DEADLINE_S, ready, running)
        yield running
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


@pytest.fixture(scope="module")
def oracle_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("phoenix") / "t.db"
    tasks = str(ROOT / "examples/tasks/store/orders.yaml")
    cmd = [sys.executable, "-m", "sandlot.cli", "run", tasks, "--model", "oracle"]
    out = subprocess.run([*cmd, "--db", str(db)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    return db


def _spans(base: str) -> list[dict[str, Any]]:
    """Every span of Phoenix's default project, following the pagination."""
    spans: list[dict[str, Any]] = []
    cursor = None
    while True:
        query = "limit=1000" + (f"&cursor={cursor}" if cursor else "")
        page = _get(f"{base}/v1/projects/default/spans?{query}")
        spans += page["data"]
        cursor = page.get("next_cursor")
        if not cursor:
            return spans


def test_a_run_sent_to_phoenix_is_read_back_as_its_span_trees(oracle_db, phoenix):
    with TraceReader(oracle_db) as reader:
        episodes = {ep["id"]: ep for ep in reader.episodes()}
        run_id = next(iter(episodes.values()))["run_id"]
    sent = export_otlp(oracle_db, f"{phoenix.url}/v1/traces", run_id=run_id)
    assert sent > len(episodes) > 0

    def all_stored() -> list[dict[str, Any]] | None:
        try:
            spans = _spans(phoenix.url)
        except urllib.error.HTTPError as e:  # the default project exists with its first span
            if e.code == 404:
                return None
            raise
        return spans if len(spans) >= sent else None

    spans = _poll(f"{sent} spans in Phoenix", SPANS_DEADLINE_S, all_stored, phoenix)
    assert len(spans) == sent

    by_id = {s["context"]["span_id"]: s for s in spans}
    assert len(by_id) == sent
    roots = [s for s in spans if not s["parent_id"]]
    assert len(roots) == len(episodes) == len({s["context"]["trace_id"] for s in spans})
    for root in roots:
        ep = episodes[root["attributes"]["sandlot.episode.id"]]
        assert root["name"] == f"episode {ep['task_id']}"
        assert root["attributes"]["sandlot.run.id"] == run_id
    for span in spans:  # every parent was stored, in the same trace
        if span["parent_id"]:
            parent = by_id[span["parent_id"]]
            assert parent["context"]["trace_id"] == span["context"]["trace_id"]

    chats = [s for s in spans if s["attributes"].get("gen_ai.operation.name") == "chat"]
    tools = [s for s in spans if s["attributes"].get("gen_ai.operation.name") == "execute_tool"]
    assert chats and tools
    for chat in chats:
        assert chat["name"] == "chat oracle"
        assert isinstance(chat["attributes"]["gen_ai.usage.input_tokens"], int)
        assert isinstance(chat["attributes"]["gen_ai.usage.output_tokens"], int)
    for tool in tools:
        assert tool["name"] == f"execute_tool {tool['attributes']['gen_ai.tool.name']}"
        assert by_id[tool["parent_id"]]["name"] == "executor"
