"""The one run summary and the one pass@k, for the Python API, the CLI and the viewer.

An episode's outcome (passed, failed, gave_up, budget, error, interrupted) is decided
once, when it ends (:func:`sandlot.environments.trajectory.decide_outcome`), and stored
in the ``episodes.outcome`` column. Here the outcomes are counted and averaged:

* the success rate and the mean score are over the *scored* episodes — passed, failed,
  gave up, budget spent. Errored and interrupted episodes are reported apart and never
  averaged in: an infrastructure failure says nothing about the agent.
* pass@k per task uses the task's scored episodes, averaged over the tasks that have
  one (the unbiased estimator of Chen et al., 2021).
* pass@k and pass^k for every k up to the epochs, standard errors, bootstrap intervals
  and the per-tag rows come from :mod:`sandlot.traces.stats`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from math import comb
from typing import Any

from sandlot.environments.trajectory import OUTCOMES
from sandlot.errors import UserError

__all__ = [
    "OUTCOME_SQL",
    "SCORED_OUTCOMES",
    "SCORED_SQL",
    "outcome_sql",
    "pass_at_k",
    "summarize",
]

SCORED_OUTCOMES = ("passed", "failed", "gave_up", "budget")


def outcome_sql(alias: str = "", *, column: bool = True) -> str:
    """An SQL expression for an episodes row's outcome. Rows written before the
    ``outcome`` column existed get theirs from status, success and error (``column``
    False: the file has no such column at all, as an old file opened read-only)."""
    p = f"{alias}." if alias else ""
    stored = f"{p}outcome" if column else "NULL"
    return (
        f"coalesce({stored}, CASE WHEN {p}status IN ('error', 'interrupted') THEN {p}status "
        f"WHEN {p}status = 'running' THEN NULL WHEN {p}success = 1 THEN 'passed' "
        f"WHEN {p}error LIKE 'model-call budget%' OR {p}error LIKE 'tool-call budget%' "
        f"THEN 'budget' WHEN {p}error LIKE 'step failed%' THEN 'gave_up' ELSE 'failed' END)"
    )


OUTCOME_SQL = outcome_sql()
# for SQL that averages over the scored episodes: "o IN {SCORED_SQL}"
SCORED_SQL = "(" + ", ".join(f"'{o}'" for o in SCORED_OUTCOMES) + ")"


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimator for ``c`` successes in ``n`` samples.

    ``k`` larger than ``n`` is clipped to ``n`` (a task run fewer times than the run's
    epochs, e.g. an interrupted run, counts with what it has).
    """
    if n < 1 or k < 1:
        raise UserError(f"pass@k needs n >= 1 and k >= 1 (n={n}, k={k})")
    k = min(k, n)
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


def _cost(episodes: list[Mapping[str, Any]]) -> float | None:
    """USD the episodes' model calls cost, or None when none recorded a cost."""
    costs = [float(e["cost"]) for e in episodes if e.get("cost") is not None]
    return sum(costs) if costs else None


def summarize(
    episodes: Iterable[Mapping[str, Any]],
    *,
    run_id: str = "",
    epochs: int = 1,
    tags: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Any]:
    """Counts by outcome, rates, tokens and pass@k of a run's episodes.

    Each episode is a mapping with ``task_id``, ``outcome`` (None while running),
    ``score``, ``tokens``, ``model_calls``, ``tool_calls``, ``duration`` and ``cost``
    (USD, None or missing when not recorded; the summary's ``cost`` is None when no
    episode has one); ``tags``
    maps a task id to its capability tags (the per-tag rows, ``by_tag``).
    ``success_rate`` and ``mean_score`` are None when no episode was scored.

    Also: ``pass_at`` and ``pass_hat`` (k -> pass@k, pass^k for k = 1..epochs),
    ``success_se``/``success_ci`` and ``score_se``/``score_ci`` (standard error, 95%
    bootstrap interval over tasks; None when there is too little to say) and ``by_tag``.
    """
    from sandlot.traces import stats

    eps = list(episodes)
    counts = dict.fromkeys(OUTCOMES, 0)
    running = 0
    by_task: dict[str, list[bool]] = {}
    scores: list[float] = []
    scores_by_task: dict[str, list[float]] = {}
    for e in eps:
        outcome = e.get("outcome")
        if outcome is None:
            running += 1
            continue
        counts[outcome] = counts.get(outcome, 0) + 1
        if outcome in SCORED_OUTCOMES:
            by_task.setdefault(e["task_id"], []).append(outcome == "passed")
            if e.get("score") is not None:
                scores.append(float(e["score"]))
                scores_by_task.setdefault(e["task_id"], []).append(float(e["score"]))
    scored = sum(counts[o] for o in SCORED_OUTCOMES)
    per_task = {t: int(any(v)) for t, v in by_task.items()}
    out: dict[str, Any] = {
        "run_id": run_id,
        "episodes": len(eps),
        "tasks": len({e["task_id"] for e in eps}),
        **{("errors" if o == "error" else o): counts[o] for o in OUTCOMES},
        "running": running,
        "scored": scored,
        "success_rate": counts["passed"] / scored if scored else None,
        "mean_score": sum(scores) / len(scores) if scores else None,
        "tokens": sum(int(e.get("tokens") or 0) for e in eps),
        "model_calls": sum(int(e.get("model_calls") or 0) for e in eps),
        "tool_calls": sum(int(e.get("tool_calls") or 0) for e in eps),
        "duration": sum(float(e.get("duration") or 0.0) for e in eps),
        "cost": _cost(eps),
        "pass_at_k": sum(per_task.values()) / len(per_task) if per_task else None,
        "per_task": per_task,
    }
    if epochs > 1 and by_task:
        out[f"pass@{epochs}"] = sum(
            pass_at_k(len(v), sum(v), epochs) for v in by_task.values()
        ) / len(by_task)
    clustered = epochs > 1
    successes = {t: [float(x) for x in v] for t, v in by_task.items()}
    out |= {
        "pass_at": stats.pass_at(by_task, epochs),
        "pass_hat": stats.pass_hat(by_task, epochs),
        "success_se": stats.standard_error(successes, clustered=clustered),
        "success_ci": stats.bootstrap_ci(successes),
        "score_se": stats.standard_error(scores_by_task, clustered=clustered),
        "score_ci": stats.bootstrap_ci(scores_by_task),
        "by_tag": stats.tag_rows(by_task, scores_by_task, tags or {}, clustered=clustered),
    }
    return out
