"""A response cache: a model's replies kept in a SQLite file, keyed on the request.

``CachedModel(model, "responses.db")`` (``sandlot run --cache FILE``) answers a request
it has seen before from the file, without calling the model; a new request goes to the
model and its reply is stored. The key is a SHA-256 of what decides the reply: the
model's description without its price, timeout and retries (name, kind, base URL,
sampling options, tool-call mode), the request's purpose, messages and tool schemas.
So a rerun of a suite with a deterministic model (temperature 0, a seed) sends nothing
and records the same replies, and a change of model, option, prompt or tool misses.

A reply served from the cache is recorded like any other, with ``cache_hit: true`` on
its model_call event and a cost of 0 (it was paid for when it was made). Failed calls
are never stored. The file is shared safely by the concurrent episodes of a run (one
connection under a lock; SQLite's WAL mode for other processes).

What is stored is redacted as the trace is (:class:`~sandlot.traces.redact.Redactor`
with the model's secrets and the environment's keys): a reply that holds the API key
keeps it out of the cache file too, and a hit serves the same redacted text the trace
holds.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandlot.agents.models.base import Model, ModelRequest, ModelResponse, Price, Usage
from sandlot.errors import UserError
from sandlot.tools.calls import ToolCall
from sandlot.traces.redact import Redactor

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.environments.tasks import Task

__all__ = ["CachedModel", "ResponseCache", "request_key"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS responses (
    key TEXT PRIMARY KEY,
    model TEXT NOT NULL,
    response TEXT NOT NULL,
    created REAL NOT NULL
)
"""

# what changes how a model is billed or waited for, never what it replies
_NOT_KEYED = ("price", "timeout", "max_retries", "response_cache")


def _keyed(described: Any) -> Any:
    """A model description without what does not change its replies (at every level: a
    model per role describes each)."""
    if isinstance(described, dict):
        return {k: _keyed(v) for k, v in described.items() if k not in _NOT_KEYED}
    return described


def request_key(model: Model, request: ModelRequest, redactor: Redactor | None = None) -> str:
    """The cache key of ``request`` to ``model`` (a hex SHA-256).

    With ``redactor``, of the request with its secrets redacted as the cache stores
    replies: a conversation that holds a reply as it came (with a secret) and the same
    conversation holding it as the cache served it (redacted) have one key.
    """
    messages: Any = request.messages
    if redactor is not None:
        messages = redactor.data(messages)
    keyed = {
        "model": _keyed(model.describe()),
        "purpose": request.purpose,
        "messages": messages,
        "tools": request.tools,
    }
    text = json.dumps(keyed, sort_keys=True, ensure_ascii=False, default=str)
    if redactor is not None:
        text = redactor.text(text)
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


class ResponseCache:
    """The SQLite file of stored replies.

    Args:
        path: The SQLite file (created when missing, with its folder).
        secrets: Values never to store (redacted as the trace redacts them, with the
            environment's keys).

    Raises:
        UserError: the file cannot be opened as a response cache.
    """

    def __init__(self, path: str | Path, secrets: list[str] | tuple[str, ...] = ()) -> None:
        self.path = Path(path)
        self.redactor = Redactor(secrets)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # a file in the way, no permission
            raise UserError(
                f"cannot make the folder of the response cache {self.path}: {exc}"
            ) from exc
        try:
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_SCHEMA)
        except sqlite3.Error as exc:
            raise UserError(f"cannot use {self.path} as a response cache: {exc}") from exc
        self._lock = threading.Lock()

    def get(self, key: str) -> ModelResponse | None:
        """The reply stored under ``key``, or None."""
        with self._lock:
            row = self._db.execute("SELECT response FROM responses WHERE key = ?", (key,))
            found = row.fetchone()
        return None if found is None else _response_from(json.loads(found[0]))

    def put(self, key: str, model: str, response: ModelResponse) -> None:
        """Store ``response`` under ``key`` (replacing what was there), redacted."""
        text = self.redactor.json(_stored(response))
        with self._lock:
            self._db.execute(
                "INSERT OR REPLACE INTO responses (key, model, response, created) "
                "VALUES (?, ?, ?, ?)",
                (key, self.redactor.text(model), text, time.time()),
            )

    def __len__(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM responses").fetchone()[0])

    def close(self) -> None:
        with self._lock:
            self._db.close()


class CachedModel(Model):
    """``model`` with its replies kept in the response cache at ``path``.

    Args:
        model: The model that answers what the cache does not hold.
        path: The SQLite file (created when missing).

    Attributes:
        hits: Requests answered from the cache in this process.
        misses: Requests sent to ``model``.
    """

    def __init__(self, model: Model, path: str | Path) -> None:
        self.model = model
        self.cache = ResponseCache(path, model.secrets())
        self.name = model.name
        self.hits = 0
        self.misses = 0

    @property  # type: ignore[override]
    def price(self) -> Price | None:  # the wrapped model's, as --price-... sets it
        return self.model.price

    @price.setter
    def price(self, value: Price | None) -> None:
        self.model.price = value

    async def complete(self, request: ModelRequest) -> ModelResponse:
        key = request_key(self.model, request, self.cache.redactor)
        stored = self.cache.get(key)
        if stored is not None:
            self.hits += 1
            return stored
        self.misses += 1
        response = await self.model.complete(request)
        self.cache.put(key, response.model or self.model.name, response)
        return response

    async def check(self) -> None:
        await self.model.check()

    async def aclose(self) -> None:
        try:
            await self.model.aclose()
        finally:
            self.cache.close()

    def describe(self) -> dict[str, Any]:
        return {**self.model.describe(), "response_cache": str(self.cache.path)}

    def price_for(self, request: ModelRequest) -> Price | None:
        return self.model.price_for(request)

    def secrets(self) -> list[str]:
        return self.model.secrets()

    def model_calls_needed(self, task: Task, agent: str) -> int | None:
        return self.model.model_calls_needed(task, agent)


def _stored(response: ModelResponse) -> dict[str, Any]:
    return {
        "content": response.content,
        "tool_calls": [
            {"id": c.id, "name": c.name, "arguments": c.arguments} for c in response.tool_calls
        ],
        "usage": {
            "prompt_tokens": response.usage.prompt_tokens,
            "completion_tokens": response.usage.completion_tokens,
            "cached_tokens": response.usage.cached_tokens,
        },
        "model": response.model,
        "notes": response.notes,
    }


def _response_from(data: dict[str, Any]) -> ModelResponse:
    usage = data.get("usage") or {}
    response = ModelResponse(
        content=data.get("content"),
        tool_calls=[ToolCall(c["id"], c["name"], c["arguments"]) for c in data["tool_calls"]],
        usage=Usage(
            int(usage.get("prompt_tokens") or 0),
            int(usage.get("completion_tokens") or 0),
            int(usage.get("cached_tokens") or 0),
        ),
        model=str(data.get("model") or ""),
        notes=list(data.get("notes") or []),
    )
    return replace(response, from_cache=True)
