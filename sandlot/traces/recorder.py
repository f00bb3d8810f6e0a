"""Episode recorders: how the agent loop writes events without knowing the store.

Every event gets a sequence number when it starts; a span (an event with a duration)
is written when it ends, under the number it got at its start, so children can name
their parent before it finishes. ``NullRecorder`` keeps the numbering and writes nothing.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["EpisodeRecorder", "NullRecorder", "Span"]


class Span:
    """An open span. Add to ``payload`` while it runs; ``end()`` writes it once."""

    __slots__ = ("_rec", "seq", "parent", "kind", "name", "payload", "ts", "_t0", "_ended")

    def __init__(
        self,
        rec: EpisodeRecorder,
        kind: str,
        name: str,
        payload: dict[str, Any],
        parent: int | None,
    ) -> None:
        self._rec = rec
        self.seq = rec.next_seq()
        self.parent = parent
        self.kind = kind
        self.name = name
        self.payload = payload
        self.ts = time.time()
        self._t0 = time.perf_counter()
        self._ended = False

    def set(self, **values: Any) -> Span:
        self.payload.update(values)
        return self

    def end(self, **values: Any) -> None:
        if self._ended:
            return
        self._ended = True
        self.payload.update(values)
        duration = time.perf_counter() - self._t0
        self._rec.emit(self.seq, self.parent, self.ts, self.kind, self.name, self.payload, duration)

    def __enter__(self) -> Span:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        if exc is not None and "error" not in self.payload:
            self.payload["error"] = f"{type(exc).__name__}: {exc}"
        self.end()


class EpisodeRecorder:
    """Base recorder: numbering and spans; subclasses decide where ``emit`` writes."""

    def __init__(self, episode_id: str = "", start_seq: int = 0) -> None:
        self.episode_id = episode_id
        self.start_seq = start_seq  # this recorder's first seq (after a resume, not 0)
        self.issued = start_seq  # how far the numbering has gone: the next seq to give
        self._counter = itertools.count(start_seq)

    def next_seq(self) -> int:
        seq = next(self._counter)
        self.issued = seq + 1
        return seq

    def skip_to(self, seq: int) -> None:
        """Number the next event ``seq`` or later: a resume leaves room for the events its
        checkpoint covers, so that one lost in a kill can be written again under its own
        number."""
        if seq > self.issued:
            self._counter = itertools.count(seq)
            self.issued = seq

    def stored_seqs(self) -> set[int] | None:
        """The seqs of this episode's events on disk; None when this recorder stores
        nothing."""
        return None

    def supersede(self, from_seq: int) -> None:
        """Mark this episode's events from ``from_seq`` up to this recorder's start as
        replaced: a resume re-runs that work (see sandlot.agents.running.restore). Kept, not
        counted. Recorders that store nothing have nothing to mark."""

    def message_refs(self, messages: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
        """What a ``model_call`` payload records of the messages sent: here the list
        itself (``{"messages": [...]}``); a recorder with a store keeps each message once
        and returns a reference to them (``{"message_refs": ...}``, see
        :mod:`sandlot.traces.messages`). Merge it into the payload:
        ``{**rec.message_refs(request.messages), ...}``."""
        return {"messages": list(messages)}

    def event(
        self,
        kind: str,
        name: str,
        payload: dict[str, Any] | None = None,
        *,
        parent: int | None = None,
        duration: float | None = None,
    ) -> int:
        """Write a point event now; returns its sequence number."""
        seq = self.next_seq()
        self.emit(seq, parent, time.time(), kind, name, payload or {}, duration)
        return seq

    def span(
        self,
        kind: str,
        name: str,
        payload: dict[str, Any] | None = None,
        *,
        parent: int | None = None,
    ) -> Span:
        """Start a span; use as a context manager or call ``end()``."""
        return Span(self, kind, name, payload if payload is not None else {}, parent)

    def emit(
        self,
        seq: int,
        parent: int | None,
        ts: float,
        kind: str,
        name: str,
        payload: dict[str, Any],
        duration: float | None,
    ) -> None:
        raise NotImplementedError


class NullRecorder(EpisodeRecorder):
    """Numbers events and drops them; optionally hands each to ``sink`` (for tests)."""

    def __init__(
        self, episode_id: str = "", sink: Callable[[dict[str, Any]], None] | None = None
    ) -> None:
        super().__init__(episode_id)
        self._sink = sink

    def emit(self, seq, parent, ts, kind, name, payload, duration) -> None:  # type: ignore[override]
        if self._sink is not None:
            self._sink(
                {
                    "episode_id": self.episode_id,
                    "seq": seq,
                    "parent": parent,
                    "ts": ts,
                    "kind": kind,
                    "name": name,
                    "payload": payload,
                    "duration": duration,
                }
            )
