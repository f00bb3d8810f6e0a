"""State-constrained tools: the executor is offered only the tools available now (the
offer shrinks and grows with the episode's state), a call to an unavailable tool is
refused without running and recorded with the reason, the oracle passes the tasks that
constrain, and replay and resume refuse again rather than run what was refused."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

from sandlot.agents.after.replay import replay_episode
from sandlot.agents.graph.runtime import AgentConfig, EpisodeRuntime
from sandlot.agents.models import ScriptedModel
from sandlot.agents.running.restore import restore_world
from sandlot.agents.running.runner import run, run_episode
from sandlot.environments.base import make_environment
from sandlot.environments.loader import load_tasks
from sandlot.environments.trajectory import ToolCallRecord, trajectory_from_events
from sandlot.traces.store import TraceStore
from sandlot.traces.viewer.summaries import summarize

ROOT = Path(__file__).resolve().parents[2]
TASKS = {t.id: t for t in load_tasks([ROOT / "examples/tasks/store/constrained.yaml"])}
CANCEL = TASKS["store-constrained-001"]  # the store's own graph: cancel_order_item after get_order
REFUND = TASKS["store-constrained-002"]  # the task's graph: refund_order after get_order
ITEM = {"order_id": 1011, "product_id": 111}
LOOKUP = {"tool": "get_order", "args": {"order_id": 1011}}


def _tools(request: Any) -> list[str]:
    return [t["function"]["name"] for t in request.tools]


async def _run(tmp_path: Path, task: Any, model: Any, agent: str = "single") -> Any:
    with TraceStore(tmp_path / "t.db") as store:
        run_id = store.start_run(model=model.name, agent=agent, config={})
        store.save_tasks(run_id, [task])
        result = await run_episode(
            task, model=model, store=store, run_id=run_id, agent=AgentConfig(agent=agent)
        )  # type: ignore[arg-type]
        events = store.events(result.episode_id)
    return result, events


def _tool_events(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [e for e in events if e["kind"] == "tool_call"]


async def test_a_call_too_early_is_refused_then_succeeds_after_the_lookup(tmp_path):
    model = ScriptedModel(
        [
            {"tool": "cancel_order_item", "args": ITEM},
            LOOKUP,
            {"tool": "cancel_order_item", "args": ITEM},
            {"tool": "submit_answer", "args": {"answer": "New total $449.10."}},
        ]
    )
    result, events = await _run(tmp_path, CANCEL, model)
    # the offer shrinks, then grows once the order has been looked up
    offers = [_tools(r) for r in model.requests]
    assert "cancel_order_item" not in offers[0]
    assert "cancel_order_item" not in offers[1]
    assert "cancel_order_item" in offers[2]
    assert "get_order" in offers[0]
    # the refusal: recorded with its reason, ok=False, not run, and told to the model
    refused, lookup, cancelled = _tool_events(events)[:3]
    assert refused["payload"]["ok"] is False
    assert refused["payload"]["error_kind"] == "refused"
    assert "only after get_order" in refused["payload"]["refused"]
    assert "changed" not in refused["payload"]
    told = [m for m in model.requests[1].messages if m["role"] == "tool"]
    assert told[-1]["content"].startswith("Not run: cancel_order_item is not available yet")
    assert cancelled["payload"]["ok"] is True and "refused" not in cancelled["payload"]
    # a refused call is a tool error; the episode still passes once the change is made
    assert result.trajectory.tool_errors == 1
    assert result.outcome == "passed", result


async def test_a_refused_call_changes_nothing(tmp_path):
    model = ScriptedModel(
        [
            {"tool": "cancel_order_item", "args": ITEM},
            {"tool": "submit_answer", "args": {"answer": "Done."}},
        ]
    )
    result, _ = await _run(tmp_path, CANCEL, model)
    assert result.outcome == "failed"
    passed = {v.item_id: v.passed for v in result.verdicts}
    assert passed["item-cancelled"] is False  # the line is still active
    assert passed["cancelled-ok"] is False


async def test_the_lookup_and_the_change_in_one_reply_both_run(tmp_path):
    model = ScriptedModel(
        [
            [LOOKUP, {"tool": "cancel_order_item", "args": ITEM}],
            {"tool": "submit_answer", "args": {"answer": "New total $449.10."}},
        ]
    )
    result, events = await _run(tmp_path, CANCEL, model)
    assert [e["payload"]["ok"] for e in _tool_events(events)[:2]] == [True, True]
    assert result.outcome == "passed"


async def test_a_tasks_own_graph_refuses_and_the_retrievers_offer_is_narrowed(tmp_path):
    script = [
        {"tool": "refund_order", "args": {"order_id": 1009, "amount": 15, "reason": "x"}},
        {"tool": "get_order", "args": {"order_id": 1009}},
        {"tool": "refund_order", "args": {"order_id": 1009, "amount": 15, "reason": "x"}},
        "Refunded $15.",
    ]
    model = ScriptedModel(script, plan=["Refund 15 dollars on order 1009 to the card"])
    result, events = await _run(tmp_path, REFUND, model, agent="plan-execute")
    (retrieval,) = [e for e in events if e["kind"] == "retrieval"]
    assert "refund_order" in retrieval["payload"]["offered"]
    execute = [r for r in model.requests if r.purpose == "execute"]
    assert "refund_order" not in _tools(execute[0])
    assert "refund_order" in _tools(execute[2])
    withheld = [e["payload"].get("withheld") for e in events if e["name"] == "executor"]
    assert "refund_order" in (withheld[0] or {})
    refused = _tool_events(events)[0]
    assert refused["payload"]["refused"].startswith("refund_order is not available yet")
    assert result.outcome == "passed", result


async def test_the_oracle_passes_the_constrained_tasks_with_either_agent(tmp_path):
    for agent in ("plan-execute", "single"):
        result = await run(list(TASKS.values()), model="oracle", agent=agent)
        assert [e.outcome for e in result.episodes] == ["passed", "passed"], agent
        assert all(e.trajectory.tool_errors == 0 for e in result.episodes)


async def test_a_replayed_refused_call_is_refused_again(tmp_path):
    model = ScriptedModel(
        [
            {"tool": "cancel_order_item", "args": ITEM},
            LOOKUP,
            {"tool": "cancel_order_item", "args": ITEM},
            {"tool": "submit_answer", "args": {"answer": "New total $449.10."}},
        ]
    )
    result, _ = await _run(tmp_path, CANCEL, model)
    report = await replay_episode(tmp_path / "t.db", result.episode_id)
    assert report.matched, report.divergence
    with TraceStore(tmp_path / "t.db") as store:
        again = _tool_events(store.events(report.replay.episode_id))
    assert again[0]["payload"]["error_kind"] == "refused"
    assert again[0]["payload"]["refused"] == _tool_events(_)[0]["payload"]["refused"]


class _Recorder:
    """What restore_world asks of a recorder, keeping the events it is given."""

    def __init__(self) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []

    def supersede(self, seq: int) -> None:
        pass

    def stored_seqs(self) -> None:
        return None

    def event(self, kind: str, name: str, payload: dict[str, Any], **_: Any) -> int:
        self.events.append((kind, payload))
        return len(self.events)


async def test_a_resume_does_not_run_a_refused_call_to_rebuild_the_world():
    env = make_environment("store")
    await env.reset(CANCEL)
    recorder = _Recorder()
    rt = EpisodeRuntime(CANCEL, env, None, recorder, AgentConfig(), env.context())  # type: ignore[arg-type]
    refused = ToolCallRecord(
        name="cancel_order_item",
        arguments=None,
        ok=False,
        error_kind="refused",
        content="Not run: ...",
        call_id="c1",
        arguments_raw='{"order_id": 1011, "product_id": 111}',
        refused="cancel_order_item is not available yet",
    )
    saved = SimpleNamespace(values={"tool_log": [refused], "trace_seq": 5}, next=("executor",))
    await restore_world(saved, rt)
    row = env.state.conn.execute(
        "SELECT status FROM order_items WHERE order_id = 1011 AND product_id = 111"
    ).fetchone()
    assert row[0] == "active"
    assert recorder.events[0][1]["restored"] == 0
    await env.close()


def test_a_refused_call_reads_back_from_its_event_and_shows_as_an_error():
    payload = {
        "ok": False,
        "error_kind": "refused",
        "content": "Not run: refund_order is not available yet",
        "arguments_raw": '{"order_id": 1}',
        "refused": "refund_order is not available yet",
    }
    event = {"seq": 3, "kind": "tool_call", "name": "refund_order", "payload": payload}
    (call,) = trajectory_from_events([event]).tool_calls
    assert call.refused == "refund_order is not available yet" and not call.ok
    text, status = summarize("tool_call", "refund_order", payload)
    assert status == "error"
    assert "refused: Not run: refund_order is not available yet" in text
