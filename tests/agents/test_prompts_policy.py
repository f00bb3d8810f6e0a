"""A world brings its own policy: the generic prompts name no world, and the world's
policy with the task's addition reaches every system message the agent sends and the
episode's root event in the trace."""

from __future__ import annotations

import re

import pytest

from sandlot.agents.graph.prompts import (
    EXECUTOR_SYSTEM,
    PLANNER_SYSTEM,
    POLICY_HEADING,
    SINGLE_AGENT_SYSTEM,
    with_policy,
)
from sandlot.agents.models import ScriptedModel
from sandlot.agents.running.runner import run
from sandlot.environments.base import get_environment_class, make_environment
from sandlot.environments.tasks import Task
from sandlot.environments.worlds.store.policy import POLICY as STORE_POLICY
from sandlot.traces.store import TraceStore
from tests.agents.conftest import notes_task

GENERIC = {
    "planner": PLANNER_SYSTEM,
    "executor": EXECUTOR_SYSTEM,
    "single": SINGLE_AGENT_SYSTEM,
}
WORLDS = ["store", "workspace"]
# Words of the shipped worlds' rules that a generic prompt has no business saying.
WORLD_WORDS = [
    "store",
    "workspace",
    "order",
    "refund",
    "customer",
    "credit",
    "return",
    "ticket",
    "human",
    "shell",
    "sandbox",
    "python",
    "file",
]
ADDITION = "For this customer, always quote prices in euros."


def _store_task(**extra: object) -> Task:
    data: dict[str, object] = {
        "id": "store-prompt",
        "environment": "store",
        "instruction": "Hi! What can you help me with?",
        "checklist": [
            {"id": "no-tools", "check": {"type": "max_steps", "tool_calls": 0}},
        ],
    }
    data.update(extra)
    return Task.model_validate(data)


@pytest.mark.parametrize("prompt", list(GENERIC), ids=list(GENERIC))
def test_the_generic_prompts_name_no_world_and_none_of_its_rules(prompt):
    text = GENERIC[prompt].lower()
    said = [w for w in WORLD_WORDS if re.search(rf"\b{w}s?\b", text)]
    assert not said, f"the {prompt} prompt speaks of {said}"
    for world in WORLDS:
        policy = get_environment_class(world).policy
        assert policy.strip(), f"the {world} world has no policy"
        for line in filter(None, (ln.strip(" -") for ln in policy.splitlines())):
            assert line.lower() not in text, f"the {prompt} prompt holds {world}'s {line!r}"


def test_a_prompt_without_a_policy_is_sent_as_it_is_and_with_one_gets_it_after():
    assert with_policy(EXECUTOR_SYSTEM, "  \n") == EXECUTOR_SYSTEM
    sent = with_policy(EXECUTOR_SYSTEM, "Be kind.\n")
    assert sent == f"{EXECUTOR_SYSTEM}\n\n{POLICY_HEADING}\nBe kind."


def test_a_world_joins_its_policy_with_the_tasks_addition_in_that_order():
    env = make_environment("store")
    assert env.system_prompt(_store_task()) == STORE_POLICY.strip()
    joined = env.system_prompt(_store_task(policy_addition=f"  {ADDITION}\n"))
    assert joined == f"{STORE_POLICY.strip()}\n\n{ADDITION}"


@pytest.mark.parametrize("agent", ["plan-execute", "single"])
async def test_the_world_policy_and_the_task_addition_reach_every_system_message_and_the_trace(
    agent, tmp_path
):
    task = _store_task(policy_addition=ADDITION)
    model = ScriptedModel(["I can look up orders and products."], plan=["answer"])
    db = tmp_path / "t.db"
    result = await run([task], model=model, agent=agent, db=db)
    assert result.episodes[0].success, result.episodes[0].error

    policy = f"{STORE_POLICY.strip()}\n\n{ADDITION}"
    purposes = [r.purpose for r in model.requests]
    assert purposes == (["plan", "execute"] if agent == "plan-execute" else ["execute"])
    for request in model.requests:
        system = request.messages[0]
        assert system["role"] == "system"
        generic = PLANNER_SYSTEM if request.purpose == "plan" else None
        if request.purpose == "execute":
            generic = SINGLE_AGENT_SYSTEM if agent == "single" else EXECUTOR_SYSTEM
        assert system["content"] == with_policy(generic, policy)
        assert sum(m["role"] == "system" for m in request.messages) == 1

    with TraceStore(db) as store:
        episode_id = result.episodes[0].episode_id
        (root,) = store.events(episode_id, kinds=["episode"])
    assert root["payload"]["policy"] == policy


async def test_a_world_without_a_policy_gets_the_generic_prompts_alone(tmp_path):
    model = ScriptedModel(["There is 1 note."], plan=["answer"])
    db = tmp_path / "t.db"
    result = await run([notes_task(checklist=[])], model=model, db=db)
    systems = [r.messages[0]["content"] for r in model.requests]
    assert systems == [PLANNER_SYSTEM, EXECUTOR_SYSTEM]
    with TraceStore(db) as store:
        (root,) = store.events(result.episodes[0].episode_id, kinds=["episode"])
    assert root["payload"]["policy"] == ""
