"""The store world's per-episode state, reached by tools through ``ctx.state``."""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass, field
from typing import Any

from sandlot.tools import ToolContext, ToolError

__all__ = [
    "StoreState",
    "one",
    "refundable",
    "refunded",
    "require_customer",
    "rows",
    "state_of",
]


@dataclass
class StoreState:
    """An episode's private database and the world's date. Tools run in worker threads,
    so every use of the connection holds ``lock``."""

    conn: sqlite3.Connection
    today: str
    lock: threading.RLock = field(default_factory=threading.RLock)


def state_of(ctx: ToolContext) -> StoreState:
    if not isinstance(ctx.state, StoreState):
        raise ToolError("this tool needs the store world (no store state in the tool context)")
    return ctx.state


def rows(state: StoreState, sql: str, params: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
    with state.lock:
        cur = state.conn.execute(sql, params)
        names = [d[0] for d in cur.description or ()]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]


def one(state: StoreState, sql: str, params: tuple[Any, ...], missing: str) -> dict[str, Any]:
    found = rows(state, sql, params)
    if not found:
        raise ToolError(missing)
    return found[0]


def refunded(state: StoreState, order_id: int) -> float:
    """What has been refunded on an order so far."""
    found = rows(
        state, "SELECT coalesce(sum(amount), 0) AS r FROM refunds WHERE order_id = ?", (order_id,)
    )
    return float(found[0]["r"])


def refundable(state: StoreState, order: dict[str, Any]) -> float:
    """What can still go back to the card on ``order`` (a row): paid less refunded."""
    return max(0.0, round(order["paid"] - refunded(state, order["id"]), 2))


def require_customer(state: StoreState, customer_id: int) -> None:
    """Refuse (ToolError) a customer id that does not exist."""
    one(
        state,
        "SELECT id FROM customers WHERE id = ?",
        (customer_id,),
        f"no customer with id {customer_id}",
    )
