"""The viewer in headless chromium: a running run refreshing itself, the loading
indicator, search terms grouped by episode, plots that follow the filters and draw 0%,
the keyboard help and jump keys, the dark theme, and an empty trace."""

from __future__ import annotations

import re
import sqlite3

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips, or fails under CI, with the reason
    expect = None

from sandlot.traces.viewer.server import ViewerServer
from tests.traces.conftest import TraceBuilder

pytestmark = pytest.mark.browser


def test_a_running_run_refreshes_itself_until_it_ends(browser, page, tmp_path):
    t = TraceBuilder(tmp_path / "live.db")
    t.run("live", status="running", ended=None, n_tasks=2, epochs=2)
    t.episode("live", "e1", "t1", success=1, score=1.0, outcome="passed")
    db = t.close()
    with ViewerServer(db, port=0) as srv:
        page.goto(srv.url + "?refresh=50#/run/live")  # refresh every 50 ms, not 3 s
        expect(page.locator("#progress")).to_contain_text("1 of 4 episodes")
        expect(page.locator("#progress")).to_contain_text("0 not passed")
        expect(page.locator("#progress.live")).to_have_count(1)
        with sqlite3.connect(db) as conn:  # the run goes on: two more episodes end
            for ep, outcome in (("e2", "failed"), ("e3", "budget")):
                conn.execute(
                    "INSERT INTO episodes (id, run_id, task_id, epoch, status, success, "
                    "outcome, started) VALUES (?, 'live', 't2', 0, 'done', 0, ?, 1e9)",
                    (ep, outcome),
                )
        expect(page.locator("#progress")).to_contain_text("3 of 4 episodes")
        expect(page.locator("#failing")).to_have_text("2 not passed")
        expect(page.locator("#episodes tbody tr")).to_have_count(3)
        with sqlite3.connect(db) as conn:
            conn.execute("UPDATE runs SET status = 'done', ended = started + 5")
        expect(page.locator("#progress.live")).to_have_count(0)  # ended: no more refresh
        expect(page.locator(".meta")).to_contain_text("done")
        page.goto("about:blank")  # leave before the server stops: its plots may be loading


def test_navigation_shows_a_loading_indicator_until_the_page_is_drawn(server, page):
    page.goto(server.url)
    page.wait_for_selector("#runs")
    expect(page.locator("#loading")).to_be_hidden()
    seen: dict[str, object] = {}

    def hold(request_route):  # the answer waits until the page has been looked at
        seen["loading"] = page.locator("#loading").is_visible()
        seen["text"] = page.locator("#loading").inner_text()
        seen["old page"] = page.locator("#runs").count()
        request_route.continue_()

    page.route(re.compile(r".*/api/runs/run-1$"), hold)
    page.evaluate("location.hash = '#/run/run-1'")
    page.wait_for_selector("#episodes tbody tr")
    assert seen == {"loading": True, "text": "loading…", "old page": 1}
    expect(page.locator("#loading")).to_be_hidden()


def test_search_by_tool_and_failed_check_groups_hits_by_episode(server, page):
    page.goto(server.url + "#/search?q=" + "tool%3Acancel_order")
    page.wait_for_selector("#results .hit-group")
    groups = page.locator("#results .hit-group")
    expect(groups).to_have_count(4)
    first = groups.nth(0)
    expect(first).to_have_attribute("data-episode", "ep-a")
    expect(first.locator(".outcome-passed")).to_have_count(1)
    expect(groups.nth(1).locator(".outcome-failed")).to_have_count(1)
    expect(first.locator(".hit")).to_have_count(1)
    page.goto(server.url + "#/search?q=" + "failed%3Acancelled")
    expect(page.locator("#results .hit-group")).to_have_count(1)
    page.click("#results .hit-group a")
    expect(page.locator("h2")).to_contain_text("ep-b")


def test_plots_follow_the_filters_and_draw_zero_percent(server, page):
    page.goto(server.url + "#/run/run-1")
    page.wait_for_selector("#plots svg rect.bar")
    success = page.locator("#plots figure", has_text="Success per task")
    expect(success.locator("rect.bar")).to_have_count(2)  # 50% and (errored, unscored) –
    expect(success.locator("rect.bar.zero")).to_have_count(0)
    assert page.locator("#plots-filtered").count() == 0
    # only the failed episodes: store-orders-001 is at 0%, a visible bar with its value
    page.select_option("select[name=outcome]", "failed")
    expect(page.locator("#plots-filtered")).to_have_count(1)
    expect(success.locator("rect.bar")).to_have_count(1)
    zero = success.locator("rect.bar.zero")
    expect(zero).to_have_count(1)
    assert float(zero.get_attribute("height")) > 0
    expect(success.locator("text.zero-label")).to_have_text("0.0%")
    assert "store-orders-001" in zero.locator("title").text_content()
    page.select_option("select[name=outcome]", "passed")
    expect(success.locator("rect.bar.zero")).to_have_count(0)
    expect(success.locator("rect.bar")).to_have_count(1)
    score = page.locator("#plots figure", has_text="Score distribution")
    expect(score).to_contain_text("1 values")  # the one passed episode's score


def test_help_overlay_lists_the_keys_and_escape_closes_it(server, page):
    page.goto(server.url)
    page.wait_for_selector("#runs")
    page.keyboard.press("?")
    expect(page.locator("#help")).to_be_visible()
    text = page.inner_text("#help")
    for key in ("?", "Esc", "/", "f", "e", "j", "k", "↑ / ↓", "Enter"):
        assert key in text
    page.keyboard.press("Escape")
    expect(page.locator("#help")).to_have_count(0)
    page.keyboard.press("/")  # the other keys still work
    expect(page.locator("#search")).to_be_focused()


def test_f_goes_to_the_next_failed_episode_and_e_to_the_next_error(server, page):
    page.goto(server.url + "#/run/run-1")
    page.wait_for_selector("#episodes tbody tr")
    page.keyboard.press("f")
    expect(page).to_have_url(re.compile("#/episode/ep-b$"))
    expect(page.locator("h2")).to_contain_text("ep-b")
    page.keyboard.press("f")
    expect(page).to_have_url(re.compile("#/episode/ep-c"))
    expect(page.locator("h2")).to_contain_text("ep-c")
    page.click("#tab-timeline")
    page.wait_for_selector("#timeline .event")
    page.keyboard.press("e")
    page.wait_for_selector("#inspector .event-view[data-seq='12']")
    expect(page.locator("#timeline .event.selected")).to_have_attribute("data-seq", "12")
    page.keyboard.press("e")
    page.wait_for_selector("#inspector .event-view[data-seq='17']")
    expect(page.locator("#timeline .event.selected")).to_have_attribute("data-seq", "17")


def test_dark_theme_follows_the_system_setting(server, browser):
    context = browser.new_context(color_scheme="dark", viewport={"width": 1300, "height": 900})
    page = context.new_page()
    page.goto(server.url + "#/episode/ep-b?view=timeline")
    page.wait_for_selector("#timeline .event")

    def luminance(selector: str, prop: str) -> float:
        rgb = page.eval_on_selector(selector, f"n => getComputedStyle(n).{prop}")
        r, g, b = (int(x) for x in re.findall(r"\d+", rgb)[:3])
        return (0.2126 * r + 0.7152 * g + 0.0722 * b) / 255

    assert luminance("body", "backgroundColor") < 0.2
    assert luminance("body", "color") > 0.7
    for selector in ("#timeline .badge.kind-tool_call", "#tab-timeline", "header.top"):
        assert luminance(selector, "backgroundColor") < 0.3, selector  # no white blocks
    page.goto(server.url + "#/compare/ep-a/ep-b")
    page.wait_for_selector("tr.diff")
    assert luminance("tr.diff", "backgroundColor") < 0.3
    context.close()


def test_light_theme_stays_light(server, browser):
    context = browser.new_context(color_scheme="light")
    page = context.new_page()
    page.goto(server.url)
    page.wait_for_selector("#runs")
    rgb = page.eval_on_selector("body", "n => getComputedStyle(n).backgroundColor")
    assert rgb == "rgb(255, 255, 255)"
    context.close()


def test_an_empty_trace_says_how_to_record_a_run(browser, page, tmp_path):
    db = TraceBuilder(tmp_path / "empty.db").close()
    with ViewerServer(db, port=0) as srv:
        page.goto(srv.url)
        page.wait_for_selector("#no-runs")
        text = page.inner_text("#no-runs")
        assert "sandlot run examples/tasks/store --model oracle --db" in text
        assert "sandlot view" in text
        assert page.locator("#runs").count() == 0
