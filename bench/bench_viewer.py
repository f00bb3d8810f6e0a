"""Viewer speed on large traces: a run of 10,000 episodes and an episode of 50,000
events (1 in 1,000 with a 30 kB tool output). Prints API response times over loopback
HTTP (median of 5) and real page loads in headless chromium (navigation to content
shown), and the standalone export's size and load time.

    python bench/bench_viewer.py            # needs /usr/bin/chromium and playwright
"""

from __future__ import annotations

import json
import sqlite3
import statistics
import tempfile
import time
import urllib.request
from pathlib import Path

from sandlot.traces.schema import SCHEMA_SQL
from sandlot.traces.viewer.export import export_episode_html
from sandlot.traces.viewer.server import ViewerServer

__all__ = ["build", "main"]

RUN_EPISODES = 10_000
EPISODE_EVENTS = 50_000
CHROMIUM = "/usr/bin/chromium"


def _huge_episode_rows() -> list[tuple]:
    """Root; then per step a node span holding a model call and three tool calls."""
    rows = [
        ("huge", 0, None, 0.0, "episode", "huge-task", json.dumps({"instruction": "go"}), 900.0)
    ]
    messages = [{"role": "system", "content": "You are an agent. " * 40}]
    seq, step = 1, 0
    while seq < EPISODE_EVENTS:
        node = seq
        rows.append(
            (
                "huge",
                node,
                0,
                seq * 0.01,
                "node",
                "executor",
                json.dumps({"step_index": step}),
                0.05,
            )
        )
        seq += 1
        if seq < EPISODE_EVENTS:
            call = {
                "id": f"c{seq}",
                "name": "get_order",
                "arguments": json.dumps({"order_id": seq}),
            }
            payload = {
                "purpose": "execute",
                "step_index": step,
                "messages": messages,
                "tools": ["get_order"],
                "response": {"content": None, "tool_calls": [call]},
                "latency": 0.2,
                "usage": {"prompt_tokens": 300, "completion_tokens": 20},
            }
            rows.append(
                ("huge", seq, node, seq * 0.01, "model_call", "execute", json.dumps(payload), 0.2)
            )
            seq += 1
        for _ in range(3):
            if seq >= EPISODE_EVENTS:
                break
            content = "y" * (30_000 if seq % 1000 == 0 else 200)
            payload = {
                "call_id": f"c{seq}",
                "arguments": {"order_id": seq},
                "ok": True,
                "content": content,
                "step_index": step,
            }
            rows.append(
                (
                    "huge",
                    seq,
                    node,
                    seq * 0.01,
                    "tool_call",
                    "get_order",
                    json.dumps(payload),
                    0.002,
                )
            )
            seq += 1
        step += 1
    return rows


def build(path: Path) -> None:
    """Write the benchmark trace with plain sqlite3, following schema.py."""
    conn = sqlite3.connect(path)
    conn.executescript(SCHEMA_SQL)
    conn.execute(
        "INSERT INTO runs (id, started, ended, status, model, agent) VALUES ('big-run', 1, 900, 'done', 'm', 'a')"
    )
    conn.execute(
        "INSERT INTO runs (id, started, ended, status, model, agent) VALUES ('one', 2, 902, 'done', 'm', 'a')"
    )
    conn.executemany(
        "INSERT INTO episodes (id, run_id, task_id, epoch, status, outcome, success, score, "
        "model_calls, tool_calls, tokens, duration, model, started) "
        "VALUES (?, 'big-run', ?, 0, ?, ?, ?, ?, 5, 4, 900, ?, ?, ?)",
        [
            (
                f"e{i}",
                f"task-{i % 300:03d}",
                "error" if i % 50 == 0 else "done",
                "error" if i % 50 == 0 else ("passed" if i % 3 != 0 else "failed"),
                int(i % 3 != 0 and i % 50 != 0),
                (i % 10) / 10,
                1 + (i % 17) / 10,
                f"m{i % 3}",
                i,
            )
            for i in range(RUN_EPISODES)
        ],
    )
    small = [
        ("node", "executor", {"step_index": 0}),
        ("model_call", "execute", {"latency": 0.3}),
        ("tool_call", "get_order", {"ok": True, "content": "{}"}),
    ]
    conn.executemany(
        "INSERT INTO events (episode_id, seq, parent, ts, kind, name, payload, duration) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (f"e{i}", k, None if k == 0 else 0, i + k, kind, name, json.dumps(p), 0.01 * (k + 1))
            for i in range(RUN_EPISODES)
            for k, (kind, name, p) in enumerate(small)
        ],
    )
    conn.execute(
        "INSERT INTO episodes (id, run_id, task_id, status, outcome, success, score, model, started) "
        "VALUES ('huge', 'one', 'huge-task', 'done', 'passed', 1, 1.0, 'm', 1)"
    )
    conn.execute(
        "INSERT INTO episodes (id, run_id, task_id, status, outcome, success, score, model, started) "
        "VALUES ('huge2', 'one', 'huge-task', 'done', 'passed', 1, 1.0, 'm', 2)"
    )
    rows = _huge_episode_rows()
    conn.executemany(
        "INSERT INTO events (episode_id, seq, parent, ts, kind, name, payload, duration) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )

    # A second run of the same episode: other call ids (as any two runs have), and one
    # tool call near the end that failed, where the comparison must find the difference.
    def rerun(row: tuple) -> tuple:
        text = row[6].replace('"id": "c', '"id": "d').replace('"call_id": "c', '"call_id": "d')
        if row[1] == 49_000:
            text = text.replace('"ok": true', '"ok": false')
        return ("huge2", *row[1:6], text, row[7])

    conn.executemany(
        "INSERT INTO events (episode_id, seq, parent, ts, kind, name, payload, duration) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        [rerun(r) for r in rows],
    )
    conn.commit()
    conn.close()


def _median_ms(url: str, times: int = 5) -> float:
    samples = []
    for _ in range(times):
        t0 = time.perf_counter()
        with urllib.request.urlopen(url) as response:
            response.read()
        samples.append(time.perf_counter() - t0)
    return 1000 * statistics.median(samples)


API = [
    ("runs list", "api/runs"),
    ("10,000-episode run: first page of 100", "api/runs/big-run/episodes?limit=100"),
    ("10,000-episode run: sorted by score, desc", "api/runs/big-run/episodes?sort=score&desc=1"),
    (
        "10,000-episode run: page 80, sorted by duration",
        "api/runs/big-run/episodes?sort=duration&offset=8000",
    ),
    (
        "10,000-episode run: filtered (task, success)",
        "api/runs/big-run/episodes?task=task-042&success=1",
    ),
    ("10,000-episode run: plot data", "api/runs/big-run/stats"),
    ("50,000-event episode: header", "api/episodes/huge"),
    ("50,000-event episode: first 200 events", "api/episodes/huge/events?offset=0&limit=200"),
    ("50,000-event episode: last 200 events", "api/episodes/huge/events?offset=49800&limit=200"),
    (
        "50,000-event episode: tool calls only, page 100",
        "api/episodes/huge/events?offset=19800&limit=200&kinds=tool_call",
    ),
    ("50,000-event episode: one 30 kB event (cut)", "api/episodes/huge/events/3000"),
    ("50,000-event episode: tree roots", "api/episodes/huge/children?parent=root"),
    (
        "50,000-event episode: root's children, first 200 of 10,000",
        "api/episodes/huge/children?parent=0",
    ),
    ("50,000-event episode: replay moves (all)", "api/episodes/huge/steps"),
    ("50,000-event episode: conversation, first page", "api/episodes/huge/conversation"),
    (
        "50,000-event episode: conversation, page at event 30,000",
        "api/episodes/huge/conversation?offset=30000",
    ),
    ("compare two 50,000-event episodes", "api/compare/huge/huge2"),
    ("search: a hit", "api/search?q=huge-task"),
    ("search: no hit (scans every payload)", "api/search?q=zzzz-not-there"),
]


def _pages(server: ViewerServer, export: Path) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1300, "height": 900})

        def timed(name: str, action, selector: str) -> None:
            t0 = time.perf_counter()
            action()
            page.wait_for_selector(selector)
            print(f"page: {name:58} {1000 * (time.perf_counter() - t0):8.1f} ms")

        def visit(target: str):
            page.goto("about:blank")  # each page load starts from nothing, outside the clock
            url = server.url + target if target.startswith("#") else target
            return lambda: page.goto(url)

        timed("runs list", visit("#/"), "#runs tbody tr")
        timed("10,000-episode run (table shown)", visit("#/run/big-run"), "#episodes tbody tr")
        timed("10,000-episode run (plots drawn)", lambda: None, "#plots svg rect.bar")
        timed(
            "50,000-event episode (conversation shown)",
            visit("#/episode/huge"),
            "#conversation .turn-assistant",
        )
        timed(
            "  conversation: show more",
            lambda: page.click("#conversation-more"),
            "#conversation .turn-assistant >> nth=40",
        )
        timed(
            "50,000-event episode (timeline shown)",
            visit("#/episode/huge?view=timeline"),
            "#timeline .event",
        )
        timed(
            "  scroll to the last event",
            lambda: page.eval_on_selector("#timeline", "b => { b.scrollTop = b.scrollHeight; }"),
            "#timeline .event[data-seq='49999']",
        )
        timed(
            "  a link to event 3000 (30 kB): row selected, inspector shown",
            visit("#/episode/huge?seq=3000"),
            "#inspector .event-view[data-seq='3000']",
        )
        timed(
            "  span tree (episode span open, 200 children)",
            lambda: page.click("#tab-tree"),
            "#tree li li",
        )
        timed(
            "  step-through replay (first move shown)",
            lambda: page.click("#tab-replay"),
            "#step-counter:has-text('step 1 of')",
        )
        timed(
            "  replay: jump to move 39,000",
            visit("#/episode/huge?view=replay&step=39000"),
            "#step-counter:has-text('step 39000 of')",
        )
        timed(
            "  replay: next move (key)",
            lambda: page.keyboard.press("ArrowRight"),
            "#step-counter:has-text('step 39001 of')",
        )
        timed("compare two 50,000-event episodes", visit("#/compare/huge/huge2"), "tr.diff")
        timed("search", visit("#/search?q=huge-task"), "#results li")
        timed(
            "export of the 50,000-event episode from file://",
            visit(export.as_uri()),
            "#conversation .turn-assistant",
        )
        timed("  export: timeline tab", lambda: page.click("#tab-timeline"), "#timeline .event")
        browser.close()


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "big.db"
        t0 = time.perf_counter()
        build(db)
        print(
            f"built the trace in {time.perf_counter() - t0:.1f} s ({db.stat().st_size / 1e6:.0f} MB)"
        )
        t0 = time.perf_counter()
        export = export_episode_html(db, "huge", Path(tmp) / "huge.html")
        print(
            f"export: 50,000-event episode written in {time.perf_counter() - t0:.2f} s "
            f"({export.stat().st_size / 1e6:.1f} MB)"
        )
        with ViewerServer(db, port=0) as server:
            for name, path in API:
                print(f"api:  {name:58} {_median_ms(server.url + path):8.1f} ms")
            _pages(server, export)


if __name__ == "__main__":
    main()
