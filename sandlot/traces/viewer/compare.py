"""Two episodes side by side: their model responses and tool calls, and the first point
where they differ.

An episode's *actions* are its model calls (purpose, text, the tools it asked for with
their arguments) and its tool calls (name, arguments, result, ok), in order. Call ids,
timings and token counts are left out: they differ between any two runs and say nothing
about what the agent did.
"""

from __future__ import annotations

import json
import sqlite3
from collections import deque
from collections.abc import Iterator
from itertools import zip_longest
from typing import Any

import orjson

from sandlot.traces.viewer.summaries import cap_depth, loads, summarize

__all__ = ["compare_episodes", "episode_actions"]

_EPISODE_COLUMNS = "id, run_id, task_id, status, success, score, model, agent, replay_of"


def _canonical(arguments: Any) -> str:
    value = loads(arguments) if isinstance(arguments, str) else arguments
    try:
        return orjson.dumps(value, option=orjson.OPT_SORT_KEYS | orjson.OPT_NON_STR_KEYS).decode()
    except TypeError:  # a value orjson cannot encode (a NaN is fine, a set is not; > 254 levels)
        try:
            return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)
        except RecursionError:
            return json.dumps(cap_depth(value), sort_keys=True, ensure_ascii=False, default=str)


def _fields(kind: str, name: str, p: dict[str, Any]) -> dict[str, Any]:
    """What is compared of one action; an odd payload shape compares as a whole."""
    try:
        return _known_fields(kind, name, p)
    except Exception:
        return {"payload": _canonical(p)}


def _known_fields(kind: str, name: str, p: dict[str, Any]) -> dict[str, Any]:
    if kind == "model_call":
        response = p.get("response") or {}
        return {
            "purpose": p.get("purpose"),
            "text": (response.get("content") or "").strip(),
            "tool calls": [
                [c.get("name"), _canonical(c.get("arguments"))]
                for c in response.get("tool_calls") or []
            ],
            "error": bool(p.get("error")),
        }
    args = p.get("arguments") if p.get("arguments") is not None else p.get("arguments_raw")
    return {
        "tool": name,
        "arguments": _canonical(args),
        "result": p.get("content"),
        "ok": bool(p.get("ok")),
    }


_ACTIONS_SQL = (
    "SELECT seq, kind, name, payload FROM events WHERE episode_id = ? "
    "AND kind IN ('model_call', 'tool_call'){live} ORDER BY seq"
)
_COUNT_SQL = (
    "SELECT count(*) FROM events WHERE episode_id = ? AND kind IN ('model_call', 'tool_call'){live}"
)


def episode_actions(
    conn: sqlite3.Connection, episode_id: str, live: str = ""
) -> Iterator[dict[str, Any]]:
    """The model calls and tool calls of an episode, in order, with what is compared
    (``fields``) and the parsed ``payload``. ``live`` is an extra SQL condition (the
    viewer's ``AND superseded IS NULL`` on files that have the column)."""
    for seq, kind, name, text in conn.execute(_ACTIONS_SQL.format(live=live), (episode_id,)):
        payload = loads(text)
        p = payload if isinstance(payload, dict) else {}
        yield {
            "seq": seq,
            "kind": "model" if kind == "model_call" else "tool",
            "event_kind": kind,
            "name": name,
            "payload": payload,
            "fields": _fields(kind, name, p),
        }


def _what_differs(x: dict[str, Any] | None, y: dict[str, Any] | None) -> str:
    if x is None or y is None:
        return "only one episode went on" if x or y else ""
    if x["kind"] != y["kind"]:
        return f"a {x['kind']} call against a {y['kind']} call"
    fields = [k for k in x["fields"] if x["fields"][k] != y["fields"].get(k)]
    if not fields:
        return ""
    named = fields[0] if len(fields) == 1 else f"{', '.join(fields[:-1])} and {fields[-1]}"
    return f"the {x['kind']} call differs in {named}"


def compare_episodes(
    conn: sqlite3.Connection,
    a: str,
    b: str,
    *,
    window: int = 200,
    before: int = 20,
    live: str = "",
) -> dict[str, Any] | None:
    """Compare episodes ``a`` and ``b`` action by action.

    Both are read in step and only until ``window`` rows past the first difference, so
    two long episodes that part early compare quickly.

    Returns:
        None if either episode is missing; else ``{"a", "b"`` (their rows)``, "n_a",
        "n_b", "first_difference"`` (index, or None when they made the same calls)``,
        "difference"`` (what differs there)``, "start", "rows"}``. ``rows`` holds up to
        ``window`` aligned pairs, from ``before`` actions ahead of the first difference
        (from the start when there is none).
    """
    names = [c.strip() for c in _EPISODE_COLUMNS.split(",")]
    found = {
        row[0]: dict(zip(names, row, strict=True))
        for row in conn.execute(
            f"SELECT {_EPISODE_COLUMNS} FROM episodes WHERE id IN (?, ?)", (a, b)
        ).fetchall()
    }
    if a not in found or b not in found:
        return None
    counted = _COUNT_SQL.format(live=live)
    n_a, n_b = (conn.execute(counted, (e,)).fetchone()[0] for e in (a, b))
    pairs = zip_longest(episode_actions(conn, a, live), episode_actions(conn, b, live))
    head: list[tuple[int, Any, Any]] = []  # shown when the two never differ
    recent: deque[tuple[int, Any, Any]] = deque(maxlen=before)
    first, difference, rows = None, None, []
    for i, (x, y) in enumerate(pairs):
        if first is None:
            if _same(x, y):
                if len(head) < window:
                    head.append((i, x, y))
                recent.append((i, x, y))
                continue
            first, difference = i, _what_differs(x, y)
            rows = [*recent]
        rows.append((i, x, y))
        if len(rows) >= window:
            break
    shown = head if first is None else rows
    return {
        "a": found[a],
        "b": found[b],
        "n_a": n_a,
        "n_b": n_b,
        "first_difference": first,
        "difference": difference,
        "start": shown[0][0] if shown else 0,
        "rows": [
            {"index": i, "a": _public(x), "b": _public(y), "same": i != first and _same(x, y)}
            for i, x, y in shown
        ],
    }


def _same(x: dict[str, Any] | None, y: dict[str, Any] | None) -> bool:
    return x is not None and y is not None and x["fields"] == y["fields"]


def _public(action: dict[str, Any] | None) -> dict[str, Any] | None:
    """What the page shows of an action: its summary line, not the payload."""
    if action is None:
        return None
    text, status = summarize(action["event_kind"], action["name"], action["payload"])
    return {
        "seq": action["seq"],
        "kind": action["kind"],
        "name": action["name"],
        "text": text,
        "status": status,
    }
