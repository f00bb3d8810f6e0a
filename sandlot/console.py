"""Rendering for the command line: progress, summary tables, tool listings (rich)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.agents.running.results import EpisodeResult, RunResult
    from sandlot.tools.toolset import Toolset

__all__ = [
    "OUTCOME_STYLE",
    "console",
    "err_console",
    "outcome_text",
    "print_json",
    "print_run_summary",
    "print_toolset",
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


def outcome_text(outcome: str | None) -> str:
    word = outcome or "running"
    return f"[{OUTCOME_STYLE.get(word, 'default')}]{word}[/]"


def print_run_summary(result: RunResult, *, max_rows: int = 60) -> None:
    """Per-episode rows (when there are not too many) and the run's totals."""
    eps = sorted(result.episodes, key=lambda e: (e.task_id, e.epoch))
    if len(eps) <= max_rows:
        epochs = any(e.epoch for e in eps)  # the column only when there is more than one
        table = Table(title=f"run {result.run_id}", show_lines=False)
        table.add_column("task", no_wrap=True)
        for col in (["ep"] if epochs else []) + ["outcome", "score"]:
            table.add_column(col, justify="left" if col == "outcome" else "right", no_wrap=True)
        for col in ("model\ncalls", "tool\ncalls", "tokens", "secs"):
            table.add_column(col, justify="right", no_wrap=True)
        for e in eps:
            table.add_row(
                e.task_id,
                *([str(e.epoch)] if epochs else []),
                outcome_text(e.outcome),
                "-" if e.score is None else f"{e.score:.2f}",
                str(e.model_calls),
                str(e.tool_calls),
                str(e.tokens),
                f"{e.duration:.2f}",
            )
        console.print(table)
    summary = result.summary()
    totals = Table(title="summary", show_header=False)
    totals.add_column("metric")
    totals.add_column("value", justify="right")
    for key, value in summary.items():
        if key == "per_task" or (key == "running" and not value):
            continue
        if value is None:
            value = "-"  # nothing scored: no rate
        elif key in ("success_rate", "pass_at_k") or key.startswith("pass@"):
            value = f"{value:.1%}"
        elif key == "duration":
            value = f"{value:.2f} s"
        label = _LABELS.get(key, key.replace("_", " "))
        if key in OUTCOME_STYLE or key == "errors":
            label = outcome_text("error" if key == "errors" else key)
        totals.add_row(label, _fmt(value))
    console.print(totals)
    _print_sandboxes(eps)
    for e in eps:
        if e.outcome in ("error", "interrupted"):
            err_console.print(f"[red]{e.outcome}[/] {e.task_id} (epoch {e.epoch}): {e.error}")


def _print_sandboxes(episodes: list[EpisodeResult]) -> None:
    """One line naming the sandbox backend(s) the episodes ran their code on (none when
    no episode made a sandbox); the local backend is marked as not isolated."""
    from sandlot.environments.sandbox.factory import backend_label

    used = sorted({e.sandbox_backend for e in episodes if e.sandbox_backend})
    if used:
        style = "bold red" if "local" in used else "default"
        labels = ", ".join(backend_label(b) for b in used)
        console.print(f"[{style}]sandbox: {labels}[/]", highlight=False)


def print_toolset(toolset: Toolset) -> None:
    table = Table(title=f"{toolset.name}: {len(toolset)} tools")
    table.add_column("tool")
    table.add_column("parameters")
    table.add_column("description")
    for t in toolset:
        first = t.description.strip().splitlines()[0] if t.description.strip() else ""
        table.add_row(t.name, ", ".join(t.parameters), first)
    console.print(table)


def print_json(data: Any) -> None:
    console.print_json(json.dumps(data, default=str))
