"""The episode page in a real headless browser: the Conversation tab (the default view),
the safe markdown renderer, a header compact enough at 1280x800, the timeline's summary
width, and the span tree's rows and latency bars."""

from __future__ import annotations

import pytest

try:
    from playwright.sync_api import expect
except ImportError:  # the browser fixture skips, or fails under CI, with the reason
    expect = None

from sandlot.traces.viewer.export import export_episode_html
from sandlot.traces.viewer.server import ViewerServer
from tests.traces.conftest import (
    XSS,
    TraceBuilder,
    assert_nothing_ran,
    model_call,
    open_page,
    tool_call,
)

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1280, "height": 800}


def test_the_conversation_is_the_default_view(server, page):
    page.goto(server.url + "#/episode/ep-a")
    page.wait_for_selector("#conversation .turn-answer")
    assert page.get_attribute("#tab-conversation", "aria-selected") == "true"
    turns = page.locator("#conversation > .turn")
    assert turns.first.get_attribute("class").split()[1] == "turn-user"
    assert "Cancel order 1001" in turns.first.inner_text()
    # the system prompt is there, collapsed
    system = page.locator("#conversation details.turn-system")
    assert system.count() == 1 and system.get_attribute("open") is None
    assert "You are an agent." not in page.inner_text("#conversation")
    system.locator("summary").click()
    assert "You are an agent." in system.inner_text()
    # who spoke, with tokens, cost ("–": no price recorded) and latency per model turn
    roles = page.eval_on_selector_all(
        "#conversation .turn-assistant", "ts => ts.map(t => t.dataset.role)"
    )
    assert roles == ["planner", "executor", "executor"]
    executor = page.locator("#conversation .turn-assistant[data-seq='7']")
    assert executor.locator(".turn-tokens").inner_text() == "20 in + 5 out"
    assert executor.locator(".turn-cost").inner_text() == "–"
    assert executor.locator(".turn-latency").inner_text() == "250.0 ms"
    # the tool call with its arguments, and its result inline under it
    call = executor.locator(".turn-call")
    assert "get_order" in call.inner_text() and '"order_id": 1001' in call.inner_text()
    assert '{"status": "pending"}' in call.locator(".tool-result").inner_text()
    assert "Order 1001 is cancelled." in page.inner_text("#conversation .turn-answer")


def test_the_conversation_marks_errors_and_links_to_the_timeline(server, page):
    page.goto(server.url + "#/episode/ep-c")
    page.wait_for_selector("#conversation .turn-error")
    refused = page.locator("#conversation .tool-result.tool-error")
    assert refused.count() == 1 and "invalid_arguments" in refused.inner_text()
    assert page.locator("#conversation .turn-assistant.turn-failed").count() == 1
    assert "re-plan" in page.inner_text("#conversation .turn-plan >> nth=1").lower()
    # a 30 kB result is cut, with a link to the whole event in the timeline
    page.click("#conversation .cut-notice a")
    page.wait_for_selector("#inspector .event-view[data-seq='7']")
    assert page.get_attribute("#tab-timeline", "aria-selected") == "true"
    assert page.get_attribute("#timeline .event.selected", "data-seq") == "7"


def test_links_to_an_event_and_named_views_still_open_their_tab(server, page):
    page.goto(server.url + "#/episode/ep-a?seq=8")
    page.wait_for_selector("#inspector .event-view[data-seq='8']")
    assert page.get_attribute("#tab-timeline", "aria-selected") == "true"
    page.goto(server.url + "#/episode/ep-a?view=tree")
    page.wait_for_selector("#tree .span[data-seq='6']")
    page.click("#tab-conversation")
    page.wait_for_selector("#conversation .turn")
    assert "view=" not in page.url


def _priced_episode(tmp_path, calls: int):
    t = TraceBuilder(tmp_path / "priced.db")
    t.run("r")
    t.episode("r", "e", "task", cost=0.05, agent="single")
    root = t.event("e", "episode", "task", {"instruction": "Look up **many** orders"})
    for i in range(calls):
        asked = model_call("execute", 0, calls=[(f"k{i}", "get_order", {"order_id": i})])
        asked["cost_usd"] = 0.0012
        t.event("e", "model_call", "execute", asked, parent=root)
        t.event("e", "tool_call", "get_order", tool_call(f"k{i}", {}, f"order {i}"), parent=root)
    return t.close()


def test_cost_is_shown_when_recorded_and_long_episodes_come_in_pages(browser, tmp_path):
    page, problems = open_page(browser)
    with ViewerServer(_priced_episode(tmp_path, 120), port=0) as srv:
        page.goto(srv.url + "#/episode/e")
        page.wait_for_selector("#conversation .turn-assistant")
        assert page.inner_text("#episode-cost") == "$0.0500"
        assert page.inner_text("#conversation .turn-cost >> nth=0") == "$0.0012"
        # the instruction is markdown
        assert page.inner_text("#conversation .turn-user strong") == "many"
        shown = page.locator("#conversation .turn-assistant")
        assert shown.count() == 50  # the first 100 events: the episode and 49.5 pairs
        page.click("#conversation-more")
        expect(shown).to_have_count(100)
        page.click("#conversation-more")
        expect(shown).to_have_count(120)
        assert page.locator("#conversation-more").count() == 0
    page.close()
    assert not problems, problems


def test_an_export_shows_the_conversation_and_its_pages(browser, tmp_path):
    out = export_episode_html(_priced_episode(tmp_path, 120), "e", tmp_path / "e.html")
    page, problems = open_page(browser)
    page.goto(out.as_uri())
    page.wait_for_selector("#conversation .turn-assistant")
    shown = page.locator("#conversation .turn-assistant")
    count = shown.count()
    assert 0 < count < 120
    while page.locator("#conversation-more").count():
        page.click("#conversation-more")
        expect(shown).not_to_have_count(count)
        count = shown.count()
    assert count == 120 and "order 119" in page.inner_text("#conversation")
    assert_nothing_ran(page)
    page.close()
    assert not problems, problems


MARKDOWN = "\n".join(
    [
        "# Title",
        "Some **bold**, *em*, `code` and get_order_by_id stays as it is.",
        XSS["script"] + " " + XSS["img"],
        "",
        "- one",
        "- two [docs](https://example.com/x) and [bad](javascript:window.__xss=5)",
        "",
        "3. three",
        "4. four",
        "",
        "```python",
        "print('<b>hi</b>')",
        "```",
    ]
)


def test_markdown_renders_only_its_own_elements(server, page):
    page.goto(server.url + "#/episode/ep-a")
    page.wait_for_selector("#conversation .turn")
    found = page.evaluate(
        """text => {
            const node = renderMarkdown(text);
            return {
                tags: [...node.querySelectorAll("*")].map(e => e.tagName.toLowerCase()),
                attrs: [...node.querySelectorAll("*")].flatMap(e => [...e.attributes].map(a => a.name)),
                text: node.textContent,
                strong: node.querySelector("p strong").textContent,
                em: [...node.querySelectorAll("em")].map(e => e.textContent),
                items: [...node.querySelectorAll("ul > li")].length,
                start: node.querySelector("ol").getAttribute("start"),
                code: node.querySelector("pre code").textContent,
            };
        }""",
        MARKDOWN,
    )
    assert set(found["tags"]) <= {"h3", "p", "strong", "em", "code", "br", "ul", "ol", "li"} | {
        "span",
        "pre",
    }
    assert set(found["attrs"]) <= {"class", "start", "data-lang"}  # no href, no handlers
    assert XSS["script"] in found["text"] and XSS["img"] in found["text"]
    assert "bad (javascript:window.__xss=5)" in found["text"]
    assert "docs (https://example.com/x)" in found["text"]
    assert found["strong"] == "bold" and found["em"] == ["em"]  # not get_order_by_id
    assert found["items"] == 2 and found["start"] == "3"
    assert found["code"] == "print('<b>hi</b>')"
    assert_nothing_ran(page)


def _failed_checklist_episode(tmp_path):
    t = TraceBuilder(tmp_path / "failed.db")
    t.run("r")
    t.episode("r", "e", "store-orders-009", success=0, score=0.2, status="done", model_calls=1)
    instruction = "Cancel order 1009, refund the customer and tell them. " * 6
    root = t.event("e", "episode", "store-orders-009", {"instruction": instruction})
    t.event("e", "model_call", "execute", model_call("execute", 0, content="Done."), parent=root)
    t.event("e", "answer", "answer", {"answer": "Done."}, parent=root)
    for i in range(6):
        evidence = {"rows": [["shipped"]], "sql": f"SELECT status FROM orders -- item {i}"}
        t.check("e", f"item-{i}", i == 0, evidence, description=f"The order is in state {i}")
    return t.close()


def test_the_first_turn_starts_above_the_fold_at_1280x800(browser, tmp_path):
    page, problems = open_page(browser)
    page.set_viewport_size(LAPTOP)
    with ViewerServer(_failed_checklist_episode(tmp_path), port=0) as srv:
        page.goto(srv.url + "#/episode/e")
        page.wait_for_selector("#conversation .turn")
        # the failed items, each with its sentence; the full table one click away
        assert page.locator("#failed-checks li").count() == 5
        assert "The order is in state 3" in page.inner_text("#failed-checks")
        assert not page.locator("#checks").is_visible()
        top = page.eval_on_selector("#conversation .turn", "t => t.getBoundingClientRect().top")
        assert top < LAPTOP["height"]
        page.click("#checklist-details > summary")
        assert page.locator("#checks tbody tr").count() == 6
    page.close()
    assert not problems, problems


def test_the_timeline_summary_has_room_at_1280(server, page):
    page.set_viewport_size(LAPTOP)
    page.goto(server.url + "#/episode/ep-a?view=timeline")
    page.wait_for_selector("#timeline .event[data-seq='8'] .summary")
    width = page.eval_on_selector(
        "#timeline .event[data-seq='8'] .summary", "s => s.getBoundingClientRect().width"
    )
    assert width >= 280


def _tree_rows(page):
    """Each visible tree row's box: its toggle, label and badge together, and the badge's."""
    return page.eval_on_selector_all(
        "#tree .span",
        """spans => spans.map(s => {
            const parts = [s, s.querySelector('.badge'), s.parentElement.querySelector('.toggle')];
            const rects = parts.filter(Boolean).map(p => p.getBoundingClientRect());
            const badge = s.querySelector('.badge').getBoundingClientRect();
            const label = s.getBoundingClientRect();
            return {seq: s.dataset.seq, top: Math.min(...rects.map(r => r.top)),
                    bottom: Math.max(...rects.map(r => r.bottom)),
                    badgeTop: badge.top, badgeBottom: badge.bottom,
                    labelTop: label.top, labelBottom: label.bottom};
        })""",
    )


def test_span_tree_rows_do_not_overlap(server, page):
    page.set_viewport_size(LAPTOP)
    page.goto(server.url + "#/episode/ep-a?view=tree")
    page.wait_for_selector("#tree .span[data-seq='6']")
    page.click("#tree .toggle[data-seq='6']")
    page.wait_for_selector("#tree .span[data-seq='8']")
    rows = _tree_rows(page)
    assert len(rows) == 8
    for above, below in zip(rows, rows[1:], strict=False):
        assert above["bottom"] <= below["top"] + 0.5, (above, below)
    for row in rows:  # a badge stays within its own line
        assert row["labelTop"] - 0.5 <= row["badgeTop"], row
        assert row["badgeBottom"] <= row["labelBottom"] + 0.5, row


def test_span_tree_bars_show_when_each_span_ran(server, page):
    page.goto(server.url + "#/episode/ep-a?view=tree")
    page.wait_for_selector("#tree .span[data-seq='6']")
    bars = page.eval_on_selector_all(
        "#tree .waterfall",
        """ws => Object.fromEntries(ws.map(w => {
            const r = w.querySelector('.wf-bar').getBoundingClientRect();
            return [w.dataset.seq, {left: r.left, width: r.width}];
        }))""",
    )
    planner, retriever, executor, second = bars["1"], bars["4"], bars["6"], bars["9"]
    assert planner["width"] > retriever["width"]  # 300 ms against 10 ms
    assert second["width"] > retriever["width"]
    assert planner["left"] < retriever["left"] < executor["left"] < second["left"]
