"""The store world: an in-process business system on a private SQLite copy per episode."""

from __future__ import annotations

import re
import sqlite3
import threading
from typing import Any

from pydantic import ValidationError

from sandlot.environments.base import Environment
from sandlot.environments.tasks import StateCheck, Task
from sandlot.environments.tool_states import ToolStates
from sandlot.environments.trajectory import ToolCallRecord
from sandlot.environments.worlds.store import (
    tools_handoff,
    tools_lookup,
    tools_orders,
    tools_service,
)
from sandlot.environments.worlds.store.checks import (
    StoreInitialState,
    StoreStateCheck,
    Tables,
    changed_keys,
    changed_rows,
    evaluate_changed,
    read_tables,
)
from sandlot.environments.worlds.store.policy import POLICY
from sandlot.environments.worlds.store.schema import seed
from sandlot.environments.worlds.store.state import StoreState
from sandlot.tools import Tool, Toolset

__all__ = ["StoreEnvironment", "evaluate_query"]

_TEMPLATE: sqlite3.Connection | None = None
_TEMPLATE_LOCK = threading.Lock()


def _template() -> sqlite3.Connection:
    """The seeded database, built once per process; episodes get copies of it."""
    global _TEMPLATE
    with _TEMPLATE_LOCK:
        if _TEMPLATE is None:
            conn = sqlite3.connect(":memory:", check_same_thread=False)
            seed(conn)
            _TEMPLATE = conn
        return _TEMPLATE


def _values_equal(actual: Any, expected: Any, tolerance: float) -> bool:
    if isinstance(expected, bool) and isinstance(actual, int):
        return bool(actual) == expected
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        return abs(float(actual) - float(expected)) <= tolerance
    if isinstance(actual, int | float) and isinstance(expected, str):
        try:
            return abs(float(actual) - float(expected)) <= tolerance
        except ValueError:
            return False
    return actual == expected


def evaluate_query(conn: sqlite3.Connection, check: StateCheck) -> tuple[bool, Any]:
    """A state check's SQL query and expectation, on any connection (live or snapshot)."""
    if check.query is None:
        return False, {"error": "the store world has no files or commands; use query or changed"}
    try:
        cur = conn.execute(check.query)
        result = [list(r) for r in cur.fetchall()]
    except sqlite3.Error as exc:
        return False, {"query": check.query, "error": f"{type(exc).__name__}: {exc}"}
    evidence: dict[str, Any] = {"query": check.query, "rows": result[:20]}
    value = result[0][0] if result and result[0] else None
    tol = check.tolerance if check.tolerance is not None else 1e-9
    passed = True
    if check.exists is not None:
        passed &= bool(result) == check.exists
        evidence["expected_exists"] = check.exists
    if check.rows is not None:
        passed &= len(result) == len(check.rows) and all(
            len(a) == len(b) and all(_values_equal(x, y, tol) for x, y in zip(a, b, strict=True))
            for a, b in zip(result, check.rows, strict=True)
        )
        evidence["expected_rows"] = check.rows
    if check.equals is not None or (
        check.rows is None
        and check.exists is None
        and check.contains is None
        and check.regex is None
    ):
        evidence["expected"] = check.equals
        if len(result) > 1:
            # equals compares one value; which of several rows is "the" value is arbitrary.
            passed = False
            evidence["error"] = (
                f"equals needs a query returning at most one row; this one returned "
                f"{len(result)} (aggregate it, e.g. SELECT sum(...), or use rows)"
            )
        else:
            passed &= _values_equal(value, check.equals, tol)
    if check.contains is not None:
        passed &= value is not None and check.contains in str(value)
        evidence["expected_contains"] = check.contains
    if check.regex is not None:
        passed &= value is not None and re.search(check.regex, str(value)) is not None
        evidence["expected_regex"] = check.regex
    return bool(passed), evidence


class StoreEnvironment(Environment[StoreState, StoreInitialState, StoreStateCheck]):
    """A small store: customers, products, orders, refunds, returns, store credit,
    discount codes and support tickets, with business rules that refuse with reasons.

    Its state checks are ``query`` (SQL and an expectation) or ``changed`` (the rows the
    episode changed equal these; see ``worlds/store/checks.py``)."""

    name = "store"
    description = "An online store's back office: 21 tools over a private SQLite database."
    policy = POLICY
    # An order's items (and their product ids) are read before one of them is cancelled.
    tool_states = ToolStates(after={"cancel_order_item": ["get_order"]})
    initial_state_model = StoreInitialState
    state_check_model = StoreStateCheck

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self._baseline: Tables = {}  # the tables right after reset, for `changed` checks
        # the tables as the last tool call left them, and the connection's write count
        # then: a call that wrote nothing costs one attribute read (call_changes)
        self._seen: Tables = {}
        self._seen_writes = 0

    @classmethod
    def default_toolset(cls) -> Toolset:
        tools: list[Tool] = []
        for module in (tools_lookup, tools_orders, tools_service, tools_handoff):
            tools += [
                getattr(module, n) for n in module.__all__ if isinstance(getattr(module, n), Tool)
            ]
        return Toolset("store", tools)

    async def reset(self, task: Task) -> None:
        initial = self.check_initial_state(task)
        conn = sqlite3.connect(":memory:", check_same_thread=False)
        template = _template()
        with _TEMPLATE_LOCK:
            template.backup(conn)
        for statement in initial.sql:
            try:
                conn.execute(statement)
            except sqlite3.Error as exc:
                conn.close()
                raise ValueError(
                    f"task {task.id!r}: initial_state sql {statement!r} failed: {exc}"
                ) from exc
        conn.commit()
        self.task = task
        self.state = StoreState(conn=conn, today=initial.today)
        self._baseline = read_tables(conn)
        self._seen, self._seen_writes = self._baseline, conn.total_changes

    async def check_state(self, check: StoreStateCheck) -> tuple[bool, Any]:
        try:
            check = self.validate_state_check(check)  # a plain StateCheck is read here
        except ValidationError as exc:
            return False, {"error": _refusal(exc)}
        with self.state.lock:
            if check.changed is not None:
                return evaluate_changed(
                    changed_rows(self._baseline, read_tables(self.state.conn)), check
                )
            return evaluate_query(self.state.conn, check)

    def call_changes(self, call: ToolCallRecord) -> dict[str, Any] | None:
        """``{"rows": {table: [key, ...]}}``: the rows the last tool call inserted, updated
        or deleted (the tables are read again only when SQLite counted a write)."""
        if self.state is None:
            return None
        with self.state.lock:
            writes = self.state.conn.total_changes
            if writes == self._seen_writes:
                return None
            tables = read_tables(self.state.conn)
        keys = changed_keys(self._seen, tables)
        self._seen, self._seen_writes = tables, writes
        return {"rows": keys} if keys else None

    def snapshot(self) -> dict[str, Any]:
        with self.state.lock:
            tables = read_tables(self.state.conn)
        # What the episode changed goes with the tables, so that a stored episode's
        # `changed` checks can be re-scored without the state it started from.
        return {
            "today": self.state.today,
            "tables": tables,
            "changed": changed_rows(self._baseline, tables),
        }

    @classmethod
    def check_snapshot(cls, snapshot: dict[str, Any], check: StoreStateCheck) -> tuple[bool, Any]:
        try:
            check = cls.validate_state_check(check)
        except ValidationError as exc:
            return False, {"error": _refusal(exc)}
        if check.changed is not None:
            if "changed" not in snapshot:
                raise NotImplementedError(
                    "this stored snapshot predates `changed` checks: it holds no changes"
                )
            return evaluate_changed(snapshot["changed"], check)
        conn = sqlite3.connect(":memory:")
        try:
            for table, data in snapshot.get("tables", {}).items():
                cols = ", ".join(f'"{c}"' for c in data["columns"])
                conn.execute(f'CREATE TABLE "{table}" ({cols})')
                marks = ", ".join("?" for _ in data["columns"])
                conn.executemany(f'INSERT INTO "{table}" VALUES ({marks})', data["rows"])
            return evaluate_query(conn, check)
        finally:
            conn.close()

    @classmethod
    def comparable_state(cls, snapshot: dict[str, Any]) -> Any:
        """``{"today": date, table: {key: {column: value}}}``: rows by their key, so that
        ``ignore`` can name a table (``tickets``), a row (``orders.1001``) or a column
        of every row (``tickets.*.created``)."""
        out: dict[str, Any] = {"today": snapshot.get("today")}
        for table, data in snapshot.get("tables", {}).items():
            columns = data["columns"]
            out[table] = {str(row[0]): dict(zip(columns, row, strict=True)) for row in data["rows"]}
        return out

    async def close(self) -> None:
        if self.state is not None:
            self.state.conn.close()
        await super().close()


def _refusal(exc: ValidationError) -> str:
    """Why the store cannot answer a check, as the check's author reads it."""
    return "; ".join(str(e.get("ctx", {}).get("error") or e["msg"]) for e in exc.errors())
