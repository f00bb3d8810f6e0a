"""Messages are stored once per episode and referenced: traces grow linearly with the
conversation, and every reader (TraceReader, the viewer, the export) gets back exactly
the messages the model was sent."""

from __future__ import annotations

import contextlib
import copy
import json
import re
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from sandlot.agents.graph.runtime import AgentConfig
from sandlot.agents.models.base import ModelRequest, ModelResponse
from sandlot.agents.models.oracle import OracleModel
from sandlot.agents.models.scripted import ScriptedModel
from sandlot.agents.running.runner import run_episode
from sandlot.environments.loader import load_tasks
from sandlot.environments.tasks import Task
from sandlot.traces import NullRecorder, TraceReader, TraceStore
from sandlot.traces.messages import (
    LONG_STRING,
    MAX_REFS,
    decode_ranges,
    encode_ranges,
)
from sandlot.traces.viewer.api import ViewerAPI
from sandlot.traces.viewer.export import export_episode_html
from tests.traces.conftest import in_a_thread

STORE_TASKS = Path(__file__).resolve().parents[2] / "examples" / "tasks" / "store"
DATA = re.compile(r'<script type="application/json" id="data">(.*?)</script>', re.S)


@pytest.fixture(scope="module")
def store_task() -> Task:
    return next(t for t in load_tasks([STORE_TASKS]) if t.id == "store-contact-003")


class RecordingOracle(OracleModel):
    """The oracle, keeping a copy of every message list it was sent."""

    def __init__(self) -> None:
        super().__init__()
        self.sent: list[list[dict[str, Any]]] = []

    async def complete(self, request: ModelRequest) -> ModelResponse:
        self.sent.append(copy.deepcopy(request.messages))
        return await super().complete(request)


def _lookups(n: int, *, first: str | None = None) -> ScriptedModel:
    """A single-agent script of ``n`` model calls: n - 1 lookups, then the answer."""
    script: list[Any] = [
        {"tool": "get_customer", "args": {"customer_id": 1 + i % 8}} for i in range(n - 1)
    ]
    if first is not None:
        script[0] = {**script[0], "content": first}
    script.append({"tool": "submit_answer", "args": {"answer": "done"}})
    return ScriptedModel(script)


async def _run(db: Path, task: Task, model: Any, agent: str = "plan-execute") -> str:
    # budgets wide enough for the longest script here
    config = AgentConfig(agent=agent, max_model_calls=100)  # type: ignore[arg-type]
    task = task.model_copy(update={"max_tool_calls": 100})
    with TraceStore(db) as store:
        run_id = store.start_run(model=model.name, agent=agent, config={})
        result = await run_episode(task, model=model, agent=config, store=store, run_id=run_id)
    return result.episode_id


def _stored_bytes(db: Path) -> int:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        (events,) = conn.execute("SELECT sum(length(payload)) FROM events").fetchone()
        (messages,) = conn.execute(
            "SELECT coalesce(sum(length(message)), 0) + coalesce(sum(length(refs)), 0) "
            "FROM messages"
        ).fetchone()
    return events + messages


# --- the reference ------------------------------------------------------------------------


def test_ranges_round_trip_and_keep_order():
    numbers = [0, 1, 2, 3, 7, 5, 6, 6, 9]
    refs = encode_ranges(numbers)
    assert refs == [[0, 3], 7, [5, 6], 6, 9]
    assert decode_ranges(refs) == numbers
    assert encode_ranges([]) == [] and decode_ranges([]) == []
    assert encode_ranges(range(1000)) == [[0, 999]]


@pytest.mark.parametrize("bad", [["1"], [[3, 1]], [[1, 2, 3]], [True], [{"n": 1}]])
def test_a_malformed_reference_is_an_error(bad):
    with pytest.raises(ValueError, match="not a message reference"):
        decode_ranges(bad)


def test_a_reference_too_large_to_be_real_is_refused():
    with pytest.raises(ValueError, match="more than"):
        decode_ranges([[0, MAX_REFS * 10]])


# --- storing once -------------------------------------------------------------------------


def test_a_model_call_stores_a_reference_and_each_message_once(tmp_path):
    system = {"role": "system", "content": "be brief"}
    talk = [{"role": "user", "content": f"message {i}"} for i in range(5)]
    with TraceStore(tmp_path / "t.db") as store:
        rec = store.start_episode(store.start_run(model="m", agent="a", config={}), "t")
        for k in range(1, 6):
            payload = {"purpose": "execute", **rec.message_refs([system, *talk[:k]])}
            rec.event("model_call", "execute", payload)
        store.flush()
        rows = store._rows("SELECT n, message FROM messages ORDER BY n")
        raw = store._rows("SELECT payload FROM events ORDER BY seq")
        events = store.events(rec.episode_id)
    assert [json.loads(r["message"]) for r in rows] == [system, *talk]  # once each
    last = json.loads(raw[-1]["payload"])
    assert last == {"purpose": "execute", "message_refs": [[0, 5]]}  # no list in the event
    assert [e["payload"]["messages"] for e in events] == [[system, *talk[:k]] for k in range(1, 6)]


def test_a_repeated_message_is_stored_once_and_referenced_twice(tmp_path):
    nudge = {"role": "user", "content": "Your reply was empty."}
    reply = {"role": "assistant", "content": ""}
    sent = [nudge, reply, nudge, reply, nudge]
    with TraceStore(tmp_path / "t.db") as store:
        rec = store.start_episode(store.start_run(model="m", agent="a", config={}), "t")
        refs = rec.message_refs(sent)
        rec.event("model_call", "execute", refs)
        store.flush()
        (count,) = store._rows("SELECT count(*) AS n FROM messages")[0].values()
        payload = store.events(rec.episode_id)[0]["payload"]
    assert refs == {"message_refs": [[0, 1], [0, 1], 0]}
    assert count == 2 and payload["messages"] == sent


def test_a_resumed_episode_continues_the_numbering_without_storing_twice(tmp_path):
    first = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    more = [*first, {"role": "assistant", "content": "a"}]
    db = tmp_path / "t.db"
    with TraceStore(db) as store:
        rec = store.start_episode(store.start_run(model="m", agent="a", config={}), "t")
        rec.event("model_call", "execute", rec.message_refs(first))
        episode_id = rec.episode_id
    with TraceStore(db) as store:  # another process, after a crash
        rec = store.resume_episode(episode_id)
        refs = rec.message_refs(more)
        rec.event("model_call", "execute", refs)
        store.flush()
        stored = store._rows("SELECT n FROM messages WHERE episode_id = ?", (episode_id,))
        calls = store.events(episode_id, kinds=["model_call"])
    assert refs == {"message_refs": [[0, 2]]}
    assert len(stored) == 3
    assert [c["payload"]["messages"] for c in calls] == [first, more]


def test_messages_are_redacted_like_payloads(tmp_path):
    key = "sk-test-SECRET-0123456789"
    db = tmp_path / "t.db"
    with TraceStore(db, secrets=[key]) as store:
        rec = store.start_episode(store.start_run(model="m", agent="a", config={}), "t")
        refs = rec.message_refs([{"role": "user", "content": f"my key is {key}"}])
        rec.event("model_call", "execute", refs)
        store.flush()
        messages = store.events(rec.episode_id)[0]["payload"]["messages"]
    assert messages == [{"role": "user", "content": "my key is [REDACTED]"}]
    assert key.encode() not in Path(db).read_bytes()


def test_a_long_tool_output_in_a_message_refers_to_its_tool_call_event(tmp_path):
    output = "row\n" * 5000
    short = "ok"
    with TraceStore(tmp_path / "t.db") as store:
        rec = store.start_episode(store.start_run(model="m", agent="a", config={}), "t")
        seq = rec.event("tool_call", "dump", {"content": output, "ok": True})
        rec.event("tool_call", "small", {"content": short, "ok": True})
        sent = [
            {"role": "tool", "tool_call_id": "c1", "content": output},
            {"role": "tool", "tool_call_id": "c2", "content": short},
            {"role": "user", "content": output + "!"},  # not held by an event: stored
        ]
        rec.event("model_call", "execute", rec.message_refs(sent))
        store.flush()
        rows = store._rows("SELECT n, message, refs FROM messages ORDER BY n")
        call = store.events(rec.episode_id, kinds=["model_call"])[0]
    assert json.loads(rows[0]["message"])["content"] is None
    assert json.loads(rows[0]["refs"]) == [[["content"], seq, ["content"]]]
    assert rows[1]["refs"] is None and rows[2]["refs"] is None
    assert len(rows[2]["message"]) > len(output)
    assert call["payload"]["messages"] == sent


def test_the_null_recorder_keeps_the_messages_inline():
    seen: list[dict[str, Any]] = []
    rec = NullRecorder("e", sink=seen.append)
    messages = [{"role": "user", "content": "hi"}]
    rec.event("model_call", "execute", rec.message_refs(messages))
    assert seen[0]["payload"] == {"messages": messages}


# --- whole episodes -----------------------------------------------------------------------


def test_a_model_calls_messages_resolve_to_exactly_what_the_model_was_sent(tmp_path, store_task):
    model = RecordingOracle()
    db = tmp_path / "t.db"
    episode_id = in_a_thread(_run(db, store_task, model))
    with TraceReader(db) as reader:
        calls = reader.events(episode_id, kinds=["model_call"])
        raw = reader.events(episode_id, kinds=["model_call"], messages=False)
        one = reader.call_messages(episode_id, raw[-1]["payload"])
    assert len(calls) == len(model.sent) >= 3
    assert [c["payload"]["messages"] for c in calls] == model.sent
    assert all("messages" not in c["payload"] and c["payload"]["message_refs"] for c in raw)
    assert one == model.sent[-1]
    api = ViewerAPI(db)
    try:
        shown = [api.event(episode_id, c["seq"], full=True)["payload"]["messages"] for c in raw]
    finally:
        api.close()
    assert shown == model.sent


def test_trace_size_grows_linearly_with_the_conversation(tmp_path, store_task):
    sizes = {}
    for n in (20, 40):
        db = tmp_path / f"{n}.db"
        model = _lookups(n)
        in_a_thread(_run(db, store_task, model, agent="single"))
        assert len(model.requests) == n
        sizes[n] = _stored_bytes(db)
    # Every call re-sending the conversation made this 3.3.
    assert sizes[40] < 2.3 * sizes[20], sizes


def test_a_long_reply_is_stored_once_and_read_back_whole(tmp_path, store_task):
    long = "".join(f"line {i}: " + "x" * 80 + "\n" for i in range(2500))  # 220 kB
    assert len(long) > 100 * LONG_STRING
    model = _lookups(6, first=long)
    db = tmp_path / "t.db"
    episode_id = in_a_thread(_run(db, store_task, model, agent="single"))
    # Once in the model call's response; the message refers to it; five later calls
    # send it again.
    assert _stored_bytes(db) < 1.2 * len(long)
    with TraceReader(db) as reader:
        calls = reader.events(episode_id, kinds=["model_call"])
    assert [c["payload"]["messages"] for c in calls] == [r.messages for r in model.requests]
    assert calls[-1]["payload"]["messages"][2]["content"] == long


# --- the viewer and the export ------------------------------------------------------------


def test_the_export_holds_each_message_once_and_the_references(tmp_path, store_task):
    model = RecordingOracle()
    db = tmp_path / "t.db"
    episode_id = in_a_thread(_run(db, store_task, model))
    html = export_episode_html(db, episode_id, tmp_path / "ep.html").read_text()
    data = json.loads(DATA.search(html).group(1))
    calls = [e for e in data["events"] if e["kind"] == "model_call"]
    for event, sent in zip(calls, model.sent, strict=True):
        payload = data["payloads"][str(event["seq"])]
        refs = decode_ranges(payload["message_refs"])
        assert [data["messages"][str(n)] for n in refs] == sent
    assert len(data["messages"]) < sum(len(s) for s in model.sent)


@pytest.mark.browser
def test_the_viewer_and_the_export_show_a_model_calls_messages(tmp_path, store_task, browser):
    from sandlot.traces.viewer.server import ViewerServer

    model = RecordingOracle()
    db = tmp_path / "t.db"
    episode_id = in_a_thread(_run(db, store_task, model))
    with TraceReader(db) as reader:
        last = reader.events(episode_id, kinds=["model_call"])[-1]
    sent = model.sent[-1]
    user_text = next(m["content"] for m in sent if m["role"] == "user")
    tool_text = next(m["content"] for m in sent if m["role"] == "tool")
    out = export_episode_html(db, episode_id, tmp_path / "ep.html")
    page = browser.new_page(viewport={"width": 1300, "height": 900})
    try:
        with ViewerServer(db, port=0) as srv:
            for url in (f"{srv.url}#/episode/{episode_id}?seq={last['seq']}", out.as_uri()):
                page.goto(url)
                if url == out.as_uri():  # opens on the conversation
                    page.wait_for_selector("#conversation .turn-assistant")
                    page.click("#tab-timeline")
                    page.click(f"#timeline .event[data-seq='{last['seq']}']")
                page.wait_for_selector(f"#inspector .event-view[data-seq='{last['seq']}']")
                inspector = page.inner_text("#inspector")
                assert f"Messages ({len(sent)})" in inspector
                assert user_text.splitlines()[0] in inspector
                assert tool_text[:40] in inspector
    finally:
        page.close()
