"""The viewer's queries: runs, filtered/sorted/paged episodes, paged events, the lazy
span tree, replay moves, search and plots — all over a read-only connection."""

from __future__ import annotations

import hashlib
import json
import sqlite3

import pytest

from sandlot.traces.viewer.api import ViewerAPI, ViewerError
from sandlot.traces.viewer.db import TraceFileError
from sandlot.traces.viewer.summaries import PAYLOAD_LIMIT


@pytest.fixture
def api(viewer_api):
    return viewer_api


def test_runs_carry_success_rate_score_tokens_and_status(api):
    runs = {r["id"]: r for r in api.runs()}
    assert runs["run-1"]["episodes"] == 3 and runs["run-1"]["errors"] == 1
    # the errored episode is reported apart, never averaged in
    assert runs["run-1"]["scored"] == 2
    assert runs["run-1"]["success_rate"] == pytest.approx(1 / 2)
    assert runs["run-1"]["mean_score"] == pytest.approx(1 / 2)
    assert runs["run-1"]["tokens"] == 250 and runs["run-1"]["status"] == "done"
    assert runs["run-2"]["kind"] == "replay" and runs["run-2"]["parent_run"] == "run-1"
    assert api.run("run-1")["config"] == {"agent": {"k": 1}}
    assert api.run("nope") is None


def test_episodes_filter_by_task_status_model_and_success(api):
    ids = lambda **kw: [r["id"] for r in api.episodes("run-1", **kw)["rows"]]  # noqa: E731
    assert ids(task="orders-002") == ["ep-c"]
    assert ids(status="error") == ["ep-c"]
    assert ids(outcome="error") == ["ep-c"] and ids(outcome="passed") == ["ep-a"]
    assert ids(outcome="failed") == ["ep-b"]
    rows = {r["id"]: r for r in api.episodes("run-1")["rows"]}
    # rows written without an outcome get theirs from status and success
    assert {k: r["outcome"] for k, r in rows.items()} == {
        "ep-a": "passed",
        "ep-b": "failed",
        "ep-c": "error",
    }
    assert api.episodes("run-1")["facets"]["outcome"] == ["error", "failed", "passed"]
    assert ids(model="other-model") == ["ep-b"]
    assert ids(success="1") == ["ep-a"]
    assert ids(success="0") == ["ep-b", "ep-c"]
    assert ids(task="%") == []  # a LIKE wildcard in the filter matches only itself
    facets = api.episodes("run-1")["facets"]
    assert facets["status"] == ["done", "error"] and "store-orders-002" in facets["task"]


def test_episodes_sort_by_any_column_and_page(api):
    assert [r["id"] for r in api.episodes("run-1", sort="duration", desc=True)["rows"]] == [
        "ep-c",
        "ep-b",
        "ep-a",
    ]
    assert [r["id"] for r in api.episodes("run-1", sort="score")["rows"]][-1] == "ep-a"
    page = api.episodes("run-1", sort="duration", limit=1, offset=1)
    assert page["total"] == 3 and [r["id"] for r in page["rows"]] == ["ep-b"]


def test_unknown_sort_column_is_refused_with_the_choices(api):
    with pytest.raises(ViewerError, match="use one of started, task_id"):
        api.episodes("run-1", sort="id; DROP TABLE runs")
    with pytest.raises(ViewerError, match="success must be 1 or 0"):
        api.episodes("run-1", success="maybe")


def test_episode_header_has_checklist_counts_and_time_span(api):
    ep = api.episode("ep-a")
    assert "final_state" not in ep
    assert [c["item_id"] for c in ep["checks"]] == ["cancelled", "answer-says"]
    assert ep["checks"][0]["evidence"] == {
        "rows": [["<img src=x onerror=\"window.__xss = 2; document.title = 'pwned'\">"]]
    }
    assert ep["n_events"] == 14 and ep["kinds"]["tool_call"] == 2
    assert ep["t1"] > ep["t0"]
    assert ep["instruction"].startswith("Cancel order 1001")
    assert api.episode("nope") is None


def test_events_come_in_pages_with_summaries_not_payloads(api):
    first = api.events("ep-a", limit=5)
    assert first["total"] == 14 and [e["seq"] for e in first["rows"]] == [0, 1, 2, 3, 4]
    assert [e["seq"] for e in api.events("ep-a", offset=12, limit=5)["rows"]] == [12, 13]
    tool = api.events("ep-a", offset=8, limit=1)["rows"][0]
    assert "payload" not in tool
    assert tool["summary"].startswith("get_order(order_id=1001) → ") and tool["status"] == "ok"


def test_events_filtered_by_kind_and_position_of_an_event(api):
    tools = api.events("ep-a", kinds=["tool_call"])
    assert tools["total"] == 2 and [e["seq"] for e in tools["rows"]] == [8, 11]
    assert api.position("ep-a", 11, kinds=["tool_call"]) == 1
    assert api.position("ep-a", 11) == 11


def test_huge_strings_are_cut_unless_the_full_event_is_asked_for(api):
    listed = api.events("ep-c", offset=7, limit=1)["rows"][0]
    assert listed["size"] > 30_000 and len(listed["summary"]) <= 200
    cut = api.event("ep-c", 7)
    assert cut["cut"] == 1 and len(cut["payload"]["content"]) < PAYLOAD_LIMIT + 100
    assert cut["payload"]["content"].endswith("more characters]")
    full = api.event("ep-c", 7, full=True)
    assert full["cut"] == 0 and full["payload"]["content"] == "BIG" + "y" * 30_000


def test_span_tree_children_load_one_level_at_a_time(api):
    roots = api.children("ep-a", None)
    assert [r["seq"] for r in roots["rows"]] == [0] and roots["rows"][0]["n_children"] == 5
    nodes = api.children("ep-a", 0)
    assert [r["seq"] for r in nodes["rows"]] == [1, 4, 6, 9, 12]
    assert [r["name"] for r in nodes["rows"]][:2] == ["planner", "retriever"]
    assert [r["n_children"] for r in nodes["rows"]] == [2, 1, 2, 2, 1]
    page = api.children("ep-a", 0, offset=1, limit=2)
    assert page["total"] == 5 and [r["seq"] for r in page["rows"]] == [4, 6]


def test_children_of_a_span_never_written_show_as_orphan_roots(api):
    roots = api.children("ep-c", None)["rows"]
    assert [(r["seq"], r.get("orphan", False)) for r in roots] == [(0, False), (16, True)]


def test_replay_moves_carry_plan_step_and_status(api):
    steps = api.steps("ep-c")
    moves = list(zip(steps["kind"], steps["step"], steps["status"], strict=True))
    assert moves[0] == ("plan", None, None)
    assert ("retrieval", 1, "miss") in moves
    assert ("tool_call", 1, "error") in moves
    assert ("model_call", 1, "failed") in moves  # "STEP FAILED: ..."
    assert moves[8] == ("plan", None, "replan")


def test_search_finds_payload_text_with_an_excerpt_around_it(api):
    hits = api.search("shipped")
    assert [(h["episode_id"], h["seq"]) for h in hits["rows"]] == [("ep-b", 8)]
    assert '"status": "shipped"' in hits["rows"][0]["excerpt"] and not hits["more"]
    assert api.search("SHIPPED")["rows"]  # case-insensitive
    assert api.search("   ")["rows"] == []


def test_search_treats_like_wildcards_literally_and_honours_limits(api):
    assert api.search("%")["rows"] == []  # no payload holds a percent sign
    assert api.search("order_id", kind="tool_call", run_id="run-1", limit=2)["more"] is True
    assert {h["kind"] for h in api.search("order", kind="plan")["rows"]} == {"plan"}
    assert {h["run_id"] for h in api.search("order 1001", run_id="run-2")["rows"]} == {"run-2"}


def test_stats_hold_what_the_plots_need(api):
    stats = api.stats("run-1")
    assert sorted(stats["scores"]) == [0.0, 1.0]  # the errored episode's is not a score
    assert {t["task_id"]: t["success_rate"] for t in stats["per_task"]} == {
        "store-orders-001": 0.5,
        "store-orders-002": None,  # its one episode errored: nothing to rate
    }
    assert 0.5 in stats["model_latency"] and 0.002 in stats["tool_latency"]


def test_the_trace_file_is_never_written(viewer_db):
    before = hashlib.sha256(viewer_db.read_bytes()).hexdigest()
    api = ViewerAPI(viewer_db)
    api.runs(), api.episodes("run-1", sort="score"), api.events("ep-a"), api.search("x")
    api.children("ep-c", None), api.steps("ep-c"), api.compare("ep-a", "ep-b"), api.stats("run-1")
    with api._pool.connection() as conn, pytest.raises(sqlite3.OperationalError):
        conn.execute("DELETE FROM runs")
    api.close()
    assert hashlib.sha256(viewer_db.read_bytes()).hexdigest() == before


def test_paths_with_uri_characters_open_the_right_file(viewer_db, tmp_path):
    odd = tmp_path / "a dir?x=1#frag"
    odd.mkdir()
    moved = viewer_db.rename(odd / "t%20.db")
    api = ViewerAPI(moved)
    assert {r["id"] for r in api.runs()} == {"run-1", "run-2"}
    api.close()


def test_a_file_that_is_not_a_trace_gets_a_clear_error(tmp_path):
    with pytest.raises(TraceFileError, match="no trace file at"):
        ViewerAPI(tmp_path / "missing.db")
    text = tmp_path / "notes.txt"
    text.write_text("hello " * 200)
    with pytest.raises(TraceFileError, match="not an SQLite trace file"):
        ViewerAPI(text)
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE things (x)").connection.close()
    with pytest.raises(TraceFileError, match="no runs, episodes, events, checks table"):
        ViewerAPI(other)


def test_invalid_json_payload_is_shown_as_text(viewer_db):
    conn = sqlite3.connect(viewer_db)
    conn.execute(
        "INSERT INTO events (episode_id, seq, parent, kind, name, payload) "
        "VALUES ('ep-a', 50, 0, 'tool_call', 'broken', 'not json {')"
    )
    conn.commit()
    conn.close()
    api = ViewerAPI(viewer_db)
    assert api.event("ep-a", 50)["payload"] == "not json {"
    assert api.events("ep-a", offset=14)["rows"][0]["seq"] == 50
    assert api.steps("ep-a")["seq"][-1] == 50  # 8 moves, then the broken call
    assert json.dumps(api.compare("ep-a", "ep-b"))  # still JSON-able
    api.close()


def test_replay_statuses_from_sql_match_the_summaries(api):
    # steps() computes statuses in SQL for speed; they must say what summarize() says.
    for episode in ("ep-a", "ep-c"):
        steps = api.steps(episode)
        for seq, status in zip(steps["seq"], steps["status"], strict=True):
            assert api.event(episode, seq)["status"] == status, (episode, seq)


def test_search_finds_text_with_quotes_and_backslashes_and_shows_it_plainly(viewer_db):
    conn = sqlite3.connect(viewer_db)
    payload = json.dumps({"content": 'set phone="+31 20" in C:\\new\nand done'})
    conn.execute(
        "INSERT INTO events (episode_id, seq, parent, kind, name, payload) "
        "VALUES ('ep-a', 60, 0, 'tool_call', 'odd', ?)",
        (payload,),
    )
    conn.commit()
    conn.close()
    api = ViewerAPI(viewer_db)
    hits = api.search('phone="+31 20"')["rows"]
    assert [(h["episode_id"], h["seq"]) for h in hits] == [("ep-a", 60)]
    assert 'phone="+31 20" in C:\\new and done' in hits[0]["excerpt"]
    assert [h["seq"] for h in api.search("C:\\new")["rows"]] == [60]
    api.close()


def test_an_event_of_an_unexpected_shape_never_fails_its_page(viewer_db):
    odd = [
        ("model_call", {"response": "just text", "usage": {"prompt_tokens": "7"}}),
        ("retrieval", {"offered": [{"tool": "x"}], "ranked": "nope"}),
        ("node", {"step_index": "2"}),
        ("check", {"passed": [1]}),
    ]
    conn = sqlite3.connect(viewer_db)
    for i, (kind, payload) in enumerate(odd):
        conn.execute(
            "INSERT INTO events (episode_id, seq, parent, kind, name, payload) "
            "VALUES ('ep-b', ?, 0, ?, 'odd', ?)",
            (70 + i, kind, json.dumps(payload)),
        )
    conn.commit()
    conn.close()
    api = ViewerAPI(viewer_db)
    rows = api.events("ep-b", offset=0, limit=200)["rows"]
    assert {r["seq"] for r in rows} >= {70, 71, 72, 73}
    assert all(isinstance(r["summary"], str) for r in rows)
    assert api.children("ep-b", 0)["rows"]
    assert json.dumps(api.compare("ep-a", "ep-b"))
    api.close()


def test_sql_statuses_match_the_summaries_on_edge_payloads(viewer_db):
    edge = [
        {"error": "", "response": {"content": "fine"}},
        {"error": False, "response": {"content": "fine"}},
        {"error": "boom"},
        {"response": {"content": "  step failed: no such order"}},
        {"response": {"content": "STEP FAILED: gone"}},
        {"response": {"content": "the step failed? no"}},
    ]
    conn = sqlite3.connect(viewer_db)
    for i, payload in enumerate(edge):
        conn.execute(
            "INSERT INTO events (episode_id, seq, parent, kind, name, payload) "
            "VALUES ('ep-b', ?, 0, 'model_call', 'execute', ?)",
            (80 + i, json.dumps(payload)),
        )
    conn.execute("INSERT INTO runs (id, started, status, kind) VALUES ('empty', 1, 'done', 'run')")
    conn.commit()
    conn.close()
    api = ViewerAPI(viewer_db)
    steps = dict(zip(api.steps("ep-b")["seq"], api.steps("ep-b")["status"], strict=True))
    got = [steps[80 + i] for i in range(len(edge))]
    assert got == [api.event("ep-b", 80 + i)["status"] for i in range(len(edge))]
    assert got == [None, None, "error", "failed", "failed", None]
    assert api.run("empty")["success_rate"] is None  # no episodes: no rate, not 0%
    api.close()
