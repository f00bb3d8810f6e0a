"""A local OpenAI-compatible HTTP server for tests: scripted replies, recorded requests.

Serves ``POST /v1/chat/completions`` on 127.0.0.1 (a free port) from a queue of
behaviours; when the queue is empty, ``default`` answers. A behaviour is a :class:`Reply`
or a function from the request body (a dict) to a Reply. Every request is recorded
(path, headers, body) before it is answered. Use the ``fake_openai`` fixture (available
to every test through tests/conftest.py) or the server as a context manager::

    fake_openai.push(tool_reply({"name": "add_note", "arguments": {"text": "x"}}), text_reply("done"))
    model = OpenAIModel("fake", base_url=fake_openai.base_url, api_key="sk-test")
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

__all__ = [
    "Behaviour",
    "FakeOpenAIServer",
    "RecordedRequest",
    "Reply",
    "completion",
    "fake_openai",
    "malformed",
    "rate_limited",
    "server_error",
    "slow",
    "text_reply",
    "tool_reply",
]


@dataclass
class Reply:
    """One HTTP answer. ``body``: a dict/list is sent as JSON, str/bytes as they are."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (for client timeouts)


Behaviour = Reply | Callable[[dict[str, Any]], Reply]


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]  # lower-cased names
    body: Any  # the parsed JSON body, or the raw text when it is not JSON


_ids = itertools.count(1)


def completion(
    content: Any = None,
    tool_calls: list[dict[str, Any]] | None = None,
    *,
    model: str = "fake-model",
    prompt_tokens: Any = 11,
    completion_tokens: Any = 7,
    usage: dict[str, Any] | None = None,
    arguments_as_text: bool = True,
) -> dict[str, Any]:
    """A chat.completion body. Tool calls are ``{"name", "arguments", "id"?}``; arguments
    may be a dict (sent as JSON text) or raw text.

    For servers that misbehave, every value goes out as given: ``content`` may be an
    object or a list, a name a number, token counts anything JSON holds (``2**70``, -5,
    "12"); ``usage`` replaces the whole usage object; with ``arguments_as_text=False``
    arguments are sent as the JSON value itself (an object), not as a string of JSON.
    """
    message: dict[str, Any] = {"role": "assistant", "content": content}
    if tool_calls:
        message["tool_calls"] = [
            {
                "id": c.get("id", f"call_fake_{i + 1}"),
                "type": "function",
                "function": {
                    "name": c["name"],
                    "arguments": c["arguments"]
                    if isinstance(c.get("arguments"), str) or not arguments_as_text
                    else json.dumps(c.get("arguments", {})),
                },
            }
            for i, c in enumerate(tool_calls)
        ]
    if usage is None:
        total = (
            prompt_tokens + completion_tokens
            if isinstance(prompt_tokens, int) and isinstance(completion_tokens, int)
            else None
        )
        usage = {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": total,
        }
    return {
        "id": f"chatcmpl-fake-{next(_ids)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": model,
        "choices": [
            {
                "index": 0,
                "message": message,
                "finish_reason": "tool_calls" if tool_calls else "stop",
                "logprobs": None,
            }
        ],
        "usage": usage,
    }


def text_reply(content: Any, **options: Any) -> Reply:
    return Reply(body=completion(content, **options))


def tool_reply(*calls: dict[str, Any], content: str | None = None, **options: Any) -> Reply:
    return Reply(body=completion(content, list(calls), **options))


def rate_limited(retry_after_ms: int = 1) -> Reply:
    """A 429 that asks for a retry after ``retry_after_ms`` (the SDK honours it)."""
    return Reply(
        status=429,
        body={"error": {"message": "Rate limit reached", "type": "rate_limit_exceeded"}},
        headers={"retry-after-ms": str(retry_after_ms)},
    )


def server_error(status: int = 500, retry_after_ms: int | None = 1) -> Reply:
    headers = {"retry-after-ms": str(retry_after_ms)} if retry_after_ms is not None else {}
    body = {"error": {"message": "The server had an error", "type": "server_error"}}
    return Reply(status=status, body=body, headers=headers)


def malformed(body: Any = "this is not json {") -> Reply:
    """A 200 whose body is not a completion: raw text by default, or any JSON given."""
    return Reply(body=body)


def slow(seconds: float, then: Reply | None = None) -> Reply:
    reply = then or text_reply("finally")
    return Reply(status=reply.status, body=reply.body, headers=reply.headers, delay=seconds)


class FakeOpenAIServer:
    """The server. Thread-safe: handler threads share the queue and the record under a lock.

    Args:
        default: Answers when the queue is empty (a text reply "Hello from the fake
            server." unless given).
    """

    def __init__(self, default: Behaviour | None = None) -> None:
        self.default: Behaviour = default or (
            lambda body: text_reply("Hello from the fake server.")
        )
        self.requests: list[RecordedRequest] = []
        # GET /v1/models: None answers 404 (no model list); else these names, or the
        # status models_status when it is set (401 for a bad key, say)
        self.models: list[str] | None = None
        self.models_status: int | None = None
        self._queue: deque[Behaviour] = deque()
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # -- scripting and inspection --------------------------------------------------
    def push(self, *behaviours: Behaviour) -> FakeOpenAIServer:
        """Queue behaviours; each answers one request, in order."""
        with self._lock:
            self._queue.extend(behaviours)
        return self

    @property
    def bodies(self) -> list[Any]:
        with self._lock:
            return [r.body for r in self.requests]

    @property
    def url(self) -> str:
        if self._httpd is None:
            raise RuntimeError("the fake OpenAI server is not started; call start() first")
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        """What to pass as ``base_url`` / OPENAI_BASE_URL."""
        return self.url + "/v1"

    # -- lifecycle -------------------------------------------------------------------
    def start(self) -> FakeOpenAIServer:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._httpd.daemon_threads = True
        # A short poll interval so that stop() returns in milliseconds, not 0.5 s.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            kwargs={"poll_interval": 0.02},
            name="fake-openai",
            daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in a slow reply
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def __enter__(self) -> FakeOpenAIServer:
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # -- serving ---------------------------------------------------------------------
    def _answer(self, path: str, headers: dict[str, str], raw: bytes) -> Reply:
        try:
            body: Any = json.loads(raw) if raw else None
        except ValueError:
            body = raw.decode("utf-8", "replace")
        with self._lock:
            self.requests.append(RecordedRequest(path, headers, body))
            behaviour = self._queue.popleft() if self._queue else self.default
        if path.rstrip("/") != "/v1/chat/completions":
            return Reply(status=404, body={"error": {"message": f"no route {path}"}})
        return (
            behaviour(body if isinstance(body, dict) else {}) if callable(behaviour) else behaviour
        )


def _handler_for(server: FakeOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as real servers do

        def do_POST(self) -> None:  # noqa: N802 - the stdlib's naming
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length)
            headers = {k.lower(): v for k, v in self.headers.items()}
            reply = server._answer(self.path, headers, raw)
            if reply.delay and server._stopping.wait(reply.delay):
                return
            if isinstance(reply.body, dict | list):
                data = json.dumps(reply.body).encode()
            elif isinstance(reply.body, str):
                data = reply.body.encode()
            else:
                data = reply.body or b""
            try:
                self.send_response(reply.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(data)))
                for name, value in reply.headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)
            except OSError:
                pass  # the client gave up (a timeout test); nothing to answer

        def do_GET(self) -> None:  # noqa: N802 - the stdlib's naming
            listed = server.models
            if server.models_status is not None:
                status, body = server.models_status, {"error": {"message": "refused"}}
            elif self.path.rstrip("/") != "/v1/models" or listed is None:
                status, body = 404, {"error": {"message": f"no route {self.path}"}}
            else:
                models = [{"id": m, "object": "model", "owned_by": "fake"} for m in listed]
                status, body = 200, {"object": "list", "data": models}
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
            pass  # keep test output clean

    return Handler


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAIServer]:
    """A started FakeOpenAIServer, stopped after the test."""
    with FakeOpenAIServer() as server:
        yield server
