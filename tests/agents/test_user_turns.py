"""Simulated users: multi-turn tasks whose agent talks to a scripted or model-played user."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from sandlot.agents.after.replay import replay_episode
from sandlot.agents.models.oracle import OracleModel
from sandlot.agents.models.scripted import ScriptedModel, call
from sandlot.agents.running.runner import run, run_episode
from sandlot.environments.loader import load_tasks
from sandlot.environments.tasks import Task
from sandlot.environments.trajectory import decide_outcome
from sandlot.environments.users import ScriptedUser
from sandlot.errors import UserError

ROOT = Path(__file__).resolve().parents[2]
MULTITURN = load_tasks(ROOT / "examples/tasks/store_multiturn")
LOCAL = {"sandbox": "local"}


def task(user: dict[str, Any], checklist: list[dict[str, Any]] | None = None, **extra: Any) -> Task:
    return Task.model_validate(
        {
            "id": "t-user",
            "environment": "store",
            "instruction": "Cancel my order, please.",
            "user": user,
            "checklist": checklist or [],
            **extra,
        }
    )


CANCEL = [{"id": "cancelled", "check": {"type": "state", "query": "SELECT status FROM orders WHERE id = 1001", "equals": "cancelled"}}]  # fmt: skip
CONFIRMED = {"id": "confirmed", "check": {"type": "asked", "contains": "confirm", "before": "cancel_order"}}  # fmt: skip


async def test_scripted_user_answers_in_order_and_ends_when_the_script_runs_out():
    t = task({"replies": ["It is order 1001.", "Yes, I confirm."]}, CANCEL)
    model = ScriptedModel(
        [
            "Which order is it?",
            "Do you confirm?",
            call("cancel_order", order_id=1001, reason="asked"),
            "It is cancelled.",
        ]
    )
    result = await run_episode(t, model=model, agent="single", env_options=LOCAL)
    turns = result.trajectory.user_turns
    assert [u.text for u in turns] == ["It is order 1001.", "Yes, I confirm.", ""]
    assert [u.prompt for u in turns][-1] == "It is cancelled."
    assert turns[-1].stop and result.trajectory.ended == "user_ended"
    assert result.outcome == "passed" and result.trajectory.answer == "It is cancelled."
    # the user's answers came back to the agent as user messages
    sent = model.requests[2].messages
    assert {"role": "user", "content": "Yes, I confirm."} in sent


async def test_hidden_facts_are_told_only_when_asked():
    spec = task({"hidden": {"order_id": "1001", "email": "a@b.c"}, "default": "Hm?"}).user
    assert spec is not None
    t = task(spec.model_dump())
    user = ScriptedUser()
    assert (await user.reply(t, [], "How can I help?")).text == "Hm?"
    assert (await user.reply(t, [], "What is your order id?")).text == "My order id is 1001."
    said = (await user.reply(t, [], "Your email and order ID, please")).text
    assert "a@b.c" in said and "1001" in said


async def test_rules_and_the_stop_phrase():
    t = task({"rules": [{"when": ["confirm"], "reply": "Yes. ###STOP###"}], "default": "?"})
    reply = await ScriptedUser().reply(t, [], "Please confirm the cancellation.")
    assert reply.stop and reply.text == "Yes. ###STOP###"
    assert not (await ScriptedUser().reply(t, [], "Hello")).stop


async def test_a_user_played_by_a_model_gets_the_goal_and_hidden_facts_and_stops_on_its_token():
    t = task({"goal": "Cancel order 1001.", "hidden": {"order_id": "1001"}, "llm": True}, CANCEL)
    agent = ScriptedModel(
        ["Which order?", call("cancel_order", order_id=1001, reason="asked"), "Done: cancelled."]
    )
    user_model = ScriptedModel(["Order 1001.", "Thanks! ###STOP###"], name="user-llm")
    result = await run_episode(
        t, model=agent, agent="single", env_options=LOCAL, user_model=user_model
    )
    assert result.trajectory.ended == "user_ended" and result.outcome == "passed"
    first = user_model.requests[0]
    assert first.purpose == "user"
    system = first.messages[0]["content"]
    assert "Cancel order 1001." in system and "1001" in system and "###STOP###" in system
    # the roles are the user's view: the agent's message is what the user model answers
    assert first.messages[-1] == {"role": "user", "content": "Which order?"}
    assert first.messages[1] == {"role": "assistant", "content": t.instruction}


async def test_a_user_played_by_a_model_needs_a_user_model():
    t = task({"goal": "Cancel.", "llm": True})
    with pytest.raises(UserError, match="--user-model"):
        await run([t], model="oracle", env_options=LOCAL)


async def test_max_user_turns_ends_the_episode_on_its_budget():
    t = task({"default": "Tell me more.", "max_user_turns": 2})
    model = ScriptedModel(["One?", "Two?", "Three?"])
    result = await run_episode(t, model=model, agent="single", env_options=LOCAL)
    assert len(result.trajectory.user_turns) == 2
    assert result.trajectory.ended == "budget" and result.outcome == "budget"
    assert "user-turn budget" in (result.trajectory.error or "")


def test_a_user_ending_the_conversation_is_an_end_by_itself():
    assert decide_outcome("user_ended", True) == "passed"
    assert decide_outcome("user_ended", False) == "failed"


async def test_plan_steps_end_with_step_done_and_other_replies_go_to_the_user():
    t = task({"rules": [{"when": "confirm", "reply": "Yes."}], "default": "Bye ###STOP###"}, CANCEL)
    model = ScriptedModel(
        [
            "Do you confirm?",
            call("cancel_order", order_id=1001, reason="asked"),
            "STEP DONE: cancelled",
            "It is cancelled.",
        ],
        plan=["Cancel the order after confirmation.", "Tell the user."],
    )
    result = await run_episode(t, model=model, env_options=LOCAL)
    assert [u.prompt for u in result.trajectory.user_turns] == [
        "Do you confirm?",
        "It is cancelled.",
    ]
    assert [u.step_index for u in result.trajectory.user_turns] == [0, 1]
    assert result.trajectory.ended == "user_ended"


async def test_the_asked_check_requires_the_question_before_the_change():
    t = task(
        {"rules": [{"when": "confirm", "reply": "Yes."}], "default": "Bye ###STOP###"}, [CONFIRMED]
    )
    rash = ScriptedModel(
        [call("cancel_order", order_id=1001, reason="x"), "Do you confirm?", "Done."]
    )
    result = await run_episode(t, model=rash, agent="single", env_options=LOCAL)
    assert result.outcome == "failed"
    careful = ScriptedModel(
        ["Do you confirm?", call("cancel_order", order_id=1001, reason="x"), "Done."]
    )
    result = await run_episode(t, model=careful, agent="single", env_options=LOCAL)
    assert result.outcome == "passed"


async def test_an_answer_check_with_scope_conversation_reads_what_the_user_was_told():
    says = [{"id": "says", "check": {"type": "answer", "scope": "conversation", "value": "1001"}}]
    t = task({"default": "Ok ###STOP###"}, says)
    told = await run_episode(
        t, model=ScriptedModel(["Order 1001 is on its way."]), agent="single", env_options=LOCAL
    )
    assert told.outcome == "passed"
    silent = await run_episode(
        t, model=ScriptedModel(["It is on its way."]), agent="single", env_options=LOCAL
    )
    assert silent.outcome == "failed"


@pytest.mark.parametrize("agent", ["plan-execute", "single"])
@pytest.mark.parametrize("t", MULTITURN, ids=[t.id for t in MULTITURN])
async def test_the_oracle_passes_every_shipped_multiturn_task_in_exactly_its_calls(t, agent):
    assert len(MULTITURN) >= 4 and t.user is not None
    result = await run_episode(t, model="oracle", agent=agent, env_options=LOCAL)
    assert result.success, [v.as_row() for v in result.verdicts]
    assert result.model_calls == OracleModel().model_calls_needed(t, agent)
    assert t.reference is not None
    asked = [u.prompt for u in result.trajectory.user_turns]
    assert asked == [a.text for a in t.reference.asks]


async def test_the_oracle_plays_a_model_user_from_the_hidden_facts():
    t = task(
        {"goal": "Cancel order 1001.", "hidden": {"order_id": "1001"}, "llm": True},
        [*CANCEL, CONFIRMED],
        reference={
            "asks": [{"text": "Which order id? Do you confirm?", "before": 0}],
            "calls": [{"tool": "cancel_order", "args": {"order_id": 1001, "reason": "x"}}],
            "answer": "Cancelled.",
        },
    )
    result = await run_episode(
        t, model="oracle", agent="single", env_options=LOCAL, user_model=OracleModel()
    )
    assert result.success
    assert result.trajectory.user_turns[0].text == "My order id is 1001."


def test_a_replay_feeds_the_recorded_user_turns_back(tmp_path: Path) -> None:
    t = task({"goal": "Cancel order 1001.", "hidden": {"order_id": "1001"}, "llm": True}, CANCEL)
    agent = ScriptedModel(
        ["Which order?", call("cancel_order", order_id=1001, reason="asked"), "Cancelled."]
    )
    user_model = ScriptedModel(["Order 1001.", "Thanks ###STOP###"])
    db = tmp_path / "t.db"
    first = asyncio.run(
        run([t], model=agent, db=db, agent="single", env_options=LOCAL, user_model=user_model)
    )
    episode = first.episodes[0]
    assert episode.outcome == "passed"
    report = asyncio.run(replay_episode(db, episode.episode_id))
    assert report.divergence is None
    assert report.replay.outcome == "passed"
    assert [u.text for u in report.replay.trajectory.user_turns] == [
        "Order 1001.",
        "Thanks ###STOP###",
    ]
    assert len(user_model.requests) == 2  # the replay asked no model


def test_the_viewer_conversation_shows_the_user_turns_once(tmp_path: Path) -> None:
    from sandlot.traces.viewer.api import ViewerAPI

    t = task({"replies": ["It is order 1001.", "Thanks ###STOP###"]})
    model = ScriptedModel(["Which order?", "Noted."])
    db = tmp_path / "t.db"
    done = asyncio.run(run([t], model=model, db=db, agent="single", env_options=LOCAL))
    api = ViewerAPI(db)
    try:
        page = api.conversation(done.episodes[0].episode_id)
    finally:
        api.close()
    assert page is not None
    users = [u for u in page["turns"] if u.get("source") == "simulated_user"]
    assert [(u["turn"], u["content"], u["stop"]) for u in users] == [
        (0, "It is order 1001.", False),
        (1, "Thanks ###STOP###", True),
    ]
    # the same text, sent on to the agent's next model call, is not shown a second time
    texts = [u.get("content") for u in page["turns"] if u["type"] == "user"]
    assert texts.count("It is order 1001.") == 1
