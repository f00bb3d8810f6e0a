"""A model that serves the outputs recorded in a trace, for re-executing an episode.

Each ``model_call`` event holds the purpose of the call and either the response or the
error. Replay answers each purpose's requests with that purpose's recorded outputs in
recorded order (by ``seq``), raising the recorded error where the original call failed.
Requests are not compared with the recorded ones here: comparing tool results is the
replay runner's job.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from sandlot.agents.models.base import Model, ModelError, ModelRequest, ModelResponse, Usage
from sandlot.errors import UserError
from sandlot.tools.calls import ToolCall

__all__ = ["ReplayModel", "response_from_payload"]

Recorded = ModelResponse | ModelError


def response_from_payload(payload: Mapping[str, Any]) -> Recorded:
    """The recorded output of one model_call payload: a ModelResponse, or a ModelError
    carrying the recorded error when the call failed."""
    if payload.get("error"):
        return ModelError(str(payload["error"]))
    response = payload.get("response")
    if not isinstance(response, Mapping):
        return ModelError(
            f"the recorded {payload.get('purpose', 'model')} call has neither a response nor an error"
        )
    calls = [
        ToolCall(
            id=str(c.get("id") or ""), name=str(c["name"]), arguments=c.get("arguments") or "{}"
        )
        for c in response.get("tool_calls") or []
    ]
    usage = payload.get("usage") or {}
    return ModelResponse(
        content=response.get("content"),
        tool_calls=calls,
        usage=Usage(
            prompt_tokens=int(usage.get("prompt_tokens") or 0),
            completion_tokens=int(usage.get("completion_tokens") or 0),
            cached_tokens=int(usage.get("cached_tokens") or 0),
        ),
        model=str(payload.get("model") or ""),
    )


class ReplayModel(Model):
    """Serves recorded responses per purpose, in order.

    Args:
        responses_by_purpose: For each purpose ("plan", "execute", "judge"), the recorded
            outputs in order; a ModelError entry is raised when its turn comes.
        name: The model name stored in traces.
    """

    def __init__(
        self, responses_by_purpose: Mapping[str, list[Recorded]], *, name: str = "replay"
    ) -> None:
        self.name = name
        self.recorded = {purpose: list(items) for purpose, items in responses_by_purpose.items()}
        self.served = dict.fromkeys(self.recorded, 0)
        self.requests: list[ModelRequest] = []
        self.overrun: list[str] = []  # purposes asked for past their recorded outputs

    def model_calls_needed(self, task: Any, agent: str) -> int | None:
        """Every recorded output may be asked for: the replay's model-call budget must
        not cut it shorter than the recording (the original may have had a larger one)."""
        return sum(len(items) for items in self.recorded.values())

    def unused(self) -> dict[str, int]:
        """Recorded outputs never asked for, by purpose (the replay ended early)."""
        left = {p: len(items) - self.served.get(p, 0) for p, items in self.recorded.items()}
        return {p: n for p, n in left.items() if n > 0}

    @classmethod
    def from_events(
        cls, events: Iterable[Mapping[str, Any]], *, name: str = "replay"
    ) -> ReplayModel:
        """From trace events (dicts with seq, kind, name, payload as JSON text or a dict)."""
        by_purpose: dict[str, list[Recorded]] = {}
        calls = [e for e in events if e.get("kind") == "model_call"]
        for event in sorted(calls, key=lambda e: e.get("seq") or 0):
            payload = event.get("payload") or {}
            if isinstance(payload, str | bytes):
                payload = json.loads(payload)
            purpose = payload.get("purpose") or event.get("name") or "execute"
            by_purpose.setdefault(purpose, []).append(response_from_payload(payload))
        return cls(by_purpose, name=name)

    @classmethod
    def from_trace(cls, db_path: str | Path, episode_id: str) -> ReplayModel:
        """From the ``events`` table of a trace database, opened read-only.

        Raises:
            FileNotFoundError: No database at ``db_path``.
            ValueError: The database has no model calls for ``episode_id``.
        """
        path = Path(db_path).expanduser().resolve()
        if not path.is_file():
            raise FileNotFoundError(f"no trace database at {path} (for replay of {episode_id!r})")
        # Read-only by URI, so replaying never writes to (or creates) a trace file.
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            rows = conn.execute(
                "SELECT seq, kind, name, payload FROM events"
                " WHERE episode_id = ? AND kind = 'model_call' ORDER BY seq",
                (episode_id,),
            ).fetchall()
        except sqlite3.DatabaseError as exc:
            raise UserError(
                f"cannot read events from {path}: {exc}; is it a sandlot trace?"
            ) from exc
        finally:
            conn.close()
        if not rows:
            raise UserError(
                f"episode {episode_id!r} has no recorded model calls in {path}; "
                "check the id with `sandlot view` or the episodes table"
            )
        events = [{"seq": s, "kind": k, "name": n, "payload": p} for s, k, n, p in rows]
        return cls.from_events(events, name=f"replay:{episode_id}")

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.requests.append(request)
        purpose = request.purpose
        items = self.recorded.get(purpose, [])
        position = self.served.get(purpose, 0)
        if position >= len(items):
            self.overrun.append(purpose)
            raise ModelError(
                f"replay ran out of recorded {purpose!r} responses: {len(items)} were recorded "
                f"and call {position + 1} was asked for; the episode has diverged from the trace"
            )
        self.served[purpose] = position + 1
        item = items[position]
        if isinstance(item, ModelError):
            raise ModelError(str(item))  # a fresh exception: raising one twice chains tracebacks
        return item

    def describe(self) -> dict[str, Any]:
        counts = {purpose: len(items) for purpose, items in self.recorded.items()}
        return {
            "name": self.name,
            "kind": type(self).__name__,
            "recorded": counts,
            **self.describe_price(),
        }
