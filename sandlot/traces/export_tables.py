"""Exporting a trace's episodes, checks or events as JSON Lines or CSV, for analysis.

One row per episode, check verdict or event. JSON Lines writes one object per row with
the JSON columns (an episode's ``final_state``, a check's ``evidence``, an event's
``payload``) decoded; CSV writes a header row and those columns JSON-encoded in one cell.
Rows are read through :class:`TraceReader` (what the trace holds was redacted when it
was written) and redacted again for known values (the environment's keys and any
secrets given), as the HTML export is.

Load an export with pandas: ``pd.read_json(path, lines=True)`` or ``pd.read_csv(path)``.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any, TextIO

from sandlot.errors import UserError
from sandlot.traces.query import TraceReader
from sandlot.traces.redact import Redactor
from sandlot.traces.viewer.summaries import dumps_for_page

__all__ = [
    "CHECK_COLUMNS",
    "EVENT_COLUMNS",
    "FORMATS",
    "TABLES",
    "export_table",
    "table_rows",
    "write_rows",
]

TABLES = ("episodes", "checks", "events")
FORMATS = ("jsonl", "csv")

CHECK_COLUMNS = (
    "run_id",
    "episode_id",
    "task_id",
    "item_id",
    "description",
    "kind",
    "passed",
    "weight",
    "required",
    "evidence",
    "skipped_reason",
    "scored_at",
)
EVENT_COLUMNS = (
    "run_id",
    "episode_id",
    "task_id",
    "seq",
    "parent",
    "ts",
    "kind",
    "name",
    "duration",
    "payload",
)


def _episodes(reader: TraceReader, run_id: str | None) -> list[dict[str, Any]]:
    if run_id is not None and reader.run(run_id) is None:
        known = ", ".join(r["id"] for r in reader.runs()) or "none"
        raise UserError(f"no run {run_id!r} in {reader.path}; its runs: {known}")
    return reader.episodes(run_id)


def table_rows(reader: TraceReader, table: str, run_id: str | None = None) -> Iterator[dict]:
    """The rows of ``table`` (episodes, checks or events), of run ``run_id`` or of every
    run, episodes in the order they started; JSON columns decoded."""
    from sandlot.traces.redact import loads

    if table not in TABLES:
        raise UserError(f"unknown table {table!r}; use one of {', '.join(TABLES)}")
    episodes = _episodes(reader, run_id)
    for ep in episodes:
        if table == "episodes":
            ep["final_state"] = loads(ep.get("final_state"))
            yield ep
            continue
        base = {"run_id": ep["run_id"], "episode_id": ep["id"], "task_id": ep["task_id"]}
        if table == "checks":
            for check in reader.checks(ep["id"]):
                yield {c: ({**check, **base}).get(c) for c in CHECK_COLUMNS}
        else:
            for event in reader.events(ep["id"], messages=False):
                yield {c: ({**event, **base}).get(c) for c in EVENT_COLUMNS}


def _cell(value: Any) -> Any:
    """A CSV cell: nested values as JSON, NULL as empty."""
    if isinstance(value, dict | list):
        return dumps_for_page(value)
    return "" if value is None else value


def write_rows(
    rows: Iterable[dict[str, Any]],
    out: TextIO,
    fmt: str,
    *,
    columns: Iterable[str] | None = None,
    redactor: Redactor | None = None,
) -> int:
    """Write ``rows`` to ``out`` as ``fmt`` (jsonl or csv) and return how many. CSV's
    header is ``columns``, else the first row's keys. A row in which ``redactor`` (by
    default: the environment's keys) finds a secret is written with it replaced."""
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    redactor = redactor if redactor is not None else Redactor()
    writer: Any = None
    header = list(columns) if columns is not None else None
    n = 0
    for row in rows:
        text = dumps_for_page(row)
        if redactor.finds(text):
            row = redactor.strings(row)
            text = dumps_for_page(row)
        if fmt == "jsonl":
            out.write(text + "\n")
        else:
            if writer is None:
                header = header or list(row)
                writer = csv.DictWriter(out, fieldnames=header, extrasaction="ignore")
                writer.writeheader()
            writer.writerow({k: _cell(row.get(k)) for k in header or ()})
        n += 1
    if fmt == "csv" and writer is None and header:
        csv.writer(out).writerow(header)
    return n


def export_table(
    db_path: str | Path,
    table: str,
    fmt: str,
    out: TextIO,
    *,
    run_id: str | None = None,
    secrets: Iterable[str] = (),
) -> int:
    """Write ``table`` of trace ``db_path`` (of run ``run_id``, or all) to ``out`` as
    ``fmt``, with ``secrets`` and the environment's keys redacted.

    Returns:
        The number of rows written.

    Raises:
        UserError: an unknown table, format or run.
        FileNotFoundError: no trace file at ``db_path``.
    """
    if fmt not in FORMATS:
        raise UserError(f"unknown format {fmt!r}; use one of {', '.join(FORMATS)}")
    if table not in TABLES:
        raise UserError(f"unknown table {table!r}; use one of {', '.join(TABLES)}")
    with TraceReader(db_path) as reader:
        columns: tuple[str, ...] | None = {"checks": CHECK_COLUMNS, "events": EVENT_COLUMNS}.get(
            table
        )
        if columns is None:
            columns = tuple(r["name"] for r in _episode_columns(reader))
        rows = table_rows(reader, table, run_id)
        return write_rows(rows, out, fmt, columns=columns, redactor=Redactor(secrets))


def _episode_columns(reader: TraceReader) -> list[dict[str, Any]]:
    return reader._rows("PRAGMA table_info(episodes)")
