"""The episode read as a conversation (ViewerAPI.conversation, served as
/api/episodes/{id}/conversation and embedded in an export): turns built from events,
tool results under their calls, roles, tokens and cost, paging, stored messages."""

from __future__ import annotations

import json
import re
import urllib.request

import pytest

from sandlot.traces.viewer.api import ViewerAPI, ViewerError
from sandlot.traces.viewer.conversation import TEXT_LIMIT
from sandlot.traces.viewer.export import export_episode_html
from sandlot.traces.viewer.server import ViewerServer
from tests.traces.conftest import TraceBuilder, model_call, tool_call

DATA = re.compile(r'<script type="application/json" id="data">(.*?)</script>', re.S)


def _types(turns):
    return [t["type"] for t in turns]


def test_turns_of_a_plan_execute_episode_name_who_spoke(viewer_api):
    page = viewer_api.conversation("ep-a")
    turns = page["turns"]
    assert page["next_offset"] is None and page["total"] == 8
    assert _types(turns) == ["user", "assistant", "plan", "system", "assistant", "assistant"] + [
        "tool",
        "answer",
    ]
    assert turns[0]["source"] == "instruction" and turns[0]["content"].startswith("Cancel order")
    planner, executor = turns[1], turns[4]
    assert (planner["role"], executor["role"]) == ("planner", "executor")
    assert turns[3] == {
        "type": "system",
        "seq": 7,
        "to": "executor",
        "content": "You are an agent.",
        "cut": 0,
    }
    call = executor["tool_calls"][0]
    assert call["name"] == "get_order" and call["arguments"] == {"order_id": 1001}
    assert call["result"]["seq"] == 8 and call["result"]["ok"] is True
    assert call["result"]["content"].startswith('{"status": "pending"}')
    assert (executor["prompt_tokens"], executor["completion_tokens"]) == (20, 5)
    assert executor["latency"] == 0.25 and executor["cost_usd"] is None
    # the second executor call sent the same messages: the system prompt is shown once
    assert _types(turns).count("system") == 1
    # a result whose call no model call on the page asked for stands on its own
    assert turns[6]["name"] == "cancel_order" and turns[6]["call_id"] == "c1b"


def test_tool_errors_failed_steps_replans_and_errors_are_marked(viewer_api):
    turns = viewer_api.conversation("ep-c")["turns"]
    refused = turns[3]["tool_calls"][0]["result"]
    assert refused["ok"] is False and refused["error_kind"] == "invalid_arguments"
    assert turns[4]["status"] == "failed"
    assert turns[5]["type"] == "plan" and turns[5]["replan"] is True
    assert turns[-1]["type"] == "error" and turns[-1]["content"].startswith("interrupted")
    big = turns[2]["tool_calls"][0]["result"]
    assert len(big["content"]) == TEXT_LIMIT and big["cut"] == 30_003


def _calls_episode(tmp_path, n: int, **episode):
    t = TraceBuilder(tmp_path / "calls.db")
    t.run("r")
    t.episode("r", "e", "task", **episode)
    root = t.event("e", "episode", "task", {"instruction": "Do it"})
    for i in range(n):
        asked = model_call("execute", 0, calls=[(f"k{i}", "get_order", {"order_id": i})])
        asked["cost_usd"] = 0.001
        t.event("e", "model_call", "execute", asked, parent=root)
        t.event("e", "tool_call", "get_order", tool_call(f"k{i}", {}, f"r{i}"), parent=root)
    return t.close()


def test_pages_end_after_the_results_of_their_last_call(tmp_path):
    api = ViewerAPI(_calls_episode(tmp_path, 10))
    try:
        first = api.conversation("e", limit=4)  # episode, call, result, call (+ its result)
        assert first["total"] == 21 and first["next_offset"] == 5
        assert _types(first["turns"]) == ["user", "assistant", "assistant"]
        assert first["turns"][2]["tool_calls"][0]["result"]["content"] == "r1"
        assert first["turns"][1]["cost_usd"] == 0.001
        second = api.conversation("e", offset=5, limit=4)
        assert [t["seq"] for t in second["turns"]] == [5, 7]
        last = api.conversation("e", offset=19, limit=4)
        assert last["next_offset"] is None and [t["seq"] for t in last["turns"]] == [19]
        with pytest.raises(ViewerError):
            api.conversation("e", limit=0)
        assert api.conversation("no-such-episode") is None
    finally:
        api.close()


def test_messages_stored_once_are_shown_when_first_sent(tmp_path):
    t = TraceBuilder(tmp_path / "refs.db")
    t.run("r")
    t.episode("r", "e", "task")
    messages = [
        {"role": "system", "content": "You plan."},
        {"role": "user", "content": "Do it"},
        {"role": "system", "content": "You execute."},
        {"role": "user", "content": "Step 1: look it up"},
    ]
    for n, m in enumerate(messages):
        t.conn.execute(
            "INSERT INTO messages (episode_id, n, hash, message, refs) VALUES (?, ?, ?, ?, NULL)",
            ("e", n, bytes([n]), json.dumps(m)),
        )
    root = t.event("e", "episode", "task", {"instruction": "Do it"})
    for purpose, refs in (("plan", [[0, 1]]), ("execute", [[2, 3]]), ("execute", [[2, 3]])):
        payload = model_call(purpose, 0, content="ok") | {"message_refs": refs}
        del payload["messages"]
        t.event("e", "model_call", purpose, payload, parent=root)
    api = ViewerAPI(t.close())
    try:
        turns = api.conversation("e")["turns"]
        shown = [
            (t["type"], t.get("to"), t.get("content")) for t in turns if t["type"] != "assistant"
        ]
        # the instruction once (not again as the planner's user message), each prompt once
        assert shown == [
            ("user", None, "Do it"),
            ("system", "planner", "You plan."),
            ("system", "executor", "You execute."),
            ("user", "executor", "Step 1: look it up"),
        ]
        # a page that starts later knows which messages earlier calls sent
        later = api.conversation("e", offset=3, limit=1)["turns"]
        assert _types(later) == ["assistant"]
    finally:
        api.close()


def test_the_server_answers_the_conversation_path(tmp_path):
    with ViewerServer(_calls_episode(tmp_path, 3), port=0) as srv:
        url = srv.url + "api/episodes/e/conversation?offset=0&limit=2"
        with urllib.request.urlopen(url) as r:
            body = json.loads(r.read())
    assert body["next_offset"] == 3 and _types(body["turns"]) == ["user", "assistant"]


def test_an_export_embeds_every_turn(viewer_db, viewer_api, tmp_path):
    html = export_episode_html(viewer_db, "ep-a", tmp_path / "ep.html").read_text()
    data = json.loads(DATA.search(html).group(1))
    turns = viewer_api.conversation("ep-a", limit=None)["turns"]
    embedded = data["conversation"]
    assert [(t["type"], t["seq"]) for t in embedded] == [(t["type"], t["seq"]) for t in turns]
    assert embedded[4]["tool_calls"][0]["result"]["content"].startswith('{"status": "pending"}')
    assert "cost_usd" not in embedded[4] and "cut" not in embedded[0]  # empty fields left out
    assert "function renderMarkdown" in html and "function conversationView" in html


def test_a_recorded_plan_execute_episode_reads_as_one_conversation(tmp_path):
    from sandlot.agents.models.oracle import OracleModel
    from sandlot.environments.loader import load_tasks
    from tests.traces.conftest import in_a_thread
    from tests.traces.test_messages import STORE_TASKS, _run

    task = next(t for t in load_tasks([STORE_TASKS]) if t.id == "store-contact-003")
    db = tmp_path / "t.db"
    episode_id = in_a_thread(_run(db, task, OracleModel()))
    api = ViewerAPI(db)
    try:
        whole = api.conversation(episode_id)
        turns = whole["turns"]
        assert turns[0]["source"] == "instruction" and turns[-1]["type"] == "answer"
        systems = [t["to"] for t in turns if t["type"] == "system"]
        assert systems == ["planner", "executor"]  # each prompt once, however often sent
        steps = [t["content"] for t in turns if t["type"] == "user" and t.get("to") == "executor"]
        assert [s.split(":")[0] for s in steps] == ["Step 1 of 3", "Step 2 of 3", "Step 3 of 3"]
        assert {t["role"] for t in turns if t["type"] == "assistant"} == {"planner", "executor"}
        calls = [c for t in turns if t["type"] == "assistant" for c in t["tool_calls"]]
        assert calls and all(c["result"] and c["result"]["ok"] for c in calls)
        later = api.conversation(episode_id, offset=whole["total"] // 2)["turns"]
        assert "system" not in _types(later)
    finally:
        api.close()
