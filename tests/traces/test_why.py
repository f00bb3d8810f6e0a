"""Why an episode did not pass (one phrase) and check evidence as a sentence."""

from __future__ import annotations

import pytest

from sandlot.environments.checklist import Verdict
from sandlot.traces.why import why


def _check(item_id, passed, required=1):
    return {"item_id": item_id, "passed": passed, "required": required}


def test_a_passed_or_running_episode_has_no_why():
    assert why("passed") == "" and why(None, "boom") == ""


def test_failed_names_the_required_checks_that_failed():
    checks = [
        _check("order-cancelled", True),
        _check("refund-made", False),
        _check("says-sorry", False),
        _check("polite", False, required=0),
        _check("skipped", None),
    ]
    assert why("failed", None, checks) == "failed: refund-made, says-sorry"


def test_failed_with_only_optional_failures_names_those():
    assert why("failed", None, [_check("polite", False, required=0)]) == "failed: polite"


def test_many_failed_checks_are_counted_past_three():
    checks = [_check(f"c{i}", False) for i in range(5)]
    assert why("failed", None, checks) == "failed: c0, c1, c2 +2 more"


def test_verdict_objects_work_like_rows():
    v = Verdict("refund-made", "a refund", "state", False, 1.0, True)
    assert why("failed", None, [v]) == "failed: refund-made"


def test_gave_up_budget_error_and_interrupted():
    assert why("gave_up", "step failed and re-plans ran out: no such order") == (
        "gave up: no such order"
    )
    assert why("gave_up") == "gave up"
    assert why("budget", "model-call budget spent: 20 of 20") == "budget: model calls 20 of 20"
    assert why("budget", "tool-call budget spent: 8 of 8") == "budget: tool calls 8 of 8"
    assert why("budget") == "budget"
    assert why("error", "RuntimeError: boom\nTraceback (most recent call last):\n  ...") == (
        "RuntimeError: boom"
    )
    assert why("error") == "error"
    assert why("interrupted", "interrupted") == "interrupted"


def test_a_long_error_line_is_cut():
    text = why("error", "x" * 500)
    assert len(text) == 120 and text.endswith("…")


def test_the_cli_run_summary_has_a_why_column(monkeypatch):
    from rich.console import Console

    from sandlot import console as cli_console
    from sandlot.agents.running.results import EpisodeResult, RunResult
    from sandlot.environments.trajectory import Trajectory

    out = Console(width=200, record=True)
    monkeypatch.setattr(cli_console, "console", out)
    monkeypatch.setattr(cli_console, "err_console", Console(width=200, record=True))
    failed = EpisodeResult(
        "e1",
        "refund-task",
        outcome="failed",
        score=0.5,
        verdicts=[Verdict("refund-made", "a refund", "state", False, 1.0, True)],
    )
    budget = EpisodeResult(
        "e2",
        "long-task",
        outcome="budget",
        score=0.0,
        trajectory=Trajectory(ended="budget", error="model-call budget spent: 5 of 5"),
    )
    passed = EpisodeResult("e3", "easy-task", outcome="passed", score=1.0)
    cli_console.print_run_summary(RunResult("r", [failed, budget, passed]))
    text = out.export_text()
    assert "why" in text
    assert "failed: refund-made" in text and "budget: model calls 5 of 5" in text


def test_a_why_with_brackets_is_shown_as_is(monkeypatch):
    from rich.console import Console

    from sandlot import console as cli_console
    from sandlot.agents.running.results import EpisodeResult, RunResult
    from sandlot.environments.trajectory import Trajectory

    out = Console(width=200, record=True)
    monkeypatch.setattr(cli_console, "console", out)
    monkeypatch.setattr(cli_console, "err_console", Console(width=200, record=True))
    broken = EpisodeResult(
        "e1", "t", outcome="error", trajectory=Trajectory(error="KeyError: [bold]x[/bold]")
    )
    cli_console.print_run_summary(RunResult("r", [broken]))
    assert "KeyError: [bold]x[/bold]" in out.export_text()


def test_the_viewer_episode_list_and_episode_say_why(viewer_api):
    rows = {r["id"]: r for r in viewer_api.episodes("run-1")["rows"]}
    assert rows["ep-a"]["why"] == ""
    assert rows["ep-b"]["why"] == "failed: cancelled"
    assert rows["ep-c"]["why"] == "interrupted"  # its error's first line
    assert viewer_api.episode("ep-b")["why"] == "failed: cancelled"


# --- evidence as a sentence -------------------------------------------------------------

from sandlot.traces.why import evidence_sentence  # noqa: E402


def test_state_query_evidence_reads_expected_and_found():
    ev = {"query": "SELECT count(*) FROM refunds", "rows": [[1]], "expected": 0}
    assert evidence_sentence("state", ev) == "expected 0, found 1"
    ev = {"query": "q", "rows": [["shipped"]], "expected_contains": "cancel"}
    assert evidence_sentence("state", ev) == 'expected a value containing "cancel", found "shipped"'
    ev = {"query": "q", "rows": [], "expected_exists": True}
    assert evidence_sentence("state", ev) == "expected a row, found 0 rows"
    ev = {"query": "q", "rows": [[1, 2]], "expected_rows": [[1, 3]]}
    assert evidence_sentence("state", ev) == "expected rows [[1,3]], found [[1,2]]"
    ev = {"query": "q", "error": "OperationalError: no such table: x"}
    assert evidence_sentence("state", ev) == "could not check: OperationalError: no such table: x"


def test_state_changed_and_workspace_evidence():
    ev = {
        "expected_changed": {"orders": [{"id": 1, "status": "cancelled"}]},
        "tables": {
            "orders": {
                "passed": False,
                "changed": [],
                "not_found": [{"id": 1, "status": "cancelled"}],
                "unexpected": [],
                "deleted": [],
            },
            "refunds": {"passed": True},
        },
    }
    assert evidence_sentence("state", ev) == (
        'orders: expected change [{"id":1,"status":"cancelled"}] not made; '
        "refunds: changed as expected"
    )
    ev = {"command": "pytest", "exit_code": 1, "stdout": "", "stderr": "", "expected_exit_code": 0}
    assert evidence_sentence("state", ev) == "expected exit code 0, found 1"
    ev = {"file": "a.txt", "exists": False, "expected_exists": True}
    assert evidence_sentence("state", ev) == "expected a file, found it does not exist"


def test_called_not_called_order_max_steps_evidence():
    ev = {"matching_calls": 0, "calls_of_tool": 2, "calls": [{"tool": "refund", "arguments": {}}]}
    assert (
        evidence_sentence("called", ev)
        == "found 0 matching calls of refund (2 calls of the tool in all)"
    )
    ev = {"matching_calls": 1, "calls": [{"tool": "refund", "arguments": {"order_id": 7}}]}
    assert (
        evidence_sentence("not_called", ev) == "expected no such call, found 1: refund(order_id=7)"
    )
    assert evidence_sentence("not_called", {"matching_calls": 0, "calls": []}) == "no such call"
    ev = {"first_successful_call": {"a": 3, "b": 0, "c": None}, "missing": ["c"]}
    assert evidence_sentence("order", ev) == (
        "never called successfully: c; first successful calls: a at call 4, b at call 1"
    )
    ev = {"tool_calls": 7, "model_calls": 3, "limits": {"tool_calls": 5, "model_calls": None}}
    assert evidence_sentence("max_steps", ev) == "7 tool calls (at most 5); 3 model calls"


def test_answer_and_judge_evidence():
    assert evidence_sentence("answer", {"answer": "ok", "missing": ["sorry"]}) == (
        'the answer lacks "sorry"'
    )
    ev = {"answer": "It is 12", "number": 12.0, "expected": 10.0, "tolerance": 0.5}
    assert evidence_sentence("answer", ev) == "expected 10.0 (±0.5), found 12.0"
    ev = {"answer": None, "why": "the episode gave no final answer"}
    assert evidence_sentence("answer", ev) == "the episode gave no final answer"
    ev = {"scope": "any_reply", "replies": 2, "reply_index": None, "replies_seen": ["a", "b"]}
    assert evidence_sentence("answer", ev) == "none of 2 replies matched"
    assert evidence_sentence("judge", {"reason": "rude\nmore", "judge": "m"}) == "the judge: rude"


def test_no_credit_wraps_the_sentence_and_unknown_shapes_are_compact_json():
    ev = {
        "no_credit": "the episode ran out of budget",
        "as_checked": {"rows": [[1]], "expected": 1},
    }
    assert evidence_sentence("state", ev) == (
        "the episode ran out of budget (as checked: expected 1, found 1)"
    )
    assert evidence_sentence("custom", {"score": [1, 2]}) == '{"score":[1,2]}'
    assert evidence_sentence("custom", [1, 2]) == "[1,2]"
    assert evidence_sentence("state", None) == ""
    assert len(evidence_sentence("custom", {"x": "y" * 1000})) == 300


def test_the_viewer_checklist_carries_each_evidence_as_a_sentence(viewer_api):
    checks = viewer_api.episode("ep-b")["checks"]
    assert checks[0]["sentence"] == 'found rows [["shipped"]]'
    assert viewer_api.episode("ep-c")["checks"][0]["sentence"] == ""  # skipped: no evidence


# --- in the browser --------------------------------------------------------------------


@pytest.fixture
def why_page(browser, shared_viewer_db):
    from sandlot.traces.viewer.server import ViewerServer

    problems: list[str] = []
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    with ViewerServer(shared_viewer_db, port=0) as srv:
        yield page, srv.url
    page.close()
    assert not problems, problems


@pytest.mark.browser
def test_the_run_page_shows_why_and_the_episode_its_check_sentences(why_page):
    from playwright.sync_api import expect

    page, url = why_page
    page.goto(url + "#/run/run-1")
    expect(page.locator("#episodes tr[data-id=ep-b] td.why")).to_have_text("failed: cancelled")
    expect(page.locator("#episodes tr[data-id=ep-a] td.why")).to_have_text("")
    expect(page.locator("#episodes thead th").last).to_have_text("why")
    page.goto(url + "#/episode/ep-b")
    expect(page.locator("#why")).to_have_text("why: failed: cancelled")
    expect(page.locator("#checks .evidence-sentence")).to_have_text('found rows [["shipped"]]')


# --- a replay says whether it matched the recording -------------------------------------


def _replay_db(tmp_path, summary):
    from tests.traces.conftest import TraceBuilder

    t = TraceBuilder(tmp_path / "replay.db")
    t.run("r")
    t.episode("r", "orig", "task", outcome="passed")
    t.run("r2", kind="replay", parent_run="r")
    t.episode("r2", "rep", "task", replay_of="orig", outcome="passed")
    root = t.event("rep", "episode", "task", {"instruction": "x"})
    if summary is not None:
        t.event("rep", "replay", "summary", summary, parent=root)
    return t.close()


def test_a_replay_episode_says_whether_it_matched(tmp_path):
    from sandlot.traces.viewer.api import ViewerAPI

    matched = {"matched": True, "compared": 3, "divergence": None}
    api = ViewerAPI(_replay_db(tmp_path, matched))
    try:
        assert api.episode("rep")["replay"] == {
            "matched": True,
            "compared": 3,
            "divergence": None,
        }
        assert api.episode("orig")["replay"] is None
    finally:
        api.close()


def test_a_diverged_replay_says_where(tmp_path):
    from sandlot.traces.viewer.api import ViewerAPI

    diverged = {
        "matched": False,
        "compared": 2,
        "divergence": {
            "index": 1,
            "tool": "refund",
            "reason": "the result differs",
            "kind": "tool_call",
        },
    }
    api = ViewerAPI(_replay_db(tmp_path, diverged))
    try:
        replay = api.episode("rep")["replay"]
        assert replay["matched"] is False and replay["divergence"]["reason"] == "the result differs"
    finally:
        api.close()


def test_a_replay_without_its_summary_says_nothing(tmp_path):
    from sandlot.traces.viewer.api import ViewerAPI

    api = ViewerAPI(_replay_db(tmp_path, None))
    try:
        assert api.episode("rep")["replay"] is None
    finally:
        api.close()


@pytest.mark.browser
def test_the_replay_header_says_whether_it_matched(browser, tmp_path):
    from playwright.sync_api import expect

    from sandlot.traces.viewer.server import ViewerServer

    diverged = {
        "matched": False,
        "compared": 2,
        "divergence": {
            "index": 1,
            "tool": "refund",
            "reason": "the result differs",
            "kind": "tool_call",
        },
    }
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    with ViewerServer(_replay_db(tmp_path, diverged), port=0) as srv:
        page.goto(srv.url + "#/episode/rep")
        expect(page.locator("#replay-verdict")).to_have_text(
            "differed from the recording at tool call 2 (refund): the result differs"
        )
    page.close()
    assert not errors, errors


# --- a failed check links to the events it depends on -----------------------------------


def _linked_db(tmp_path):
    from tests.traces.conftest import TraceBuilder, tool_call

    t = TraceBuilder(tmp_path / "linked.db")
    t.run("r")
    t.episode("r", "e", "task", outcome="failed")
    root = t.event("e", "episode", "task", {"instruction": "x"})
    t.event("e", "tool_call", "get_order", tool_call("c1", {"order_id": 7}, "{}"), parent=root)
    t.event("e", "tool_call", "refund", tool_call("c2", {"order_id": 7}, "ok"), parent=root)
    t.event(
        "e", "tool_call", "refund", tool_call("c3", {"order_id": 8}, "no", ok=False), parent=root
    )
    forbidden = {"matching_calls": 1, "calls": [{"tool": "refund", "arguments": {"order_id": 7}}]}
    t.check("e", "no-refund", False, forbidden, kind="not_called")
    near = {
        "matching_calls": 0,
        "calls_of_tool": 2,
        "calls": [
            {"tool": "refund", "arguments": {"order_id": 7}},
            {"tool": "refund", "arguments": {"order_id": 8}},
        ],
    }
    t.check("e", "refund-9", False, near, kind="called")
    order = {"first_successful_call": {"refund": 1, "get_order": 0}, "missing": []}
    t.check("e", "look-first", False, order, kind="order")
    t.check("e", "passed-one", True, forbidden, kind="not_called")
    t.check("e", "state", False, {"rows": [[1]], "expected": 0})
    return t.close()


def test_failed_checks_link_to_the_tool_calls_they_depend_on(tmp_path):
    from sandlot.traces.viewer.api import ViewerAPI

    api = ViewerAPI(_linked_db(tmp_path))
    try:
        checks = {c["item_id"]: c for c in api.episode("e")["checks"]}
    finally:
        api.close()
    assert checks["no-refund"]["events"] == [2]  # the call that made the forbidden refund
    assert checks["refund-9"]["events"] == [2, 3]  # the near misses
    assert checks["look-first"]["events"] == [2, 1]  # each tool's first successful call
    assert checks["passed-one"]["events"] == []  # only failed checks link
    assert checks["state"]["events"] == []  # nothing in its evidence names a call


@pytest.mark.browser
def test_failed_checks_link_to_their_events_marked_in_timeline_and_tree(browser, tmp_path):
    from playwright.sync_api import expect

    from sandlot.traces.viewer.server import ViewerServer

    page = browser.new_page(viewport={"width": 1300, "height": 900})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    with ViewerServer(_linked_db(tmp_path), port=0) as srv:
        page.goto(srv.url + "#/episode/e?view=timeline")
        expect(page.locator("#timeline .row.check-linked")).to_have_count(3)
        expect(page.locator('#timeline .row[data-seq="2"] .check-mark')).to_have_text(
            "✗ no-refund, refund-9, look-first"
        )
        links = page.locator("#checks a.check-event")
        expect(links).to_have_count(5)
        page.click("#checklist-details > summary")  # the full checklist
        links.first.click()
        expect(page.locator('#timeline .row.selected[data-seq="2"]')).to_have_count(1)
        page.goto(srv.url + "#/episode/e?view=tree")
        page.locator('#tree button.toggle[data-seq="0"]').click()
        expect(page.locator("#tree .check-mark")).to_have_count(3)
    page.close()
    assert not errors, errors


def test_a_called_check_says_the_count_it_expected():
    def said(low, high, found, of_tool=None):
        ev = {"tool": "refund_order", "min_times": low, "max_times": high}
        ev |= {"matching_calls": found, "calls_of_tool": found if of_tool is None else of_tool}
        return evidence_sentence("called", ev | {"calls": []})

    assert said(1, None, 0) == "expected at least 1 matching call of refund_order, found 0"
    assert said(2, 2, 1, 3) == (
        "expected exactly 2 matching calls of refund_order, found 1 (3 calls of the tool in all)"
    )
    assert said(0, 1, 2) == "expected at most 1 matching call of refund_order, found 2"
    assert said(1, 3, 0) == "expected between 1 and 3 matching calls of refund_order, found 0"
