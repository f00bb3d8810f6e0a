"""Where the AgentDojo worlds come from: the suites of the ``agentdojo`` package — their
environments (loaded from the package's YAML, with no prompt injection), tools and user
tasks — at one benchmark version.

``agentdojo`` is imported only when a suite is first asked for, so that sandlot imports
(and ``sandlot worlds list`` works) without it.
"""

from __future__ import annotations

import importlib.util
from functools import cache
from typing import TYPE_CHECKING, Any

from sandlot.errors import UserError

if TYPE_CHECKING:  # pragma: no cover
    from agentdojo.base_tasks import BaseUserTask
    from agentdojo.functions_runtime import TaskEnvironment
    from agentdojo.task_suite.task_suite import TaskSuite

__all__ = [
    "INSTALL",
    "SUITES",
    "VERSION",
    "VERSIONS",
    "default_environment",
    "get_suite",
    "require_agentdojo",
    "task_environment",
    "user_task",
]

INSTALL = "pip install 'sandlot[agentdojo]' (or `make agentdojo`)"
SUITES: tuple[str, ...] = ("banking", "slack", "travel", "workspace")
VERSION = "v1.2.2"  # AgentDojo's latest benchmark version in agentdojo 0.1.35
VERSIONS: tuple[str, ...] = ("v1", "v1.1", "v1.1.1", "v1.1.2", "v1.2", "v1.2.1", "v1.2.2")


def require_agentdojo() -> None:
    """Raises:
    UserError: the ``agentdojo`` package is not installed (the message says how)."""
    if importlib.util.find_spec("agentdojo") is None:
        raise UserError(f"the AgentDojo worlds need the agentdojo package: {INSTALL}")


def get_suite(suite: str, version: str = VERSION) -> TaskSuite[Any]:
    """AgentDojo's suite ``suite`` at benchmark ``version``.

    Raises:
        UserError: agentdojo is missing, or no such suite or version.
    """
    require_agentdojo()
    if suite not in SUITES:
        raise UserError(f"AgentDojo has no suite {suite!r}; the suites are {', '.join(SUITES)}")
    if version not in VERSIONS:
        raise UserError(
            f"AgentDojo has no benchmark version {version!r}; use one of {', '.join(VERSIONS)}"
        )
    from agentdojo.task_suite.load_suites import get_suite as load

    found: TaskSuite[Any] = load(version, suite)
    return found


def user_task(suite: str, version: str, task_id: str) -> BaseUserTask[Any]:
    """The user task ``task_id`` (``user_task_0``) of a suite at a version.

    Raises:
        UserError: no such suite, version or user task.
    """
    tasks = get_suite(suite, version).user_tasks
    if task_id not in tasks:
        raise UserError(
            f"AgentDojo's {suite} suite ({version}) has no {task_id!r}; it has user_task_0 "
            f"to user_task_{len(tasks) - 1}"
        )
    return tasks[task_id]


@cache
def _pristine(suite: str) -> TaskEnvironment:
    # The environment data and the tools are the same at every benchmark version.
    return get_suite(suite).load_and_inject_default_environment({})


def default_environment(suite: str) -> TaskEnvironment:
    """A fresh copy of the suite's environment with every injection vector at its
    default (no prompt injection), as AgentDojo's runs without injections load it."""
    return _pristine(suite).model_copy(deep=True)


def task_environment(suite: str, version: str, task_id: str) -> TaskEnvironment:
    """The environment a user task starts from: the default environment after the
    task's own ``init_environment``."""
    task = user_task(suite, version, task_id)
    started: TaskEnvironment = task.init_environment(default_environment(suite))
    return started
