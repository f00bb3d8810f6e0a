"""Reading a stored episode back as the record a live one has: the one reader of the
trace file for re-scoring, resume and replay."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sandlot.agents.running.results import EpisodeResult
from sandlot.environments.trajectory import END_REASONS, EndReason, trajectory_from_events

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.traces.query import TraceReader

__all__ = ["end_reason_of", "load_episode"]

# the events the record is rebuilt from
RECORD_KINDS = ("model_call", "tool_call", "plan", "user_turn")


def end_reason_of(row: dict[str, Any]) -> EndReason | None:
    """How a stored episode ended. Rows written before ``end_reason`` existed get it
    from their outcome (and answer)."""
    reason = row.get("end_reason")
    if reason in END_REASONS:
        return reason  # type: ignore[no-any-return]
    outcome = row.get("outcome")
    if outcome in ("passed", "failed"):
        return "answered" if row.get("answer") is not None else "plan_finished"
    if outcome in ("budget", "gave_up", "error", "interrupted"):
        return outcome  # type: ignore[no-any-return]
    return None


def load_episode(store: TraceReader, row: dict[str, Any] | str) -> EpisodeResult:
    """A stored episode (its row, or its id) as an EpisodeResult: the record rebuilt
    from its events (a resume's superseded attempts left out), its stored outcome and
    score. ``verdicts`` stay empty: the stored checks are in ``store.checks(id)``."""
    if isinstance(row, str):
        found = store.episode(row)
        if found is None:
            raise KeyError(f"no episode {row!r} in {store.path}")
        row = found
    events = store.events(row["id"], kinds=RECORD_KINDS)
    trajectory = trajectory_from_events(
        events, row.get("answer"), ended=end_reason_of(row), error=row.get("error")
    )
    if not trajectory.steps:
        trajectory.steps = int(row.get("steps") or 0)
    return EpisodeResult(
        episode_id=row["id"],
        task_id=row["task_id"],
        epoch=int(row.get("epoch") or 0),
        trajectory=trajectory,
        outcome=row.get("outcome"),
        score=row.get("score"),
        duration=float(row.get("duration") or 0.0),
        sandbox_backend=row.get("sandbox_backend"),
    )
