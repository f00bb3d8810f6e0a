"""Fixtures for the trace tests: a small trace writer (plain sqlite3 following schema.py,
independent of the TraceStore), a viewer database with hostile content, and one headless
chromium for the browser tests (skipped locally without it, a failure under CI)."""

from __future__ import annotations

import asyncio
import inspect
import json
import os
import sqlite3
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from sandlot.traces.schema import SCHEMA_SQL

__all__ = ["CHROMIUM", "XSS", "TraceBuilder", "assert_nothing_ran", "build_viewer_db", "open_page"]

CHROMIUM = "/usr/bin/chromium"

# Trace content that would run if a page inserted it as markup.
XSS = {
    "script": "<script>window.__xss = 1; document.title = 'pwned'</script>",
    "img": "<img src=x onerror=\"window.__xss = 2; document.title = 'pwned'\">",
    "link": '<a href="javascript:window.__xss=3">click me</a>',
    "bare": "javascript:window.__xss=4",
}


class TraceBuilder:
    """Writes runs, episodes, events and checks straight into a trace file."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = sqlite3.connect(path)
        self.conn.executescript(SCHEMA_SQL)
        self._seq: dict[str, int] = {}
        self._ts = 1_700_000_000.0

    def _insert(self, table: str, **columns: Any) -> None:
        names = ", ".join(columns)
        marks = ", ".join("?" for _ in columns)
        self.conn.execute(
            f"INSERT INTO {table} ({names}) VALUES ({marks})", tuple(columns.values())
        )

    def run(self, run_id: str, **columns: Any) -> None:
        values = {"started": self._ts, "ended": self._ts + 60, "status": "done"}
        values |= {"model": "scripted", "agent": "plan-execute", "config": "{}"} | columns
        self._insert("runs", id=run_id, **values)

    def episode(self, run_id: str, episode_id: str, task_id: str, **columns: Any) -> None:
        values = {"status": "done", "model": "scripted", "agent": "plan-execute"}
        values |= {"environment": "store", "started": self._ts, "epoch": 0} | columns
        self._insert("episodes", id=episode_id, run_id=run_id, task_id=task_id, **values)
        self._seq[episode_id] = 0

    def event(
        self,
        episode_id: str,
        kind: str,
        name: str,
        payload: Any = None,
        *,
        parent: int | None = None,
        duration: float | None = None,
        seq: int | None = None,
    ) -> int:
        """Write one event; returns its seq (the next free one unless given)."""
        number = self._seq[episode_id] if seq is None else seq
        self._seq[episode_id] = max(self._seq[episode_id], number + 1)
        self._ts += 0.05
        text = payload if isinstance(payload, str) else json.dumps(payload or {})
        self._insert(
            "events",
            episode_id=episode_id,
            seq=number,
            parent=parent,
            ts=self._ts,
            kind=kind,
            name=name,
            payload=text,
            duration=duration,
        )
        return number

    def check(
        self, episode_id: str, item_id: str, passed: bool | None, evidence: Any, **kw: Any
    ) -> None:
        values = {
            "description": f"check {item_id}",
            "kind": "state",
            "weight": 1.0,
            "required": 1,
        } | kw
        self._insert(
            "checks",
            episode_id=episode_id,
            item_id=item_id,
            passed=passed,
            evidence=json.dumps(evidence),
            **values,
        )

    def close(self) -> Path:
        self.conn.commit()
        self.conn.close()
        return self.path


def model_call(
    purpose: str, step: int | None, *, content: str | None = None, calls=(), messages=()
):
    """A model_call payload: ``calls`` are (id, name, arguments dict) triples."""
    return {
        "purpose": purpose,
        "step_index": step,
        "messages": list(messages),
        "tools": ["get_order", "cancel_order"],
        "response": {
            "content": content,
            "tool_calls": [{"id": i, "name": n, "arguments": json.dumps(a)} for i, n, a in calls],
        },
        "usage": {"prompt_tokens": 20, "completion_tokens": 5},
        "latency": 0.25,
        "model": "scripted",
    }


def retrieval(step: int, query: str, ranked: list, *, offered: list, expected: list):
    """A retrieval payload; a hit when every expected tool was offered."""
    hit = all(t in offered for t in expected)
    return {
        "step_index": step,
        "query": query,
        "ranked": ranked,
        "k": len(offered),
        "offered": offered,
        "expected": expected,
        "hit": hit,
    }


def tool_call(
    call_id: str, arguments: Any, content: str, *, ok: bool = True, step: int = 0, **kw: Any
):
    return {
        "call_id": call_id,
        "arguments": arguments,
        "arguments_raw": json.dumps(arguments),
        "ok": ok,
        "error_kind": None if ok else kw.pop("error_kind", "tool_error"),
        "content": content,
        "offered": True,
        "step_index": step,
    } | kw


def _orders_episode(t: TraceBuilder, ep: str, *, call_id: str, result: str, answer: str) -> None:
    """Plan two steps, look the order up, cancel it, answer: 14 events, 5 actions."""
    root = t.event(
        ep,
        "episode",
        "store-orders-001",
        {
            "task_id": "store-orders-001",
            "instruction": "Cancel order 1001 " + XSS["script"],
            "agent": "plan-execute",
            "model": "scripted",
            "tool_schemas": {"get_order": {"type": "function"}},
        },
    )
    planner = t.event(ep, "node", "planner", {"step_index": 0}, parent=root, duration=0.3)
    t.event(
        ep,
        "model_call",
        "plan",
        model_call("plan", None, content='{"steps": ["Look up order 1001", "Cancel it"]}'),
        parent=planner,
        duration=0.25,
    )
    t.event(
        ep,
        "plan",
        "plan",
        {"steps": ["Look up order 1001", "Cancel it"], "replan": False, "reason": None},
        parent=planner,
    )
    retriever = t.event(ep, "node", "retriever", {"step_index": 0}, parent=root, duration=0.01)
    t.event(
        ep,
        "retrieval",
        "bm25",
        retrieval(
            0,
            "Look up order 1001",
            [{"tool": "get_order", "score": 9.5}, {"tool": "cancel_order", "score": 2.0}],
            offered=["get_order"],
            expected=["get_order"],
        ),
        parent=retriever,
    )
    ex1 = t.event(ep, "node", "executor", {"step_index": 0}, parent=root, duration=0.4)
    messages = [
        {"role": "system", "content": "You are an agent."},
        {"role": "user", "content": "Cancel order 1001 " + XSS["script"]},
    ]
    t.event(
        ep,
        "model_call",
        "execute",
        model_call(
            "execute", 0, calls=[(call_id, "get_order", {"order_id": 1001})], messages=messages
        ),
        parent=ex1,
        duration=0.25,
    )
    t.event(
        ep,
        "tool_call",
        "get_order",
        tool_call(call_id, {"order_id": 1001}, result, step=0),
        parent=ex1,
        duration=0.002,
    )
    ex2 = t.event(ep, "node", "executor", {"step_index": 1}, parent=root, duration=0.4)
    t.event(
        ep,
        "model_call",
        "execute",
        model_call("execute", 1, content=answer, messages=messages),
        parent=ex2,
        duration=0.5,
    )
    t.event(
        ep,
        "tool_call",
        "cancel_order",
        tool_call(call_id + "b", {"order_id": 1001}, '{"cancelled": true}', step=1),
        parent=ex2,
        duration=0.003,
    )
    fin = t.event(ep, "node", "finish", {"step_index": 1}, parent=root, duration=0.001)
    t.event(ep, "answer", "answer", {"answer": answer}, parent=fin)


def _retrieve(t: TraceBuilder, ep: str, root: int, step: int, query: str, offered, expected):
    """A retriever node and its retrieval event."""
    node = t.event(ep, "node", "retriever", {"step_index": step}, parent=root)
    ranked = [{"tool": name, "score": 3.0 - i} for i, name in enumerate(offered)]
    payload = retrieval(step, query, ranked, offered=offered, expected=expected)
    t.event(ep, "retrieval", "bm25", payload, parent=node)


def _failing_episode(t: TraceBuilder, ep: str) -> None:
    """A failed step and a re-plan, a tool error with unparsable arguments, a retrieval
    miss, a 30 kB result, an error, and children of a span that was never written:
    18 events, 11 replay moves."""
    instruction = {"task_id": "store-orders-002", "instruction": "Refund order 1002"}
    root = t.event(ep, "episode", "store-orders-002", instruction)
    p = t.event(ep, "node", "planner", {"step_index": 0}, parent=root)
    steps = ["Find order 1002", "Refund it", "Tell the user"]
    t.event(ep, "plan", "plan", {"steps": steps, "replan": False}, parent=p)
    _retrieve(t, ep, root, 0, "Find order 1002", ["get_order"], ["get_order"])
    x = t.event(ep, "node", "executor", {"step_index": 0}, parent=root)
    asked = model_call("execute", 0, calls=[("k1", "get_order", {"order_id": 1002})])
    t.event(ep, "model_call", "execute", asked, parent=x)
    big = tool_call("k1", {"order_id": 1002}, "BIG" + "y" * 30_000, step=0)
    t.event(ep, "tool_call", "get_order", big, parent=x)
    _retrieve(t, ep, root, 1, "Refund it", ["cancel_order"], ["refund_order"])  # a miss
    x2 = t.event(ep, "node", "executor", {"step_index": 1}, parent=root)
    asked = model_call("execute", 1, calls=[("k2", "cancel_order", {})])
    t.event(ep, "model_call", "execute", asked, parent=x2)
    refused = tool_call(
        "k2",
        None,
        "invalid arguments: order_id is required",
        ok=False,
        step=1,
        error_kind="invalid_arguments",
        arguments_raw="{bad json",
    )
    t.event(ep, "tool_call", "cancel_order", refused, parent=x2)
    gave_up = model_call("execute", 1, content="STEP FAILED: no refund tool was offered")
    t.event(ep, "model_call", "execute", gave_up, parent=x2)
    p2 = t.event(ep, "node", "planner", {"step_index": 1}, parent=root)
    revised = ["Find order 1002", "Refund with refund_order", "Tell the user"]
    replan = {"steps": revised, "replan": True, "reason": "step failed: Refund it"}
    t.event(ep, "plan", "replan", replan, parent=p2)
    lost = 999  # a span the killed run never ended, so never wrote
    t.event(ep, "model_call", "execute", model_call("execute", 1, content="retrying"), parent=lost)
    failure = {"message": "interrupted " + XSS["img"], "traceback": "Traceback ..."}
    t.event(ep, "error", "episode", failure, parent=root)


_ORDERS_COUNTS = {"steps": 2, "model_calls": 3, "tool_calls": 2, "tokens": 75}


def in_a_thread(coro: Coroutine[Any, Any, Any]) -> Any:
    """Run ``coro`` to its end on a fresh event loop in another thread. Playwright's sync
    API keeps a loop running in the main thread for the whole package (test_viewer_browser*.py's
    browser fixture), so no test in tests/traces can be ``async`` or call asyncio.run:
    every episode here runs this way."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """An ``async`` test here would fail or pass depending on whether it runs before or
    after the browser tests (see in_a_thread): refuse it at collection."""
    here = Path(__file__).parent
    for item in items:
        func = getattr(item, "function", None)
        if item.path.parent == here and inspect.iscoroutinefunction(func):
            raise pytest.UsageError(
                f"{item.nodeid}: tests in tests/traces cannot be async; use in_a_thread"
            )


def build_viewer_db(path: Path) -> Path:
    """Two runs: run-1 with ep-a (succeeded; hostile text in messages, a tool result,
    the answer and check evidence), ep-b (same calls, ids differ, the first tool result
    differs) and ep-c (failed step, re-plan, tool error, orphans); run-2 replays ep-a."""
    t = TraceBuilder(path)
    t.run("run-1", config=json.dumps({"agent": {"k": 1}}))
    t.episode(
        "run-1",
        "ep-a",
        "store-orders-001",
        success=1,
        score=1.0,
        **_ORDERS_COUNTS,
        duration=1.5,
        answer="Order 1001 is cancelled. " + XSS["link"],
    )
    _orders_episode(
        t,
        "ep-a",
        call_id="c1",
        result='{"status": "pending"} ' + XSS["script"] + XSS["img"] + " " + XSS["bare"],
        answer="Order 1001 is cancelled. " + XSS["link"],
    )
    t.check(
        "ep-a", "cancelled", True, {"rows": [[XSS["img"]]]}, description="The order is cancelled"
    )
    t.check(
        "ep-a", "answer-says", True, {"answer": "cancelled"}, kind="answer", required=0, weight=0.5
    )
    t.episode(
        "run-1",
        "ep-b",
        "store-orders-001",
        success=0,
        score=0.0,
        **_ORDERS_COUNTS,
        duration=2.5,
        model="other-model",
        answer="I could not cancel it.",
    )
    _orders_episode(
        t, "ep-b", call_id="zz9", result='{"status": "shipped"}', answer="I could not cancel it."
    )
    t.check(
        "ep-b", "cancelled", False, {"rows": [["shipped"]]}, description="The order is cancelled"
    )
    failed = {"steps": 3, "model_calls": 4, "tool_calls": 2, "tool_errors": 1, "tokens": 100}
    t.episode(
        "run-1",
        "ep-c",
        "store-orders-002",
        status="error",
        success=0,
        score=0.0,
        **failed,
        duration=3.0,
        error="interrupted",
    )
    _failing_episode(t, "ep-c")
    t.check("ep-c", "refunded", None, None, skipped_reason="the episode ended in an error")
    t.run("run-2", kind="replay", parent_run="run-1")
    t.episode(
        "run-2",
        "ep-r",
        "store-orders-001",
        success=1,
        score=1.0,
        replay_of="ep-a",
        answer="Order 1001 is cancelled.",
    )
    _orders_episode(
        t,
        "ep-r",
        call_id="r1",
        result='{"status": "pending"} ' + XSS["script"] + XSS["img"] + " " + XSS["bare"],
        answer="Order 1001 is cancelled. " + XSS["link"],
    )
    return t.close()


@pytest.fixture
def viewer_db(tmp_path: Path) -> Path:
    """A fresh copy of the viewer database (see build_viewer_db)."""
    return build_viewer_db(tmp_path / "viewer.db")


@pytest.fixture
def viewer_api(viewer_db: Path) -> Iterator[Any]:
    """A ViewerAPI over a fresh viewer database."""
    from sandlot.traces.viewer.api import ViewerAPI

    api = ViewerAPI(viewer_db)
    yield api
    api.close()


@pytest.fixture(scope="session")
def shared_viewer_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One viewer database for the whole session; tests must only read it."""
    return build_viewer_db(tmp_path_factory.mktemp("viewer") / "viewer.db")


@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    """One headless Debian chromium for these tests, through playwright (never
    `playwright install`). Missing locally: skip; missing under CI: fail. Package
    scope: playwright's sync API keeps an event loop running in this thread, which
    async tests that run later (in another package) could not start under."""
    problem = None
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        problem = f"playwright is not importable ({exc}); pip install -e '.[dev]'"
    if problem is None and not os.access(CHROMIUM, os.X_OK):
        problem = f"no chromium at {CHROMIUM}; apt-get install chromium"
    if problem is not None:
        if os.environ.get("CI"):
            pytest.fail(f"browser tests must run under CI: {problem}")
        pytest.skip(problem)
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def server(shared_viewer_db: Path) -> Iterator[Any]:
    """A viewer server on the shared database, one per test module."""
    from sandlot.traces.viewer.server import ViewerServer

    with ViewerServer(shared_viewer_db, port=0) as srv:
        yield srv


def open_page(browser: Any, *, bypass_csp: bool = False) -> tuple[Any, list[str]]:
    """A page and the list its script errors, dialogs and CSP violations go to."""
    page = browser.new_page(viewport={"width": 1300, "height": 900}, bypass_csp=bypass_csp)
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("dialog", lambda d: (problems.append(f"dialog: {d.message}"), d.dismiss()))
    page.on(
        "console",
        lambda m: (
            problems.append(f"console: {m.text}")
            if m.type == "error" or "Content Security Policy" in m.text
            else None
        ),
    )
    return page, problems


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh page under the server's CSP; any script error, dialog or CSP violation
    fails the test."""
    page, problems = open_page(browser)
    yield page
    page.close()
    assert not problems, problems


def assert_nothing_ran(page: Any) -> None:
    """Nothing from hostile trace content ran, and every link is an in-page route."""
    assert page.evaluate("window.__xss") is None
    assert page.title() != "pwned"
    hrefs = page.eval_on_selector_all("a", "as => as.map(a => a.getAttribute('href') || '')")
    assert not [h for h in hrefs if not h.startswith("#")], hrefs  # only in-page routes
    assert page.locator("#app script, #app img, #app iframe, #app object").count() == 0
