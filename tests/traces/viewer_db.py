"""A small trace database for viewer tests, written with plain sqlite3 (schema.py), with
hostile content in places a trace can hold it."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from sandlot.traces.schema import SCHEMA_SQL

__all__ = ["XSS", "make_viewer_db"]

XSS = {
    "script": "<script>window.__xss = 1; document.title = 'pwned'</script>",
    "img": "<img src=x onerror=\"window.__xss = 2; document.title = 'pwned'\">",
    "link": '<a href="javascript:window.__xss=3">click me</a>',
}


def _episode(conn, run_id, ep_id, task_id, answer, tool_result, score, success):
    conn.execute(
        "INSERT INTO episodes (id, run_id, task_id, epoch, status, success, score, model_calls, tool_calls, "
        "tokens, duration, model, agent, answer, started) VALUES (?, ?, ?, 0, 'done', ?, ?, 2, 1, 30, 1.5, "
        "'scripted', 'plan-execute', ?, ?)",
        (ep_id, run_id, task_id, success, score, answer, hash(ep_id) % 1000),
    )
    events = [
        (0, None, "episode", task_id, {"task_id": task_id, "instruction": "Cancel order 1001"}),
        (1, 0, "node", "planner", {"step_index": 0}),
        (2, 1, "plan", "plan", {"steps": ["Look up order 1001", "Cancel it"], "replan": False}),
        (3, 0, "node", "executor", {"step_index": 0}),
        (
            4,
            3,
            "model_call",
            "execute",
            {
                "purpose": "execute",
                "step_index": 0,
                "latency": 0.25,
                "messages": [{"role": "user", "content": "Cancel order 1001 " + XSS["script"]}],
                "tools": ["get_order"],
                "usage": {"prompt_tokens": 20, "completion_tokens": 10},
                "response": {
                    "content": None,
                    "tool_calls": [
                        {"id": "c1", "name": "get_order", "arguments": '{"order_id": 1001}'}
                    ],
                },
            },
        ),
        (
            5,
            3,
            "tool_call",
            "get_order",
            {
                "call_id": "c1",
                "arguments": {"order_id": 1001},
                "ok": True,
                "content": tool_result,
                "step_index": 0,
            },
        ),
        (6, 0, "node", "executor", {"step_index": 1}),
        (
            7,
            6,
            "model_call",
            "execute",
            {
                "purpose": "execute",
                "step_index": 1,
                "latency": 0.5,
                "messages": [],
                "tools": [],
                "response": {"content": answer, "tool_calls": []},
            },
        ),
        (8, 0, "answer", "answer", {"answer": answer}),
    ]
    conn.executemany(
        "INSERT INTO events (episode_id, seq, parent, ts, kind, name, payload, duration) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [(ep_id, s, p, 1.0 + s, k, n, json.dumps(pl), 0.01) for s, p, k, n, pl in events],
    )
    conn.execute(
        "INSERT INTO checks (episode_id, item_id, description, kind, passed, weight, required, evidence) "
        "VALUES (?, 'cancelled', 'The order is cancelled', 'state', ?, 1, 1, ?)",
        (ep_id, success, json.dumps({"rows": [[XSS["img"]]]})),
    )


def make_viewer_db(path: Path) -> Path:
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA_SQL)
    conn.execute(
        "INSERT INTO runs (id, started, status, model, agent, config) VALUES "
        "('run-1', 1, 'done', 'scripted', 'plan-execute', '{}')"
    )
    _episode(
        conn,
        "run-1",
        "ep-a",
        "store-orders-001",
        "Order 1001 is cancelled. " + XSS["link"],
        '{"status": "pending"} ' + XSS["script"] + XSS["img"],
        1.0,
        1,
    )
    _episode(
        conn,
        "run-1",
        "ep-b",
        "store-orders-001",
        "I could not cancel it.",
        '{"status": "shipped"}',
        0.0,
        0,
    )
    conn.commit()
    conn.close()
    return path
