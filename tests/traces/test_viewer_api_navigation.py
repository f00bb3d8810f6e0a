"""The viewer's queries behind live refresh, the search terms, filtered plots and the
keys that jump to the next failed episode or the next error."""

from __future__ import annotations

import pytest

from sandlot.traces.viewer.api import ViewerAPI
from sandlot.traces.viewer.search_query import parse_search
from sandlot.traces.viewer.server import route
from tests.traces.conftest import TraceBuilder


@pytest.fixture
def api(viewer_api):
    return viewer_api


def test_a_run_says_how_many_of_its_episodes_ended_and_how_many_did_not_pass(tmp_path):
    t = TraceBuilder(tmp_path / "live.db")
    t.run("live", status="running", ended=None, n_tasks=3, epochs=2)
    t.episode("live", "e1", "t1", success=1, score=1.0, outcome="passed")
    t.episode("live", "e2", "t2", success=0, score=0.0, outcome="failed")
    t.episode("live", "e3", "t3", status="running")
    api = ViewerAPI(t.close())
    try:
        run = api.run("live")
    finally:
        api.close()
    assert (run["expected"], run["finished"], run["not_passed"], run["episodes"]) == (6, 2, 1, 3)


def test_search_terms_are_parsed_and_a_form_field_wins():
    q = parse_search('tool:refund_order args:"order 1001" failed:refund-made sorry')
    assert (q.text, q.tool, q.args, q.failed) == (
        "sorry",
        "refund_order",
        "order 1001",
        "refund-made",
    )
    assert parse_search("tool:a", tool="b").tool == "b"
    assert parse_search("  plain  text ").text == "  plain  text "  # searched as typed
    assert parse_search("tool: x").text == "tool: x"  # no value: plain text


def test_search_by_tool_args_and_failed_check_groups_hits_by_episode(api):
    tool = api.search("tool:cancel_order", run_id="run-1")
    assert {h["name"] for h in tool["rows"]} == {"cancel_order"}
    assert [g["episode_id"] for g in tool["groups"]] == ["ep-a", "ep-b", "ep-c"]
    assert [g["outcome"] for g in tool["groups"]] == ["passed", "failed", "error"]
    args = api.search("args:1001", run_id="run-1")
    assert {h["kind"] for h in args["rows"]} == {"tool_call"}
    assert {g["episode_id"]: len(g["hits"]) for g in args["groups"]} == {"ep-a": 2, "ep-b": 2}
    # failed: alone lists the episodes whose check failed; with text, their events
    failed = api.search("failed:cancelled")
    assert [(g["episode_id"], g["outcome"], g["hits"]) for g in failed["groups"]] == [
        ("ep-b", "failed", [])
    ]
    assert [h["seq"] for h in api.search("failed:cancelled shipped")["rows"]] == [8]
    assert api.search("failed:no-such-check")["rows"] == []
    both = api.search("tool:get_order args:1001", limit=1)
    assert len(both["rows"]) == 1 and both["more"] is True  # still bounded


def test_search_terms_come_through_the_route_too(api):
    hits = route(api, "/api/search", {"q": ["zzqq"], "tool": ["cancel_order"], "run": ["run-2"]})
    assert hits["query"]["tool"] == "cancel_order" and hits["rows"] == []  # no "zzqq" there
    hits = route(api, "/api/search", {"tool": ["cancel_order"], "run": ["run-2"]})
    assert [g["episode_id"] for g in hits["groups"]] == ["ep-r"]


def test_plots_follow_the_run_page_filters(api):
    whole = api.stats("run-1")
    assert {t["task_id"] for t in whole["per_task"]} == {"store-orders-001", "store-orders-002"}
    passed = route(api, "/api/runs/run-1/stats", {"outcome": ["passed"]})
    assert [(t["task_id"], t["n"]) for t in passed["per_task"]] == [("store-orders-001", 1)]
    assert passed["scores"] == [1.0]
    assert len(passed["tool_latency"]) <= len(whole["tool_latency"])
    task = api.stats("run-1", task="002")
    assert [t["task_id"] for t in task["per_task"]] == ["store-orders-002"]
    assert task["summary"] == whole["summary"]  # the statistics stay the whole run's


def test_next_failed_episode_follows_the_run_and_wraps_around(api):
    assert api.next_failed("run-1") == {"id": "ep-b"}
    assert api.next_failed("run-1", "ep-b") == {"id": "ep-c"}
    assert api.next_failed("run-1", "ep-c") == {"id": "ep-b"}  # wraps around
    assert api.next_failed(None, "ep-a") == {"id": "ep-b"}  # the episode's own run
    assert api.next_failed("run-2") == {"id": None}  # every episode passed
    assert route(api, "/api/episodes/ep-b/next-failed", {}) == {"id": "ep-c"}


def test_next_error_finds_the_next_event_with_error_status(api):
    assert api.next_error("ep-c", -1) == {"seq": 12, "index": 12}
    assert api.next_error("ep-c", 12) == {"seq": 17, "index": 17}  # the error event
    assert api.next_error("ep-c", 17) == {"seq": 12, "index": 12}  # wraps around
    kinds = ["tool_call"]
    assert api.next_error("ep-c", -1, kinds=kinds)["index"] == api.position("ep-c", 12, kinds=kinds)
    assert api.next_error("ep-a", -1) == {"seq": None, "index": None}
    assert route(api, "/api/episodes/ep-c/next-error", {"after": ["-1"]})["seq"] == 12
