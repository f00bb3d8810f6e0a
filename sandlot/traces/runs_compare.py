"""Two runs compared task by task: which tasks flipped, whether the difference is more
than chance, and what it cost.

The runs may be in one trace file or in two. Only the tasks both runs have are paired;
the tasks of one run only are listed apart. As in the run summary
(:mod:`sandlot.traces.summary`), only scored outcomes (passed, failed, gave up, budget)
count: a task's success rate in a run is its passed episodes over its scored ones
(several with epochs), and errored or interrupted episodes are listed apart.

Two paired tests, both over the tasks both runs scored:

* an exact McNemar test: a task *passes* in a run when most of its scored episodes
  passed; the tasks that passed in one run only are the discordant pairs, and the
  p-value is the two-sided binomial test of those counts against 1/2;
* a paired bootstrap 95% interval of the success-rate difference (B minus A): the tasks
  are resampled with replacement (2,000 resamples, a fixed seed, so the same runs always
  give the same interval) and the 2.5th and 97.5th percentiles of the mean difference
  are taken.
"""

from __future__ import annotations

import random
import sqlite3
from dataclasses import asdict, dataclass, field
from math import comb
from pathlib import Path
from typing import Any

from sandlot.errors import TraceFileError, UnknownNameError, UserError
from sandlot.traces.query import TraceReader
from sandlot.traces.redact import loads
from sandlot.traces.stats import tag_order
from sandlot.traces.summary import SCORED_OUTCOMES, outcome_sql

__all__ = [
    "BOOTSTRAP_RESAMPLES",
    "BOOTSTRAP_SEED",
    "RunComparison",
    "TaskPair",
    "TagDelta",
    "compare_runs",
    "mcnemar_exact",
    "open_trace",
    "paired_bootstrap",
    "resolve_run",
]

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20_240_601
PASS_TO_FAIL = "pass→fail"
FAIL_TO_PASS = "fail→pass"


@dataclass(frozen=True)
class TaskPair:
    """One task in both runs: its scored and passed episodes in each, and the flip."""

    task_id: str
    scored_a: int
    passed_a: int
    scored_b: int
    passed_b: int

    @property
    def rate_a(self) -> float:
        return self.passed_a / self.scored_a

    @property
    def rate_b(self) -> float:
        return self.passed_b / self.scored_b

    @property
    def flip(self) -> str | None:
        """``pass→fail``, ``fail→pass`` or None; a task passes when most of its scored
        episodes passed."""
        a, b = self.rate_a > 0.5, self.rate_b > 0.5
        if a == b:
            return None
        return PASS_TO_FAIL if a else FAIL_TO_PASS

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "rate_a": self.rate_a, "rate_b": self.rate_b, "flip": self.flip}


@dataclass(frozen=True)
class TagDelta:
    """The paired tasks with one tag: their mean success rate in each run."""

    tag: str
    tasks: int
    rate_a: float
    rate_b: float

    @property
    def delta(self) -> float:
        return self.rate_b - self.rate_a

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "delta": self.delta}


@dataclass
class RunComparison:
    """What :func:`compare_runs` finds. Rates are fractions (0..1), B minus A for deltas.

    ``rate_a`` and ``rate_b`` are the mean success rates over the paired tasks (None when
    no task is paired); ``ci`` is the bootstrap interval of ``rate_b - rate_a``;
    ``mean_tokens``, ``mean_duration`` and ``mean_cost`` are per ended episode of each
    run (``mean_cost`` None: the trace records no cost).
    """

    run_a: str
    run_b: str
    db_a: str
    db_b: str
    pairs: list[TaskPair]
    only_a: list[str]
    only_b: list[str]
    unscored: list[str]  # in both runs, but one of them scored no episode of it
    rate_a: float | None
    rate_b: float | None
    ci: tuple[float, float] | None
    mcnemar_p: float
    by_tag: list[TagDelta]
    mean_tokens: tuple[float | None, float | None]
    mean_duration: tuple[float | None, float | None]
    mean_cost: tuple[float | None, float | None]
    not_scored_a: list[dict[str, Any]] = field(default_factory=list)
    not_scored_b: list[dict[str, Any]] = field(default_factory=list)

    @property
    def delta(self) -> float | None:
        if self.rate_a is None or self.rate_b is None:
            return None
        return self.rate_b - self.rate_a

    @property
    def flipped(self) -> list[TaskPair]:
        return [p for p in self.pairs if p.flip is not None]

    @property
    def discordant(self) -> tuple[int, int]:
        """(pass→fail, fail→pass): the McNemar counts."""
        flips = [p.flip for p in self.pairs]
        return flips.count(PASS_TO_FAIL), flips.count(FAIL_TO_PASS)

    def to_dict(self) -> dict[str, Any]:
        b, c = self.discordant
        return {
            "run_a": self.run_a,
            "run_b": self.run_b,
            "db_a": self.db_a,
            "db_b": self.db_b,
            "paired_tasks": len(self.pairs),
            "rate_a": self.rate_a,
            "rate_b": self.rate_b,
            "delta": self.delta,
            "ci95": list(self.ci) if self.ci else None,
            "bootstrap": {"resamples": BOOTSTRAP_RESAMPLES, "seed": BOOTSTRAP_SEED},
            "mcnemar": {"pass_to_fail": b, "fail_to_pass": c, "p_value": self.mcnemar_p},
            "flipped": [p.to_dict() for p in self.flipped],
            "tasks": [p.to_dict() for p in self.pairs],
            "only_a": self.only_a,
            "only_b": self.only_b,
            "unscored": self.unscored,
            "by_tag": [t.to_dict() for t in self.by_tag],
            "tokens": _means(self.mean_tokens),
            "duration": _means(self.mean_duration),
            "cost": _means(self.mean_cost) if self.cost_recorded else None,
            "not_scored_a": self.not_scored_a,
            "not_scored_b": self.not_scored_b,
        }

    @property
    def cost_recorded(self) -> bool:
        return any(v is not None for v in self.mean_cost)


def _means(pair: tuple[float | None, float | None]) -> dict[str, float | None]:
    a, b = pair
    return {"a": a, "b": b, "delta": None if a is None or b is None else b - a}


# --- the tests ------------------------------------------------------------------------


def mcnemar_exact(b: int, c: int) -> float:
    """The exact (binomial) two-sided McNemar p-value for ``b`` and ``c`` discordant
    pairs: twice the probability of a split at least as uneven, at most 1."""
    if b < 0 or c < 0:
        raise UserError(f"discordant counts cannot be negative (b={b}, c={c})")
    n = b + c
    if n == 0:
        return 1.0
    tail = sum(comb(n, i) for i in range(min(b, c) + 1))
    return min(1.0, 2 * tail / 2**n)


def paired_bootstrap(
    differences: list[float],
    *,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
    level: float = 0.95,
) -> tuple[float, float] | None:
    """The percentile interval of the mean of ``differences`` (one per task), resampling
    tasks with replacement; None with no task."""
    n = len(differences)
    if n == 0:
        return None
    rng = random.Random(seed)
    means = sorted(sum(rng.choices(differences, k=n)) / n for _ in range(resamples))
    tail = (1 - level) / 2
    lo = means[int(tail * (resamples - 1))]
    hi = means[round((1 - tail) * (resamples - 1))]
    return (lo, hi)


# --- reading the runs ----------------------------------------------------------------


def open_trace(path: str | Path) -> TraceReader:
    """A read-only reader of an existing trace file; a missing file or one that is not a
    sandlot trace is a :class:`TraceFileError` saying so."""
    path = Path(path)
    if not path.is_file():
        raise TraceFileError(f"no trace file at {path}; give the path of a sandlot trace")
    try:
        reader = TraceReader(path)
        reader.runs()
    except sqlite3.Error as exc:
        raise TraceFileError(f"{path} is not a sandlot trace ({exc})") from exc
    return reader


def resolve_run(reader: TraceReader, ref: str) -> str:
    """A run id from ``ref``: an id, ``latest`` (the last run started) or a prefix that
    names one run only."""
    ids = [r["id"] for r in reader.runs()]
    if ref == "latest":
        if not ids:
            raise UserError(f"the trace {reader.path} has no run")
        return str(ids[-1])
    if ref in ids:
        return ref
    matches = [i for i in ids if i.startswith(ref)] if ref else []
    if len(matches) == 1:
        return str(matches[0])
    if len(matches) > 1:
        raise UserError(
            f"run prefix {ref!r} matches {len(matches)} runs in {reader.path} "
            f"({', '.join(matches[:5])}{', ...' if len(matches) > 5 else ''}); give more of the id"
        )
    raise UnknownNameError(f"run in {reader.path}", ref, ids[-10:] + ["latest"])


def _episodes(reader: TraceReader, run_id: str) -> list[dict[str, Any]]:
    columns = {c["name"] for c in reader._rows("PRAGMA table_info(episodes)")}
    cost = "cost" if "cost" in columns else "NULL"
    outcome = outcome_sql(column="outcome" in columns)
    return reader._rows(
        f"SELECT id, task_id, epoch, {outcome} AS outcome, tokens, duration, error, "
        f"{cost} AS cost FROM episodes WHERE run_id = ? ORDER BY task_id, epoch, rowid",
        (run_id,),
    )


def _tags(reader: TraceReader, run_id: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    for row in reader.tasks(run_id):
        definition = loads(row.get("definition")) or {}
        tags = definition.get("tags") if isinstance(definition, dict) else None
        out[row["task_id"]] = {str(t) for t in tags or () if t}
    return out


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _scored(eps: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    counts: dict[str, tuple[int, int]] = {}
    for e in eps:
        if e["outcome"] in SCORED_OUTCOMES:
            scored, passed = counts.get(e["task_id"], (0, 0))
            counts[e["task_id"]] = (scored + 1, passed + (e["outcome"] == "passed"))
    return counts


def _not_scored(eps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    keep = ("id", "task_id", "epoch", "outcome", "error")
    return [
        {k: e[k] for k in keep} | {"outcome": e["outcome"] or "running"}
        for e in eps
        if e["outcome"] not in SCORED_OUTCOMES
    ]


def compare_runs(
    reader_a: TraceReader, run_a: str, reader_b: TraceReader, run_b: str
) -> RunComparison:
    """Run ``run_a`` of ``reader_a`` against ``run_b`` of ``reader_b`` (the same reader
    for two runs of one file). The run ids must exist (see :func:`resolve_run`)."""
    for reader, run in ((reader_a, run_a), (reader_b, run_b)):
        if reader.run(run) is None:
            raise UnknownNameError(f"run in {reader.path}", run, [])
    eps_a, eps_b = _episodes(reader_a, run_a), _episodes(reader_b, run_b)
    tasks_a, tasks_b = {e["task_id"] for e in eps_a}, {e["task_id"] for e in eps_b}
    scored_a, scored_b = _scored(eps_a), _scored(eps_b)
    pairs = [
        TaskPair(t, *scored_a[t], *scored_b[t])
        for t in sorted(tasks_a & tasks_b)
        if t in scored_a and t in scored_b
    ]
    paired = {p.task_id for p in pairs}
    rate_a = _mean([p.rate_a for p in pairs])
    rate_b = _mean([p.rate_b for p in pairs])
    tags_a, tags_b = _tags(reader_a, run_a), _tags(reader_b, run_b)
    by_tag: dict[str, list[TaskPair]] = {}
    for p in pairs:
        for tag in tags_a.get(p.task_id, set()) | tags_b.get(p.task_id, set()):
            by_tag.setdefault(tag, []).append(p)
    b, c = [p.flip for p in pairs].count(PASS_TO_FAIL), [p.flip for p in pairs].count(FAIL_TO_PASS)

    def per_episode(eps: list[dict[str, Any]], column: str) -> float | None:
        ended = [e for e in eps if e["outcome"] is not None]
        return _mean([float(e[column] or 0) for e in ended])

    def cost(eps: list[dict[str, Any]]) -> float | None:
        return _mean([float(e["cost"]) for e in eps if e["cost"] is not None])

    return RunComparison(
        run_a=run_a,
        run_b=run_b,
        db_a=str(reader_a.path),
        db_b=str(reader_b.path),
        pairs=pairs,
        only_a=sorted(tasks_a - tasks_b),
        only_b=sorted(tasks_b - tasks_a),
        unscored=sorted((tasks_a & tasks_b) - paired),
        rate_a=rate_a,
        rate_b=rate_b,
        ci=paired_bootstrap([p.rate_b - p.rate_a for p in pairs]),
        mcnemar_p=mcnemar_exact(b, c),
        by_tag=[
            TagDelta(
                tag,
                len(ps),
                _mean([p.rate_a for p in ps]) or 0.0,
                _mean([p.rate_b for p in ps]) or 0.0,
            )
            for tag, ps in sorted(by_tag.items(), key=lambda item: tag_order(item[0]))
        ],
        mean_tokens=(per_episode(eps_a, "tokens"), per_episode(eps_b, "tokens")),
        mean_duration=(per_episode(eps_a, "duration"), per_episode(eps_b, "duration")),
        mean_cost=(cost(eps_a), cost(eps_b)),
        not_scored_a=_not_scored(eps_a),
        not_scored_b=_not_scored(eps_b),
    )
