"""What ``sandlot runs`` and ``sandlot episodes`` list, and episode ids from a prefix.

Every command that takes an episode id takes a prefix that names one episode only
(:func:`resolve_episode`), as run ids take one (:func:`~sandlot.traces.runs_compare.resolve_run`).
"""

from __future__ import annotations

from typing import Any

from sandlot.errors import UserError
from sandlot.traces.query import TraceReader
from sandlot.traces.why import why

__all__ = ["episode_rows", "resolve_episode", "run_rows"]


def resolve_episode(reader: TraceReader, ref: str) -> str:
    """The episode id ``ref`` names: the whole id, or a prefix of one episode's only.

    Raises:
        UserError: no episode has that id or prefix, or several share the prefix (the
            message lists some).
    """
    if ref and reader.episode(ref) is not None:
        return ref
    rows = reader._rows(
        "SELECT id FROM episodes WHERE substr(id, 1, ?) = ? ORDER BY started LIMIT 6",
        (len(ref), ref),
    )
    matches = [str(r["id"]) for r in rows] if ref else []
    if len(matches) == 1:
        return matches[0]
    if matches:
        shown = ", ".join(matches[:5]) + (", ..." if len(matches) > 5 else "")
        raise UserError(
            f"episode prefix {ref!r} matches several episodes in {reader.path} ({shown}); "
            "give more of the id"
        )
    recent = [str(r["id"]) for r in reader.episodes(order_by="-started", limit=5)]
    raise UserError(
        f"no episode {ref!r} in {reader.path} (an id or a prefix of one; the latest: "
        f"{', '.join(recent) or 'none'}; sandlot episodes lists them)"
    )


def run_rows(reader: TraceReader) -> list[dict[str, Any]]:
    """One row per run, oldest first: id, kind, status, model, agent, started, episodes,
    passed."""
    counts = {
        r["run_id"]: r
        for r in reader._rows(
            "SELECT run_id, count(*) AS episodes, sum(coalesce(success, 0)) AS passed "
            "FROM episodes GROUP BY run_id"
        )
    }
    rows = []
    for run in reader.runs():
        count = counts.get(run["id"], {})
        rows.append(
            {
                "id": run["id"],
                "kind": run.get("kind") or "run",
                "status": run.get("status"),
                "model": run.get("model"),
                "agent": run.get("agent"),
                "started": run.get("started"),
                "episodes": int(count.get("episodes") or 0),
                "passed": int(count.get("passed") or 0),
            }
        )
    return rows


def episode_rows(reader: TraceReader, run_id: str, *, failed: bool = False) -> list[dict[str, Any]]:
    """One row per episode of ``run_id`` (by task and epoch): id, task, epoch, outcome,
    score, tokens, cost and why it did not pass; with ``failed``, only those that ended
    and did not pass."""
    rows = []
    for e in reader.episodes(run_id, order_by="task_id"):
        outcome = e.get("outcome") or ("passed" if e.get("success") else e.get("status"))
        if failed and outcome in ("passed", "running", None):
            continue
        checks = reader.checks(e["id"]) if outcome == "failed" else []
        rows.append(
            {
                "id": e["id"],
                "task_id": e["task_id"],
                "epoch": e.get("epoch") or 0,
                "outcome": outcome,
                "score": e.get("score"),
                "tokens": e.get("tokens") or 0,
                "cost": e.get("cost"),
                "why": why(outcome, e.get("error"), checks),
            }
        )
    rows.sort(key=lambda r: (r["task_id"], r["epoch"]))
    return rows
