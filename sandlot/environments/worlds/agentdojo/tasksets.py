"""The ``agentdojo`` task set: AgentDojo's user tasks as sandlot tasks
(``sandlot run agentdojo:banking``; ``agentdojo:banking@v1.2`` for another benchmark
version).

Each user task is one task: its ``PROMPT`` is the instruction, the world is the suite's
(``agentdojo-banking``), the task's ground-truth calls and ``GROUND_TRUTH_OUTPUT`` are the
reference solution (the ``oracle`` model plays them), and the checklist is one
``agentdojo_utility`` item: the task's own utility check. Injection tasks are not tasks
here.
"""

from __future__ import annotations

import re
from typing import Any

from sandlot.environments.tasks import ChecklistItem, ReferenceCall, ReferenceSolution, Task
from sandlot.environments.worlds.agentdojo.source import (
    SUITES,
    VERSION,
    get_suite,
    task_environment,
)
from sandlot.errors import UserError

__all__ = ["agentdojo_task", "agentdojo_task_set", "parse_subset", "task_id"]

_SUBSET = re.compile(r"(?P<suite>[a-z]+)(?:@(?P<version>v[\d.]+))?")


def parse_subset(subset: str) -> tuple[str, str]:
    """``(suite, version)`` of ``banking`` or ``banking@v1.2``.

    Raises:
        UserError: not of that form, or no such suite or version.
    """
    found = _SUBSET.fullmatch(subset.strip())
    if found is None or found["suite"] not in SUITES:
        raise UserError(
            f"agentdojo has no subset {subset!r}; use a suite ({', '.join(SUITES)}), "
            f"optionally with a benchmark version: banking@{VERSION}"
        )
    version = found["version"] or VERSION
    get_suite(found["suite"], version)  # an unknown version is a UserError
    return found["suite"], version


def task_id(suite: str, user_task: str, version: str = VERSION) -> str:
    """The sandlot task id of a user task (``banking-user_task_0``; the version is added
    when it is not the latest)."""
    base = f"{suite}-{user_task}"
    return base if version == VERSION else f"{base}@{version}"


def _number(user_task: str) -> int:
    return int(user_task.rsplit("_", 1)[-1])


def agentdojo_task(suite: str, version: str, user_task: str) -> Task:
    """The sandlot task of one AgentDojo user task."""
    task = get_suite(suite, version).user_tasks[user_task]
    gold = task.ground_truth(task_environment(suite, version, user_task))
    calls = [ReferenceCall(tool=c.function, args=dict(c.args)) for c in gold]
    difficulty = getattr(getattr(task, "DIFFICULTY", None), "name", "").lower()
    meta: dict[str, Any] = {"suite": suite, "version": version, "user_task": user_task}
    return Task(
        id=task_id(suite, user_task, version),
        environment=f"agentdojo-{suite}",
        instruction=task.PROMPT,
        initial_state={"version": version, "user_task": user_task},
        reference=ReferenceSolution(calls=calls, answer=task.GROUND_TRUTH_OUTPUT),
        checklist=[
            ChecklistItem(
                id="utility",
                description=f"AgentDojo's utility check of {suite} {user_task} ({version})",
                check={"type": "agentdojo_utility", **meta},  # type: ignore[arg-type]
            )
        ],
        max_tool_calls=max(30, 2 * len(calls)),
        tags=["agentdojo", suite, *([difficulty] if difficulty else [])],
        metadata={"agentdojo": {**meta, "difficulty": difficulty}},
    )


def agentdojo_task_set(subset: str) -> list[Task]:
    """Every user task of an AgentDojo suite, in AgentDojo's order (user_task_0, 1, ...).

    Raises:
        UserError: an unknown subset, or agentdojo is not installed.
    """
    suite, version = parse_subset(subset)
    ids = sorted(get_suite(suite, version).user_tasks, key=_number)
    return [agentdojo_task(suite, version, user_task) for user_task in ids]
