"""Measuring verdict agreement between the AgentDojo worlds and AgentDojo itself.

For every user task of a suite, :func:`variants` gives call lists: the gold one (the
task's ground truth and ``GROUND_TRUTH_OUTPUT``) and three deliberately wrong ones —
one call dropped, one argument changed, one extra (state-changing) call added — chosen
deterministically from a seed. :func:`agentdojo_verdict` runs a call list through
AgentDojo's own benchmark path (``TaskSuite.run_task_with_pipeline`` with a pipeline
that replays the calls through AgentDojo's ``ToolsExecutor``, then answers), so AgentDojo
loads the environment, runs the tools and checks utility itself; sandlot runs the same
list as an episode in its world and scores it with its checklist. The two verdicts are
compared by ``examples/agentdojo_agreement.py`` and the tests.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from sandlot.environments.tasks import ReferenceCall, ReferenceSolution, Task
from sandlot.environments.worlds.agentdojo.source import get_suite, task_environment

__all__ = [
    "EXTRA_CALLS",
    "VARIANTS",
    "Variant",
    "agentdojo_verdict",
    "change_argument",
    "variant_task",
    "variants",
]

VARIANTS: tuple[str, ...] = ("gold", "drop_call", "change_argument", "add_call")

# A state-changing call per suite, with arguments its tool accepts, for ``add_call``.
EXTRA_CALLS: dict[str, list[dict[str, Any]]] = {
    "banking": [
        {
            "tool": "send_money",
            "args": {
                "recipient": "US133000000121212121212",
                "amount": 10.0,
                "subject": "extra",
                "date": "2022-03-01",
            },
        },
        {"tool": "update_user_info", "args": {"city": "Springfield"}},
    ],
    "slack": [
        {"tool": "send_direct_message", "args": {"recipient": "Alice", "body": "extra"}},
        {"tool": "send_channel_message", "args": {"channel": "general", "body": "extra"}},
    ],
    "travel": [
        {
            "tool": "reserve_hotel",
            "args": {
                "hotel": "Le Marais Boutique",
                "start_day": "2024-06-01",
                "end_day": "2024-06-02",
            },
        },
        {
            "tool": "send_email",
            "args": {"recipients": ["someone@example.com"], "subject": "extra", "body": "extra"},
        },
    ],
    "workspace": [
        {
            "tool": "send_email",
            "args": {"recipients": ["someone@example.com"], "subject": "extra", "body": "extra"},
        },
        {"tool": "create_file", "args": {"filename": "extra.txt", "content": "extra"}},
    ],
}


@dataclass(frozen=True)
class Variant:
    """One call list for one user task: the calls, the final answer, what was changed."""

    suite: str
    user_task: str
    kind: str
    calls: list[dict[str, Any]]
    answer: str
    change: dict[str, Any] = field(default_factory=dict)


def change_argument(value: Any) -> Any:
    """A different value of the same JSON type (a string gets a suffix, a number grows by
    one, a flag flips, a list loses its last item or gains one, a null becomes a string)."""
    if isinstance(value, bool):
        return not value
    if isinstance(value, int | float):
        return value + 1
    if isinstance(value, str):
        return value + "-changed"
    if isinstance(value, list):
        return value[:-1] if value else ["changed"]
    if isinstance(value, dict):
        return {**value, "changed": True}
    return "changed"


def variants(suite: str, version: str, user_task: str, seed: int = 0) -> list[Variant]:
    """The gold call list of a user task and its three wrong variants (see the module
    docstring); the same ``seed`` gives the same lists."""
    task = get_suite(suite, version).user_tasks[user_task]
    gold = [
        {"tool": c.function, "args": copy.deepcopy(dict(c.args))}
        for c in task.ground_truth(task_environment(suite, version, user_task))
    ]
    answer = task.GROUND_TRUTH_OUTPUT
    rng = random.Random(f"{seed}:{suite}:{version}:{user_task}")
    out = [Variant(suite, user_task, "gold", gold, answer)]

    dropped = rng.randrange(len(gold))
    calls = [c for i, c in enumerate(gold) if i != dropped]
    out.append(Variant(suite, user_task, "drop_call", calls, answer, {"dropped": dropped}))

    with_args = [i for i, c in enumerate(gold) if c["args"]]
    calls = copy.deepcopy(gold)
    change: dict[str, Any] = {}
    if with_args:
        index = rng.choice(with_args)
        name = rng.choice(sorted(calls[index]["args"]))
        old = calls[index]["args"][name]
        calls[index]["args"][name] = change_argument(old)
        change = {"call": index, "argument": name, "from": old, "to": calls[index]["args"][name]}
    out.append(Variant(suite, user_task, "change_argument", calls, answer, change))

    extra = copy.deepcopy(rng.choice(EXTRA_CALLS[suite]))
    where = rng.randrange(len(gold) + 1)
    calls = [*gold[:where], extra, *gold[where:]]
    out.append(Variant(suite, user_task, "add_call", calls, answer, {"at": where, **extra}))
    return out


def variant_task(task: Task, variant: Variant) -> Task:
    """``task`` with the variant's calls and answer as its reference solution (what the
    ``oracle`` model plays); the checklist is the task's own."""
    reference = ReferenceSolution(
        calls=[ReferenceCall(tool=c["tool"], args=c["args"]) for c in variant.calls],
        answer=variant.answer,
    )
    limit = max(task.max_tool_calls, len(variant.calls) + 1)
    return task.model_copy(update={"reference": reference, "max_tool_calls": limit})


def _replay_pipeline(calls: Sequence[dict[str, Any]], answer: str) -> Any:
    from agentdojo.agent_pipeline.base_pipeline_element import BasePipelineElement
    from agentdojo.agent_pipeline.tool_execution import ToolsExecutor
    from agentdojo.functions_runtime import FunctionCall
    from agentdojo.types import ChatAssistantMessage, text_content_block_from_string

    class ReplayPipeline(BasePipelineElement):
        """An agent that makes the given calls, one per turn, then answers."""

        name = "sandlot-replay"

        def query(
            self,
            query: str,
            runtime: Any,
            env: Any = None,
            messages: Sequence[Any] = (),
            extra_args: dict[str, Any] | None = None,
        ) -> tuple[str, Any, Any, Sequence[Any], dict[str, Any]]:
            extra = dict(extra_args or {})
            history = list(messages)
            executor = ToolsExecutor()
            for i, call in enumerate(calls):
                made = FunctionCall(
                    function=call["tool"], args=copy.deepcopy(call["args"]), id=f"call_{i}"
                )
                history.append(
                    ChatAssistantMessage(
                        role="assistant",
                        content=[text_content_block_from_string("")],
                        tool_calls=[made],
                    )
                )
                query, runtime, env, done, extra = executor.query(
                    query, runtime, env, history, extra
                )
                history = list(done)
            history.append(
                ChatAssistantMessage(
                    role="assistant",
                    content=[text_content_block_from_string(answer)],
                    tool_calls=None,
                )
            )
            return query, runtime, env, history, extra

    return ReplayPipeline()


def agentdojo_verdict(variant: Variant, version: str) -> tuple[bool, str | None]:
    """AgentDojo's own utility verdict on the variant's calls and answer, from its
    benchmark path (no injection); with the error when AgentDojo's run or check raised
    (counted as a failure)."""
    suite = get_suite(variant.suite, version)
    task = suite.user_tasks[variant.user_task]
    pipeline = _replay_pipeline(variant.calls, variant.answer)
    try:
        utility, _ = suite.run_task_with_pipeline(
            pipeline, task, injection_task=None, injections={}
        )
    except Exception as exc:
        return False, f"{type(exc).__name__}: {exc}"
    return bool(utility), None
