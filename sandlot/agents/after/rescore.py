"""Re-scoring: apply (changed) checklists to stored episodes without running them.

Trajectory and answer items are always re-checked from the trace; state items when the
episode stored its environment's final state and the world can check a snapshot. Every
item that could not be re-checked is reported with the reason.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandlot.agents.after.stored import load_episode
from sandlot.agents.models.base import Model
from sandlot.agents.running.runner import open_store
from sandlot.environments.base import get_environment_class
from sandlot.environments.checklist import Verdict, score_episode
from sandlot.environments.tasks import Task
from sandlot.environments.trajectory import decide_outcome, is_success
from sandlot.traces.why import evidence_sentence, failed_checks, why

__all__ = ["RescoredEpisode", "rescore"]


@dataclass
class RescoredEpisode:
    episode_id: str
    task_id: str
    old_score: float | None
    new_score: float
    old_success: bool | None
    new_success: bool
    old_outcome: str | None = None
    new_outcome: str | None = None
    unchecked: list[tuple[str, str]] = field(default_factory=list)  # (item id, why)
    # when it does not pass: (item id, evidence as a sentence) of each failed check
    # (the required ones, or every failed one when no required one failed)
    failed: list[tuple[str, str]] = field(default_factory=list)
    why: str = ""  # why it does not pass, in one phrase (sandlot.traces.why)


async def rescore(
    db: str | Path,
    tasks: Iterable[Task],
    *,
    run_id: str | None = None,
    judge: Model | None = None,
    write: bool = True,
) -> list[RescoredEpisode]:
    """Score every stored episode of the given tasks (optionally of one run) against the
    tasks' checklists; with ``write``, replace its checks, score and success."""
    by_id = {t.id: t for t in tasks}
    out: list[RescoredEpisode] = []
    async with open_store(db, existing=True, readonly=not write) as store:
        assert store is not None
        for row in store.episodes(run_id):
            task = by_id.get(row["task_id"])
            if task is None or row["status"] not in ("done", "error"):
                continue
            stored = load_episode(store, row)
            snapshot = _snapshot(row.get("final_state"))
            try:
                env_class: Any = get_environment_class(task.environment)
            except KeyError:
                env_class = None
            report = await score_episode(
                task,
                stored.trajectory,
                snapshot=snapshot,
                environment_class=env_class,
                judge=judge,
            )
            # the one success rule: how the episode ended still decides
            outcome = decide_outcome(stored.trajectory.ended, report.success)
            item = RescoredEpisode(
                episode_id=row["id"],
                task_id=row["task_id"],
                old_score=row.get("score"),
                new_score=report.score,
                old_success=None if row.get("success") is None else bool(row["success"]),
                new_success=is_success(outcome),
                old_outcome=stored.outcome,
                new_outcome=outcome,
                unchecked=[
                    (v.item_id, v.skipped_reason or "skipped")
                    for v in report.verdicts
                    if v.passed is None
                ],
            )
            if not item.new_success:
                item.why = why(outcome, stored.trajectory.error, report.verdicts)
                item.failed = _failed(report.verdicts)
            out.append(item)
            if write:
                store.replace_checks(row["id"], [v.as_row() for v in report.verdicts])
                store.update_episode(row["id"], score=report.score, outcome=outcome)
    return out


def _failed(verdicts: list[Verdict]) -> list[tuple[str, str]]:
    """(item id, evidence sentence) of the checks :func:`failed_checks` names."""
    ids = set(failed_checks(verdicts))
    return [
        (v.item_id, evidence_sentence(v.kind, v.evidence, v.passed) or "failed")
        for v in verdicts
        if v.item_id in ids and v.passed is False
    ]


def _snapshot(text: Any) -> dict[str, Any] | None:
    if not text:
        return None
    if isinstance(text, dict):
        return text
    try:
        return json.loads(text)
    except (TypeError, ValueError):
        return None
