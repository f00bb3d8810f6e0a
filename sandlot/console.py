"""Rendering for the command line: progress, summary tables, tool listings (rich)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.agents.running.results import EpisodeResult, RunResult
    from sandlot.retrieval import RankedTool
    from sandlot.tools.toolset import Toolset
    from sandlot.traces.runs_compare import RunComparison

__all__ = [
    "OUTCOME_STYLE",
    "console",
    "err_console",
    "outcome_text",
    "print_json",
    "print_ranking",
    "print_run_comparison",
    "print_run_summary",
    "print_toolset",
    "usd",
]

console = Console()
err_console = Console(stderr=True)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


# How each outcome looks; the words are the ones stored in the trace and shown by the viewer.
OUTCOME_STYLE = {
    "passed": "green",
    "failed": "red",
    "gave_up": "yellow",
    "budget": "yellow",
    "error": "magenta",
    "interrupted": "dim",
}


_LABELS = {"pass_at_k": "tasks with a pass", "scored": "scored (averaged below)"}


def usd(value: float | None) -> str:
    """A cost in USD as the tables show it (``-``: not recorded)."""
    if value is None:
        return "-"
    return f"${value:.4f}" if value < 1 else f"${value:,.2f}"


def outcome_text(outcome: str | None) -> str:
    word = outcome or "running"
    return f"[{OUTCOME_STYLE.get(word, 'default')}]{word}[/]"


def print_run_summary(result: RunResult, *, max_rows: int = 60) -> None:
    """Per-episode rows (when there are not too many) and the run's totals."""
    from sandlot.traces.why import why

    eps = sorted(result.episodes, key=lambda e: (e.task_id, e.epoch))
    if len(eps) <= max_rows:
        epochs = any(e.epoch for e in eps)  # the column only when there is more than one
        table = Table(title=f"run {result.run_id}", show_lines=False)
        table.add_column("task", no_wrap=True)
        for col in (["ep"] if epochs else []) + ["outcome", "score"]:
            table.add_column(col, justify="left" if col == "outcome" else "right", no_wrap=True)
        costs = any(e.cost is not None for e in eps)  # the column only when recorded
        for col in ("model\ncalls", "tool\ncalls", "tokens", *(["cost"] if costs else []), "secs"):
            table.add_column(col, justify="right", no_wrap=True)
        table.add_column("why", overflow="fold")  # why it did not pass (traces.why)
        for e in eps:
            table.add_row(
                e.task_id,
                *([str(e.epoch)] if epochs else []),
                outcome_text(e.outcome),
                "-" if e.score is None else f"{e.score:.2f}",
                str(e.model_calls),
                str(e.tool_calls),
                str(e.tokens),
                *([usd(e.cost)] if costs else []),
                f"{e.duration:.2f}",
                Text(why(e.outcome, e.error, e.verdicts)),  # as is, never markup
            )
        console.print(table)
    else:
        # too many for a table: the ones that did not pass, each with why, still listed
        failing = [e for e in eps if e.outcome not in ("passed", "error", "interrupted")]
        console.print(
            f"{len(eps)} episodes (more than {max_rows}: no table); "
            f"{len(failing)} did not pass{':' if failing else '.'}"
        )
        for e in failing:
            reason = why(e.outcome, e.error, e.verdicts)
            line = Text.from_markup(outcome_text(e.outcome))
            console.print(line + Text(f" {e.task_id} (epoch {e.epoch}): {reason}"))
    summary = result.summary()
    totals = Table(title="summary", show_header=False)
    totals.add_column("metric")
    totals.add_column("value", justify="right")
    for key, value in summary.items():
        if key in _NOT_ROWS or (key in ("running", "cost") and not value):
            continue  # no cost row when no price was given
        if key.startswith("pass@") and summary.get("pass_at"):
            continue  # shown with pass^k below
        if value is None:
            value = "-"  # nothing scored: no rate
        elif key == "success_rate":
            value = _with_ci(value, summary.get("success_se"), summary.get("success_ci"), "%")
        elif key == "mean_score":
            value = _with_ci(value, summary.get("score_se"), summary.get("score_ci"), "")
        elif key == "pass_at_k" or key.startswith("pass@"):
            value = f"{value:.1%}"
        elif key == "duration":
            value = f"{value:.2f} s"
        elif key == "cost":
            value = usd(value)
        label = _LABELS.get(key, key.replace("_", " "))
        if key in OUTCOME_STYLE or key == "errors":
            label = outcome_text("error" if key == "errors" else key)
        totals.add_row(label, _fmt(value))
    if len(summary.get("pass_at") or {}) > 1:
        for k, value in summary["pass_at"].items():
            totals.add_row(f"pass@{k} / pass^{k}", f"{value:.1%} / {summary['pass_hat'][k]:.1%}")
    console.print(totals)
    _print_tags(summary.get("by_tag") or {})
    _print_sandboxes(eps)
    for e in eps:
        if e.outcome in ("error", "interrupted"):
            err_console.print(f"[red]{e.outcome}[/] {e.task_id} (epoch {e.epoch}): {e.error}")


# summary keys shown in their own rows or tables, not one row each
_NOT_ROWS = (
    "per_task",
    "pass_at",
    "pass_hat",
    "success_se",
    "success_ci",
    "score_se",
    "score_ci",
    "by_tag",
)


def _with_ci(value: float, se: float | None, ci: Any, unit: str) -> str:
    """``62.5% ± 8.1% (95% CI 45.0–80.0%)``; a score without the percent signs."""

    def f(x: float) -> str:
        return f"{x:.1%}" if unit == "%" else f"{x:.3f}"

    text = f(value)
    if se is not None:
        text += f" ± {f(se)}"
    if ci:
        text += f" (95% CI {f(ci[0])}–{f(ci[1])})"
    return text


def _print_tags(by_tag: dict[str, dict[str, Any]]) -> None:
    """One row per capability tag: episodes, tasks, success rate ± SE, mean score."""
    if not by_tag:
        return
    table = Table(title="by tag (scored episodes)")
    table.add_column("tag", no_wrap=True)
    for col in ("episodes", "tasks", "success", "score"):
        table.add_column(col, justify="right", no_wrap=True)
    for tag, row in by_tag.items():
        rate, score = row["success_rate"], row["mean_score"]
        table.add_row(
            Text(tag),  # a task file's word: as is, never markup
            str(row["episodes"]),
            str(row["tasks"]),
            "-" if rate is None else _with_ci(rate, row["success_se"], None, "%"),
            "-" if score is None else _with_ci(score, row["score_se"], None, ""),
        )
    console.print(table)


def _print_sandboxes(episodes: list[EpisodeResult]) -> None:
    """One line naming the sandbox backend(s) the episodes ran their code on (none when
    no episode made a sandbox); the local backend is marked as not isolated."""
    from sandlot.environments.sandbox.factory import backend_label

    used = sorted({e.sandbox_backend for e in episodes if e.sandbox_backend})
    if used:
        style = "bold red" if "local" in used else "default"
        labels = ", ".join(backend_label(b) for b in used)
        console.print(f"[{style}]sandbox: {labels}[/]", highlight=False)


def _pct(value: float | None, *, sign: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value * 100:+.1f} pts" if sign else f"{value:.1%}"


def _delta_line(label: str, pair: tuple[float | None, float | None], unit: str = "") -> str:
    """``tokens per episode: A 812.0, B 640.5, delta -171.5``; "-" for a run with no
    ended episode."""
    a, b = pair

    def f(x: float | None, sign: str = "") -> str:
        return "-" if x is None else f"{x:{sign}.2f}{unit}"

    delta = None if a is None or b is None else b - a
    return f"{label}: A {f(a)}, B {f(b)}, delta {f(delta, '+')}"


def print_run_comparison(result: RunComparison) -> None:
    """Two runs side by side: the flipped tasks, the success rates with the paired tests,
    per-tag deltas, token, time and cost deltas, and what was left out."""
    where = "" if result.db_a == result.db_b else f" ({result.db_a} vs {result.db_b})"
    # everything read from the trace is text, never markup
    console.print(escape(f"A = run {result.run_a}, B = run {result.run_b}{where}"), highlight=False)
    flipped = Table(title=f"flipped tasks ({len(result.flipped)} of {len(result.pairs)} paired)")
    for col in ("task", "flip", "A passed", "B passed"):
        flipped.add_column(col, no_wrap=True)
    for p in result.flipped:
        style = "red" if p.flip == "pass→fail" else "green"
        flipped.add_row(
            escape(p.task_id),
            f"[{style}]{p.flip}[/]",
            f"{p.passed_a}/{p.scored_a}",
            f"{p.passed_b}/{p.scored_b}",
        )
    console.print(flipped)
    b, c = result.discordant
    ci = (
        "-"
        if result.ci is None
        else escape(f"[{_pct(result.ci[0], sign=True)}, {_pct(result.ci[1], sign=True)}]")
    )
    console.print(
        f"A {_pct(result.rate_a)}, B {_pct(result.rate_b)}, "
        f"delta {_pct(result.delta, sign=True)} (95% CI {ci}, paired bootstrap over "
        f"{len(result.pairs)} tasks); McNemar p = {result.mcnemar_p:.4g} "
        f"({b} pass→fail, {c} fail→pass)",
        highlight=False,
    )
    if result.by_tag:
        tags = Table(title="by tag")
        for col in ("tag", "tasks", "A", "B", "delta"):
            tags.add_column(col, justify="left" if col == "tag" else "right", no_wrap=True)
        for t in result.by_tag:
            tags.add_row(
                escape(t.tag),
                str(t.tasks),
                _pct(t.rate_a),
                _pct(t.rate_b),
                _pct(t.delta, sign=True),
            )
        console.print(tags)
    console.print(_delta_line("tokens per episode", result.mean_tokens), highlight=False)
    console.print(_delta_line("time per episode", result.mean_duration, " s"), highlight=False)
    if result.cost_recorded:
        console.print(_delta_line("cost per episode", result.mean_cost), highlight=False)
    else:
        console.print("cost: not recorded", highlight=False)
    for label, tasks in (
        ("only in A", result.only_a),
        ("only in B", result.only_b),
        ("not scored in A or B", result.unscored),
    ):
        if tasks:
            console.print(f"{label}: {escape(', '.join(tasks))}", highlight=False)
    for run, eps in (("A", result.not_scored_a), ("B", result.not_scored_b)):
        for e in eps:
            err_console.print(
                f"{run}: {outcome_text(escape(e['outcome']))} {escape(e['task_id'])} "
                f"(epoch {e['epoch']})"
                + (f": {escape(str(e['error']))}" if e.get("error") else ""),
                highlight=False,
            )


def print_toolset(toolset: Toolset) -> None:
    table = Table(title=f"{toolset.name}: {len(toolset)} tools")
    table.add_column("tool")
    table.add_column("parameters")
    table.add_column("description")
    for t in toolset:
        first = t.description.strip().splitlines()[0] if t.description.strip() else ""
        table.add_row(t.name, ", ".join(t.parameters), first)
    console.print(table)


def print_ranking(query: str, retriever: str, ranked: list[RankedTool], toolset: Toolset) -> None:
    """A retriever's ranking for a query: rank, tool, score, the first line of each
    tool's description; "nothing matched" when it is empty."""
    if not ranked:
        console.print(
            f"nothing matched {query!r} ({retriever}, {len(toolset)} tools)", markup=False
        )
        return
    table = Table(title=Text(f"{retriever}: {query}"))  # Text: no markup from the query
    table.add_column("rank", justify="right")
    table.add_column("tool")
    table.add_column("score", justify="right")
    table.add_column("description")
    for i, r in enumerate(ranked, 1):
        found = toolset.get(r.tool)
        text = found.description.strip() if found is not None else ""
        first = text.splitlines()[0] if text else ""
        table.add_row(str(i), Text(r.tool), f"{r.score:.4f}", Text(first))
    console.print(table)


def print_json(data: Any) -> None:
    console.print_json(json.dumps(data, default=str))
