"""The store world's contract models and its own state-check language.

A store state check is either the common ``query`` check (SQL and an expectation) or
``changed``: the rows the episode changed, table by table, equal these —
``{type: state, changed: {orders: [{id: 1001, status: cancelled}], refunds: []}}``.
Each expected row names the columns it cares about; the check passes when every
changed row (inserted or updated) of each listed table matches exactly one expected
row, none is left over, and no row of the table was deleted. ``[]`` says the table
did not change. Tables that are not listed are not looked at.
"""

from __future__ import annotations

import sqlite3
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sandlot.environments.checklist_checks import values_equal
from sandlot.environments.tasks import StrictStateCheck
from sandlot.environments.worlds.store.schema import SCHEMA, TODAY

__all__ = [
    "EVIDENCE_ROWS",
    "TABLE_COLUMNS",
    "StoreInitialState",
    "StoreStateCheck",
    "Tables",
    "changed_keys",
    "changed_rows",
    "evaluate_changed",
    "read_tables",
]

EVIDENCE_ROWS = 20

Tables = dict[str, dict[str, Any]]  # table -> {"columns": [...], "rows": [[...], ...]}


def _table_columns() -> dict[str, list[str]]:
    conn = sqlite3.connect(":memory:")
    try:
        conn.executescript(SCHEMA)
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        return {t: [r[1] for r in conn.execute(f'PRAGMA table_info("{t}")')] for t in names}
    finally:
        conn.close()


TABLE_COLUMNS: dict[str, list[str]] = _table_columns()


class StoreInitialState(BaseModel):
    """A store task's ``initial_state``: SQL run on the episode's copy after the seed,
    and the world's date."""

    model_config = ConfigDict(extra="forbid")

    sql: list[str] = Field(default_factory=list)
    today: str = TODAY

    @field_validator("sql", mode="before")
    @classmethod
    def _statements(cls, value: Any) -> Any:
        # A string would otherwise run one character at a time.
        if not isinstance(value, list) or not all(isinstance(s, str) for s in value):
            raise ValueError(
                f"initial_state sql must be a list of SQL statements (strings), got "
                f'{value!r}; write sql: ["UPDATE ..."]'
            )
        return value


class StoreStateCheck(StrictStateCheck):
    """A store state check: ``query`` (the common language) or ``changed`` (this
    world's own; see the module's docstring)."""

    changed: dict[str, list[dict[str, Any]]] | None = None

    @model_validator(mode="after")
    def _shape(self) -> StoreStateCheck:
        if self.file is not None or self.command is not None:
            raise ValueError("the store world has no files or commands; use query (SQL) or changed")
        if (self.query is None) == (self.changed is None):
            raise ValueError("a store state check takes one of query or changed")
        if self.changed is not None:
            extra = [
                k
                for k in ("equals", "contains", "regex", "rows", "exit_code", "exists", "tolerance")
                if getattr(self, k) is not None
            ]
            if extra:
                raise ValueError(
                    f"changed takes no {', '.join(extra)}; the rows are the expectation"
                )
            for table, rows in self.changed.items():
                if table not in TABLE_COLUMNS:
                    raise ValueError(
                        f"changed: no table {table!r} in the store; tables: "
                        f"{', '.join(sorted(TABLE_COLUMNS))}"
                    )
                for row in rows:
                    unknown = sorted(set(row) - set(TABLE_COLUMNS[table]))
                    if unknown:
                        raise ValueError(
                            f"changed.{table}: no column(s) {unknown}; columns: "
                            f"{', '.join(TABLE_COLUMNS[table])}"
                        )
        return self


def read_tables(conn: sqlite3.Connection) -> Tables:
    """Every table's columns and rows (the caller holds the state's lock)."""
    out: Tables = {}
    names = [
        r[0]
        for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
    ]
    for table in names:
        cur = conn.execute(f'SELECT * FROM "{table}"')  # noqa: S608 - names from sqlite_master
        out[table] = {
            "columns": [d[0] for d in cur.description],
            "rows": [list(r) for r in cur.fetchall()],
        }
    return out


def _keyed(data: dict[str, Any]) -> dict[Any, dict[str, Any]]:
    # Every store table's first column is its primary key (id, or code for discounts).
    columns = data["columns"]
    return {row[0]: dict(zip(columns, row, strict=True)) for row in data["rows"]}


def changed_rows(before: Tables, after: Tables) -> dict[str, dict[str, Any]]:
    """``{table: {"changed": [row, ...], "deleted": [key, ...]}}`` for each table that
    differs; a changed row is one inserted, or updated, as it is now (a mapping)."""
    out: dict[str, dict[str, Any]] = {}
    for table, data in after.items():
        old = _keyed(before.get(table, {"columns": data["columns"], "rows": []}))
        new = _keyed(data)
        changed = [row for key, row in new.items() if old.get(key) != row]
        deleted = [key for key in old if key not in new]
        if changed or deleted:
            out[table] = {"changed": changed, "deleted": deleted}
    return out


def changed_keys(before: Tables, after: Tables) -> dict[str, list[Any]]:
    """``{table: [key, ...]}``: the keys of the rows inserted, updated or deleted from
    ``before`` to ``after``, for each table that differs."""
    out: dict[str, list[Any]] = {}
    for table, found in changed_rows(before, after).items():
        keys = [next(iter(row.values())) for row in found["changed"]] + found["deleted"]
        if keys:
            out[table] = keys
    return out


def _matches(row: dict[str, Any], expected: dict[str, Any]) -> bool:
    return all(k in row and values_equal(row[k], v) for k, v in expected.items())


def evaluate_changed(
    changes: dict[str, dict[str, Any]], check: StoreStateCheck
) -> tuple[bool, dict[str, Any]]:
    """A ``changed`` check against what changed (from :func:`changed_rows`)."""
    assert check.changed is not None
    passed = True
    evidence: dict[str, Any] = {"expected_changed": check.changed, "tables": {}}
    for table, expected in check.changed.items():
        found = changes.get(table, {"changed": [], "deleted": []})
        left = list(found["changed"])
        missing = []
        for want in expected:
            hit = next((i for i, row in enumerate(left) if _matches(row, want)), None)
            if hit is None:
                missing.append(want)
            else:
                left.pop(hit)
        ok = not missing and not left and not found["deleted"]
        passed &= ok
        evidence["tables"][table] = {
            "passed": ok,
            "key": TABLE_COLUMNS[table][0],  # the column a row is known by
            "changed": found["changed"][:EVIDENCE_ROWS],
            "not_found": missing[:EVIDENCE_ROWS],
            "unexpected": left[:EVIDENCE_ROWS],
            "deleted": found["deleted"][:EVIDENCE_ROWS],
        }
    return passed, evidence
