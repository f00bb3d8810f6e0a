"""Estimators for a run's summary: pass@k, pass^k, standard errors, bootstrap intervals
and per-tag rows. Pure Python, deterministic.

Everything here works on the *scored* episodes (passed, failed, gave up, budget spent),
grouped by task: ``groups`` maps a task id to its episodes' values (1.0/0.0 for success,
the score for the mean score). A task is the unit of resampling and of the clustered
standard error, since a task's epochs are not independent of each other.

* pass@k — the chance that at least one of k attempts succeeds: the unbiased estimator
  ``1 - C(n-c, k) / C(n, k)`` per task (Chen et al., 2021), averaged over the tasks.
* pass^k — the chance that all k attempts succeed: ``C(c, k) / C(n, k)`` per task,
  averaged over the tasks. ``k`` larger than a task's ``n`` is clipped to ``n``.
* standard error of a pooled mean (the success rate, the mean score) — with one epoch,
  the plain one over episodes, ``sqrt(p (1 - p) / n)`` for a rate (population variance
  over ``n``); with several epochs, clustered by task: each task's mean is the unit,
  weighted by its episode count (the cluster-robust CR1 estimator; with equal counts it
  is the sample standard deviation of the task means over ``sqrt(tasks)``).
* a 95% percentile bootstrap interval of a pooled mean, resampling tasks with
  replacement, 2,000 resamples from a fixed seed, so the same episodes give the same
  interval. None with fewer than two tasks.
"""

from __future__ import annotations

import random
import re
from collections.abc import Iterable, Mapping, Sequence
from math import comb, sqrt
from typing import Any

from sandlot.traces.redact import loads
from sandlot.traces.summary import pass_at_k

__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_SEED",
    "CAPABILITY_TAGS",
    "TASK_TAGS_SQL",
    "bootstrap_ci",
    "pass_at",
    "pass_hat",
    "pass_hat_k",
    "standard_error",
    "tag_order",
    "tag_rows",
    "tags_from_rows",
]

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 0
# The capabilities the shipped tasks are tagged with (docs/tasks.md says what each means);
# a task's `tags` may hold others, and every tag gets its row in the summary.
CAPABILITY_TAGS = (
    "tool-selection",
    "multi-step",
    "planning",
    "refusal",
    "retrieval",
    "state-change",
    "policy",
    "communication",
    "multi-turn",
    "no-tool",
    "code",
    "data",
)

Groups = Mapping[str, Sequence[float]]

# Each saved task's tags, for one run (the parameter): only definitions that are JSON
# with a list under "tags" (the rest of a hostile or garbled file gives no tags).
TASK_TAGS_SQL = (
    "SELECT task_id, json_extract(definition, '$.tags') AS tags FROM tasks "
    "WHERE run_id = ? AND json_valid(definition) "
    "AND json_type(definition, '$.tags') = 'array'"
)


def tags_from_rows(rows: Iterable[Mapping[str, Any]]) -> dict[str, list[str]]:
    """Task id -> tags from :data:`TASK_TAGS_SQL`'s rows; only the strings of a list
    count, and a task with none is left out."""
    out: dict[str, list[str]] = {}
    for r in rows:
        tags = loads(r["tags"])
        if isinstance(tags, list) and any(isinstance(t, str) for t in tags):
            out[str(r["task_id"])] = [t for t in tags if isinstance(t, str)]
    return out


def pass_hat_k(n: int, c: int, k: int) -> float:
    """The unbiased pass^k estimator (all of k attempts succeed) for ``c`` successes in
    ``n`` samples; ``k`` larger than ``n`` is clipped to ``n``."""
    if n < 1 or k < 1 or not 0 <= c <= n:
        raise ValueError(f"pass^k needs n >= 1, k >= 1 and 0 <= c <= n (n={n}, c={c}, k={k})")
    k = min(k, n)
    return comb(c, k) / comb(n, k)


def _per_task(successes: Mapping[str, Sequence[bool]], epochs: int, fn: Any) -> dict[int, float]:
    tasks = [(len(v), sum(bool(x) for x in v)) for v in successes.values() if v]
    if not tasks:
        return {}
    return {k: sum(fn(n, c, k) for n, c in tasks) / len(tasks) for k in range(1, epochs + 1)}


def pass_at(successes: Mapping[str, Sequence[bool]], epochs: int) -> dict[int, float]:
    """pass@k for k = 1..epochs, averaged over the tasks with a scored episode."""
    return _per_task(successes, max(1, epochs), pass_at_k)


def pass_hat(successes: Mapping[str, Sequence[bool]], epochs: int) -> dict[int, float]:
    """pass^k for k = 1..epochs, averaged over the tasks with a scored episode."""
    return _per_task(successes, max(1, epochs), pass_hat_k)


def _clusters(groups: Groups) -> list[tuple[float, int]]:
    """(sum, count) per task, in task-id order (so results do not depend on row order)."""
    return [(float(sum(groups[t])), len(groups[t])) for t in sorted(groups) if groups[t]]


def standard_error(groups: Groups, *, clustered: bool) -> float | None:
    """The standard error of the pooled mean of all values in ``groups``.

    ``clustered`` False: over the values, population variance over ``n``. ``clustered``
    True: the cluster-robust (CR1) standard error with tasks as clusters. None when there
    are too few values (or tasks) to say.
    """
    clusters = _clusters(groups)
    total = sum(n for _, n in clusters)
    if not total:
        return None
    mean = sum(s for s, _ in clusters) / total
    if not clustered:
        values = [float(x) for t in sorted(groups) for x in groups[t]]
        return sqrt(sum((x - mean) ** 2 for x in values) / total / total)
    m = len(clusters)
    if m < 2:
        return None
    spread = sum((s - n * mean) ** 2 for s, n in clusters)
    return sqrt(m / (m - 1) * spread) / total


def bootstrap_ci(
    groups: Groups,
    *,
    level: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float] | None:
    """A percentile bootstrap interval of the pooled mean, resampling tasks."""
    clusters = _clusters(groups)
    m = len(clusters)
    if m < 2:
        return None
    rng = random.Random(seed)
    counts = {n for _, n in clusters}
    if len(counts) == 1:  # every task has as many episodes: the denominator is fixed
        sums, total = [s for s, _ in clusters], m * counts.pop()
        means = [sum(rng.choices(sums, k=m)) / total for _ in range(resamples)]
    else:
        means = []
        for _ in range(resamples):
            picked = rng.choices(clusters, k=m)
            means.append(sum(s for s, _ in picked) / sum(n for _, n in picked))
    means.sort()
    tail = (1.0 - level) / 2
    lo = means[round(tail * (resamples - 1))]
    hi = means[round((1.0 - tail) * (resamples - 1))]
    return (lo, hi)


_NUMBER = re.compile(r"(\d+)")


def tag_order(tag: str) -> tuple[tuple[int, int | str], ...]:
    """A tag's sort key with its numbers read as numbers, so that ``size:3``, ``size:5``,
    ``size:12`` come in that order (and before ``size:12b``)."""
    return tuple((0, int(p)) if p.isdigit() else (1, p) for p in _NUMBER.split(tag) if p)


def tag_rows(
    successes: Mapping[str, Sequence[bool]],
    scores: Groups,
    tags: Mapping[str, Sequence[str]],
    *,
    clustered: bool,
) -> dict[str, dict[str, Any]]:
    """One row per tag over the scored episodes of the tasks carrying it: ``episodes``,
    ``tasks``, ``passed``, ``success_rate``, ``success_se``, ``mean_score``, ``score_se``.
    Sorted by tag, numbers in a tag by value (:func:`tag_order`: ``size:3`` before
    ``size:12``); tasks without tags are in no row."""
    rows: dict[str, dict[str, Any]] = {}
    names = sorted({tag for t in successes for tag in tags.get(t, ())}, key=tag_order)
    for tag in names:
        ids = [t for t in successes if tag in tags.get(t, ())]
        succ = {t: [float(x) for x in successes[t]] for t in ids}
        sc = {t: scores[t] for t in ids if scores.get(t)}
        episodes = sum(len(v) for v in succ.values())
        passed = int(sum(sum(v) for v in succ.values()))
        n_scores = sum(len(v) for v in sc.values())
        rows[tag] = {
            "episodes": episodes,
            "tasks": len(ids),
            "passed": passed,
            "success_rate": passed / episodes if episodes else None,
            "success_se": standard_error(succ, clustered=clustered),
            "mean_score": sum(sum(v) for v in sc.values()) / n_scores if n_scores else None,
            "score_se": standard_error(sc, clustered=clustered),
        }
    return rows
