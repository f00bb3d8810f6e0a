"""The viewer in a real headless browser (Debian's chromium through playwright), under
the server's real Content-Security-Policy: every page, the span tree, the step-through
replay with buttons and keys, comparison, search, plots, hostile trace content, a
50,000-row-capable windowed timeline, and the standalone export opened from file://."""

from __future__ import annotations

import re

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips, or fails under CI, with the reason
    expect = None

from sandlot.traces.viewer.export import export_episode_html
from sandlot.traces.viewer.server import ViewerServer
from tests.traces.conftest import XSS, TraceBuilder, assert_nothing_ran, open_page

pytestmark = pytest.mark.browser


def _counter_is(page, text: str) -> None:
    # expect() polls without eval, which the CSP (rightly) forbids in the page.
    expect(page.locator("#step-counter")).to_contain_text(text)


def test_runs_page_lists_each_run_with_its_figures(server, page):
    page.goto(server.url)
    page.wait_for_selector("#runs tbody tr")
    text = page.inner_text("#runs")
    # run-1: one passed, one failed, one errored (counted apart, not averaged in)
    assert "run-1" in text and "run-2" in text and "50.0%" in text and "replay" in text


def test_run_page_filters_and_sorts_in_the_server(server, page):
    page.goto(server.url + "#/run/run-1")
    page.wait_for_selector("#episodes tbody tr")
    assert page.locator("#episodes tbody tr").count() == 3
    page.select_option("select[name=success]", "0")
    expect(page.locator("#episodes tbody tr")).to_have_count(2)
    page.select_option("select[name=success]", "")
    expect(page.locator("#episodes tbody tr")).to_have_count(3)
    # outcomes in the trace's own words: the errored episode is never "done" in green
    expect(page.locator("#episodes .outcome-error")).to_have_text("error")
    expect(page.locator("#episodes .outcome-passed")).to_have_count(1)
    page.select_option("select[name=outcome]", "failed")
    expect(page.locator("#episodes tbody tr")).to_have_count(1)
    expect(page.locator("#episodes tbody tr").first).to_have_attribute("data-id", "ep-b")
    page.select_option("select[name=outcome]", "")
    expect(page.locator("#episodes tbody tr")).to_have_count(3)
    page.click("button[data-sort=duration]")
    expect(page).to_have_url(re.compile("sort=duration"))
    # the table is drawn again from the server's answer: wait for it before clicking on
    expect(page.locator("th[aria-sort=ascending] button[data-sort=duration]")).to_have_count(1)
    expect(page.locator("#episodes tbody tr").first).to_have_attribute("data-id", "ep-a")
    page.click("button[data-sort=duration]")  # again: descending
    expect(page).to_have_url(re.compile("desc=1"))
    expect(page.locator("th[aria-sort=descending] button[data-sort=duration]")).to_have_count(1)
    expect(page.locator("#episodes tbody tr").first).to_have_attribute("data-id", "ep-c")
    page.fill("input[name=task]", "orders-002")
    page.press("input[name=task]", "Enter")
    expect(page.locator("#episodes tbody tr")).to_have_count(1)


def test_run_page_draws_four_plots_as_svg(server, page):
    page.goto(server.url + "#/run/run-1")
    page.wait_for_selector("#plots svg rect.bar")
    assert page.locator("#plots svg").count() == 4
    assert page.locator("#plots svg rect.bar").count() >= 4
    assert "Score distribution" in page.inner_text("#plots")


def test_timeline_shows_events_and_the_inspector_shows_a_tool_call(server, page):
    page.goto(server.url + "#/episode/ep-a?view=timeline")
    page.wait_for_selector("#timeline .event[data-seq='13']")
    assert page.locator("#timeline .event").count() == 14
    page.click("#timeline .event[data-seq='8']")
    page.wait_for_selector("#inspector .event-view[data-seq='8']")
    text = page.inner_text("#inspector")
    assert "Arguments" in text and '"order_id": 1001' in text and "pending" in text
    page.keyboard.press("ArrowDown")  # the list has focus after the click
    page.wait_for_selector("#inspector .event-view[data-seq='9']")
    assert page.get_attribute("#timeline .event.selected", "data-seq") == "9"


def test_the_inspector_shows_the_tool_a_retrieval_needed_and_did_not_offer(server, page):
    # the trace names it `expected`, as traces written before `needed` do
    page.goto(server.url + "#/episode/ep-c?view=timeline")
    miss = page.locator("#timeline .event", has_text="Refund it").first
    miss.click()
    expect(page.locator("#inspector .event-view")).to_contain_text(
        "needed but not offered: refund_order"
    )
    expect(page.locator("#inspector table.ranked th").last).to_have_text("needed")


def test_timeline_filters_by_kind(server, page):
    page.goto(server.url + "#/episode/ep-a?view=timeline")
    page.wait_for_selector("#timeline .event")
    for kind in ["answer", "check", "episode", "model_call", "node", "plan", "retrieval"]:
        box = page.locator(f".kind-filter input[value={kind}]")
        if box.count():
            box.uncheck()
            page.wait_for_selector(f".kind-filter input[value={kind}]:not(:checked)")
    expect(page.locator("#timeline .event")).to_have_count(2)
    assert page.locator("#timeline .badge.kind-tool_call").count() == 2


def test_span_tree_opens_spans_and_shows_tool_arguments(server, page):
    page.goto(server.url + "#/episode/ep-a?view=tree")
    page.wait_for_selector("#tree .span[data-seq='6']")  # the root opened itself
    assert page.locator("#tree .span[data-seq='8']").count() == 0  # not loaded yet
    page.click("#tree .toggle[data-seq='6']")
    page.wait_for_selector("#tree .span[data-seq='8']")
    page.click("#tree .span[data-seq='8']")
    page.wait_for_selector("#inspector .event-view[data-seq='8']")
    assert '"order_id": 1001' in page.inner_text("#inspector")


def test_span_tree_marks_orphans_and_huge_payloads_expand_on_demand(server, page):
    page.goto(server.url + "#/episode/ep-c?view=tree")
    page.wait_for_selector("#tree .span[data-seq='16']")
    assert "was never written" in page.inner_text("#tree .span[data-seq='16']")
    page.click("#tree .toggle[data-seq='5']")
    page.click("#tree .span[data-seq='7']")
    page.wait_for_selector("#inspector .cut-notice")
    assert "1 long value(s) cut at 20,000 characters" in page.inner_text("#inspector")
    page.click("#inspector .show-full")
    page.wait_for_selector("#inspector .event-view:not(:has(.cut-notice))")
    page.click("#inspector .more-text >> nth=0")  # the block shows its start; expand it
    assert "y" * 30_000 in page.inner_text("#inspector")


def test_replay_steps_with_buttons_and_keys_and_tracks_the_plan(server, page):
    page.goto(server.url + "#/episode/ep-a")
    page.click("#tab-replay")
    _counter_is(page, "step 1 of 8")
    assert page.locator("#prev").is_disabled()
    page.click("#next")
    _counter_is(page, "step 2 of 8")
    assert "Look up order 1001" in page.inner_text("#plan-panel")
    page.keyboard.press("ArrowRight")
    _counter_is(page, "step 3 of 8")
    page.keyboard.press("j")
    _counter_is(page, "step 4 of 8")
    assert "Look up order 1001" in page.inner_text(".plan li.current")
    assert "Cancel order 1001" in page.inner_text("#step-view .conversation")  # what was sent
    page.keyboard.press("j")
    _counter_is(page, "step 5 of 8")  # the tool call: its result joins the conversation
    assert "pending" in page.inner_text("#step-view .talk .role-tool")
    page.keyboard.press("j")
    _counter_is(page, "step 6 of 8")
    assert "Look up order 1001" in page.inner_text(".plan li.done")
    assert "Cancel it" in page.inner_text(".plan li.current")
    page.keyboard.press("k")
    _counter_is(page, "step 5 of 8")
    page.keyboard.press("ArrowLeft")
    _counter_is(page, "step 4 of 8")
    assert "step=4" in page.url  # a link to this step


def test_replay_marks_the_failed_step_and_the_replan(server, page):
    page.goto(server.url + "#/episode/ep-c?view=replay&step=8")
    _counter_is(page, "step 8 of 11")
    assert "Refund it" in page.inner_text(".plan li.failed")
    assert "Find order 1002" in page.inner_text(".plan li.done")
    page.click("#next")
    _counter_is(page, "step 9 of 11")
    assert "Plan (revised)" in page.inner_text("#plan-panel")
    assert "Refund with refund_order" in page.inner_text(".plan li.current")
    page.click("#plan-panel details.earlier-plan summary")
    assert "Refund it" in page.inner_text("#plan-panel details.earlier-plan li.failed")


def test_compare_marks_the_first_difference(server, page):
    page.goto(server.url + "#/run/run-1")
    page.wait_for_selector("#episodes tbody tr")
    page.check("input[aria-label='select ep-a']")
    page.check("input[aria-label='select ep-b']")
    page.click("#compare")
    page.wait_for_selector("#first-diff")
    assert "first differ at action 3" in page.inner_text("#first-diff")
    assert "result" in page.inner_text("#first-diff")
    assert page.locator("tr.diff").count() == 1
    assert page.get_attribute("tr.diff", "data-index") == "2"
    assert "shipped" in page.inner_text("tr.diff")


def test_compare_a_replay_with_its_original(server, page):
    page.goto(server.url + "#/episode/ep-r")
    page.click("#compare-original")
    page.wait_for_selector("#first-diff")
    assert "made the same 5 model and tool calls" in page.inner_text("#first-diff")
    assert page.locator("tr.diff").count() == 0


def test_search_finds_an_event_and_opens_it(server, page):
    page.goto(server.url)
    page.wait_for_selector("#runs")
    page.keyboard.press("/")
    page.keyboard.type("shipped")
    page.keyboard.press("Enter")
    page.wait_for_selector("#results li")
    assert page.locator("#results li").count() == 1
    assert page.inner_text("#results mark") == "shipped"
    page.click("#results a")
    page.wait_for_selector("#inspector .event-view[data-seq='8']")
    assert "ep-b" in page.inner_text("h2")
    assert page.get_attribute("#timeline .event.selected", "data-seq") == "8"


def test_hostile_trace_content_renders_as_visible_text(server, page):
    _walk_hostile_pages(server, page)


def test_hostile_content_stays_text_even_without_the_csp(server, browser):
    # With the CSP off, only the escaping stands between a payload and the page.
    page, problems = open_page(browser, bypass_csp=True)
    _walk_hostile_pages(server, page)
    page.close()
    assert not problems, problems


def _walk_hostile_pages(server, page):
    page.goto(server.url + "#/episode/ep-a")  # the conversation
    page.wait_for_selector("#conversation .turn-answer")
    text = page.inner_text("#conversation")
    assert XSS["script"] in text and XSS["img"] in text and XSS["link"] in text
    assert_nothing_ran(page)
    page.goto(server.url + "#/episode/ep-a?view=timeline")
    page.wait_for_selector("#timeline .event[data-seq='8']")
    page.click("#timeline .event[data-seq='8']")
    page.wait_for_selector("#inspector .event-view")
    page.click("#checklist-details > summary")
    page.click("#checks details summary >> nth=0")
    body = page.inner_text("body")
    assert XSS["script"] in body and XSS["img"] in body and XSS["link"] in body
    assert XSS["bare"] in body
    assert_nothing_ran(page)
    page.click("#tab-replay")
    _counter_is(page, "step 1 of 8")
    page.goto(server.url + "#/episode/ep-a?view=replay&step=5")
    _counter_is(page, "step 5 of 8")
    assert XSS["script"] in page.inner_text("#step-view")
    page.goto(server.url + "#/search?q=" + "window.__xss")
    page.wait_for_selector("#results li")
    assert "<img src=x onerror=" in page.inner_text("#results")
    page.goto(server.url + "#/episode/ep-c?view=timeline")
    page.wait_for_selector("#timeline .event[data-seq='17']")
    assert_nothing_ran(page)


def test_timeline_is_windowed_on_a_large_episode(browser, tmp_path):
    t = TraceBuilder(tmp_path / "big.db")
    t.run("r")
    t.episode("r", "big", "task")
    root = t.event("big", "episode", "task", {"instruction": "many"})
    for i in range(1, 5000):
        t.event("big", "tool_call", "t", {"ok": True, "content": f"result {i}"}, parent=root)
    db = t.close()
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    with ViewerServer(db, port=0) as srv:
        page.goto(srv.url + "#/episode/big?view=timeline")
        page.wait_for_selector("#timeline .event[data-seq='0']")
        assert page.locator("#timeline .event").count() < 150  # only the rows in view
        page.eval_on_selector("#timeline", "box => { box.scrollTop = box.scrollHeight; }")
        page.wait_for_selector("#timeline .event[data-seq='4999']")
        assert page.locator("#timeline .event").count() < 150
        page.goto(srv.url + "#/episode/big?seq=2500")
        page.wait_for_selector("#inspector .event-view[data-seq='2500']")
        assert page.get_attribute("#timeline .event.selected", "data-seq") == "2500"
    page.close()


def test_standalone_export_renders_from_file(shared_viewer_db, browser, tmp_path):
    out = export_episode_html(shared_viewer_db, "ep-c", tmp_path / "ep-c.html")
    page, problems = open_page(browser)
    page.goto(out.as_uri())
    # the conversation first, answered from the embedded episode
    page.wait_for_selector("#conversation .turn-error")
    assert "Refund order 1002" in page.inner_text("#conversation .turn-user")
    assert page.locator("#conversation .tool-result.tool-error").count() == 1
    page.click("#tab-timeline")
    page.wait_for_selector("#timeline .event[data-seq='17']")
    assert "store-orders-002" in page.inner_text("h2")
    assert page.locator("#search").count() == 0
    page.click("#timeline .event[data-seq='12']")
    page.wait_for_selector("#inspector .event-view[data-seq='12']")
    assert "{bad json" in page.inner_text("#inspector")
    page.click("#tab-tree")
    page.wait_for_selector("#tree .span[data-seq='16']")
    page.click("#tab-replay")
    _counter_is(page, "step 1 of 11")
    page.keyboard.press("ArrowRight")
    _counter_is(page, "step 2 of 11")
    assert_nothing_ran(page)
    assert not problems, problems
    page.close()
