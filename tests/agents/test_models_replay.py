"""ReplayModel: serves recorded model outputs per purpose, in order, errors included."""

from __future__ import annotations

import json
import sqlite3

import pytest

from sandlot.agents.models import ModelError, ModelRequest, ReplayModel
from sandlot.traces.schema import SCHEMA_SQL


def model_call(seq: int, purpose: str, **payload) -> dict:
    return {
        "seq": seq,
        "kind": "model_call",
        "name": purpose,
        "payload": {"purpose": purpose, **payload},
    }


EVENTS = [
    {"seq": 0, "kind": "episode", "name": "episode", "payload": {}},
    model_call(
        5,
        "execute",
        response={
            "content": None,
            "tool_calls": [{"id": "c2", "name": "list_notes", "arguments": "{}"}],
        },
        usage={"prompt_tokens": 30, "completion_tokens": 4},
        model="gpt-x",
    ),
    model_call(1, "plan", response={"content": '{"steps": ["a"]}', "tool_calls": []}),
    model_call(
        3,
        "execute",
        response={
            "content": "thinking",
            "tool_calls": [{"id": "c1", "name": "add_note", "arguments": '{"text": "x"}'}],
        },
        usage={"prompt_tokens": 20, "completion_tokens": 3},
    ),
    {"seq": 4, "kind": "tool_call", "name": "add_note", "payload": {"arguments": {"text": "x"}}},
    model_call(7, "execute", error="HTTP 503 after 4 retries"),
]


def req(purpose: str = "execute") -> ModelRequest:
    return ModelRequest(messages=[], purpose=purpose)


async def test_outputs_are_served_per_purpose_in_recorded_order():
    model = ReplayModel.from_events(EVENTS)
    first = await model.complete(req())
    assert first.content == "thinking"
    assert [(c.id, c.name, c.arguments) for c in first.tool_calls] == [
        ("c1", "add_note", '{"text": "x"}')
    ]
    assert (first.usage.prompt_tokens, first.usage.completion_tokens) == (20, 3)
    plan = await model.complete(req("plan"))  # purposes are independent queues
    assert json.loads(plan.content)["steps"] == ["a"]
    second = await model.complete(req())
    assert second.tool_calls[0].name == "list_notes" and second.model == "gpt-x"


async def test_a_recorded_error_is_raised_at_its_turn_and_running_out_says_how_many():
    model = ReplayModel.from_events(EVENTS)
    await model.complete(req())
    await model.complete(req())
    with pytest.raises(ModelError, match="HTTP 503 after 4 retries"):
        await model.complete(req())
    with pytest.raises(ModelError, match="3 were recorded"):
        await model.complete(req())
    with pytest.raises(ModelError, match="'judge' responses: 0 were recorded"):
        await model.complete(req("judge"))


async def test_from_trace_reads_the_events_table_read_only(tmp_path):
    db = tmp_path / "traces.db"
    conn = sqlite3.connect(db)
    conn.executescript(SCHEMA_SQL)
    for e in EVENTS:
        conn.execute(
            "INSERT INTO events (episode_id, seq, kind, name, payload) VALUES (?, ?, ?, ?, ?)",
            ("ep1", e["seq"], e["kind"], e["name"], json.dumps(e["payload"])),
        )
    conn.execute(
        "INSERT INTO events (episode_id, seq, kind, name, payload) VALUES ('other', 0, 'model_call', 'execute', ?)",
        (json.dumps({"purpose": "execute", "response": {"content": "not mine"}}),),
    )
    conn.commit()
    conn.close()
    before = db.read_bytes()
    model = ReplayModel.from_trace(db, "ep1")
    assert model.describe()["recorded"] == {"execute": 3, "plan": 1}
    assert (await model.complete(req())).content == "thinking"
    assert db.read_bytes() == before
    with pytest.raises(ValueError, match="'nope' has no recorded model calls"):
        ReplayModel.from_trace(db, "nope")
    with pytest.raises(FileNotFoundError, match="no trace database"):
        ReplayModel.from_trace(tmp_path / "missing.db", "ep1")
    assert not (tmp_path / "missing.db").exists()
