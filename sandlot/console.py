"""Rendering for the command line: progress, summary tables, tool listings (rich)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.agents.results import RunResult
    from sandlot.tools.toolset import Toolset

__all__ = ["console", "err_console", "print_run_summary", "print_toolset", "print_json"]

console = Console()
err_console = Console(stderr=True)


def _fmt(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def print_run_summary(result: RunResult, *, max_rows: int = 60) -> None:
    """Per-episode rows (when there are not too many) and the run's totals."""
    eps = sorted(result.episodes, key=lambda e: (e.task_id, e.epoch))
    if len(eps) <= max_rows:
        epochs = any(e.epoch for e in eps)  # the column only when there is more than one
        table = Table(title=f"run {result.run_id}", show_lines=False)
        table.add_column("task", no_wrap=True)
        for col in (["ep"] if epochs else []) + ["status", "ok", "score"]:
            table.add_column(col, justify="left" if col == "status" else "right", no_wrap=True)
        for col in ("model\ncalls", "tool\ncalls", "tokens", "secs"):
            table.add_column(col, justify="right", no_wrap=True)
        for e in eps:
            ok = "[green]yes[/]" if e.success else "[red]no[/]"
            table.add_row(
                e.task_id,
                *([str(e.epoch)] if epochs else []),
                e.status,
                ok,
                f"{e.score or 0.0:.2f}",
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
        if key == "success_rate":
            value = f"{value:.1%}"
        elif key == "duration":
            value = f"{value:.2f} s"
        totals.add_row(key.replace("_", " "), _fmt(value))
    console.print(totals)
    for e in eps:
        if e.status == "error":
            err_console.print(f"[red]error[/] {e.task_id} (epoch {e.epoch}): {e.error}")


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
