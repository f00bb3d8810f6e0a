"""A multi-turn task: the agent must ask the simulated user for what the request leaves
out, and for confirmation before it changes anything.

Runs the shipped multi-turn store tasks with the oracle (it asks the reference's
questions; the scripted users answer), then one task whose user is played by a model
(here the oracle, playing the user from the task's hidden facts), and prints each
conversation.

    python examples/simulated_user.py
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from sandlot.agents.models.oracle import OracleModel
from sandlot.agents.running.results import RunResult
from sandlot.agents.running.runner import run
from sandlot.environments.loader import load_tasks
from sandlot.environments.tasks import Task

HERE = Path(__file__).parent

MODEL_USER = Task.model_validate(
    {
        "id": "cancel-with-a-model-user",
        "environment": "store",
        "instruction": "Please cancel my order.",
        "user": {
            "goal": "Cancel order 1001.",
            "hidden": {"order_id": "1001"},
            "llm": True,
        },
        "reference": {
            "asks": [{"text": "Which order id is it? Do you confirm the cancellation?"}],
            "calls": [{"tool": "cancel_order", "args": {"order_id": 1001, "reason": "asked"}}],
            "answer": "Order 1001 is cancelled.",
        },
        "checklist": [
            {
                "id": "confirmed",
                "check": {"type": "asked", "contains": "confirm", "before": "cancel_order"},
            }
        ],
    }
)


def show(result: RunResult) -> None:
    for episode in result.episodes:
        print(f"{episode.task_id}: {episode.outcome} ({episode.trajectory.ended})")
        for turn in episode.trajectory.user_turns:
            print(f"  agent: {turn.prompt}")
            print(f"  user:  {turn.text or '(ends the conversation)'}")


async def main() -> None:
    tasks = load_tasks(HERE / "tasks" / "store_multiturn")
    show(await run(tasks, model="oracle", env_options={"sandbox": "local"}))
    show(
        await run(
            [MODEL_USER],
            model="oracle",
            user_model=OracleModel(),
            env_options={"sandbox": "local"},
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
