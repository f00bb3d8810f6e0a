"""The ``agentdojo_utility`` check kind: the AgentDojo user task's own utility check on
the episode.

AgentDojo ships no checker apart from its tasks: a user task's ``utility(model_output,
pre_environment, post_environment)`` (or, where the task defines it,
``utility_from_traces(..., traces)``, which wins when it decides) is the verdict. This
kind calls it as AgentDojo's ``TaskSuite`` does after a run without injections, with:

* ``model_output``: the episode's answer ("" when it has none);
* ``pre_environment``: the environment as the episode found it;
* ``post_environment``: the episode's environment after its calls (live; when a stored
  episode is re-scored, rebuilt from its snapshot);
* ``traces``: every tool call the episode made, failed ones too (submit_answer is not
  one), with the arguments as the model sent them.
"""

from __future__ import annotations

import json
import traceback
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from sandlot.environments.check_kinds import CheckContext
from sandlot.environments.checklist_checks import CheckSkipped
from sandlot.environments.trajectory import ToolCallRecord, Trajectory
from sandlot.environments.worlds.agentdojo.environment import (
    WORLDS_BY_SUITE,
    AgentDojoEnvironment,
    SecretChanged,
)
from sandlot.environments.worlds.agentdojo.source import VERSION, task_environment, user_task
from sandlot.environments.worlds.agentdojo.tools import list_strings_read

__all__ = ["AGENTDOJO_UTILITY", "AgentDojoUtilityCheck", "trace_calls", "utility_verdict"]

_SHOW = 500


class AgentDojoUtilityCheck(BaseModel):
    """The utility check of AgentDojo's user task ``user_task`` of suite ``suite`` at
    benchmark ``version``."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["agentdojo_utility"] = "agentdojo_utility"
    suite: str
    user_task: str
    version: str = VERSION


def _sent(call: ToolCallRecord) -> dict[str, Any]:
    try:
        raw = json.loads(call.arguments_raw) if call.arguments_raw else None
    except (ValueError, RecursionError):
        raw = None
    if not isinstance(raw, dict):
        raw = call.arguments if isinstance(call.arguments, dict) else {}
    return list_strings_read(raw)


def trace_calls(trajectory: Trajectory) -> list[Any]:
    """The episode's tool calls as AgentDojo's ``FunctionCall`` traces."""
    from agentdojo.functions_runtime import FunctionCall

    return [
        FunctionCall(function=call.name, args=_sent(call), id=call.call_id or None)
        for call in trajectory.tools_used
    ]


def utility_verdict(
    task: Any, model_output: str, pre: Any, post: Any, traces: list[Any]
) -> tuple[bool, str]:
    """AgentDojo's verdict on a user task: ``utility_from_traces`` when it decides, else
    ``utility``; with which of the two decided."""
    decided = task.utility_from_traces(model_output, pre, post, traces)
    if decided is not None:
        return bool(decided), "utility_from_traces"
    return bool(task.utility(model_output, pre, post)), "utility"


class _AgentDojoUtility:
    model: ClassVar[type[BaseModel]] = AgentDojoUtilityCheck
    # AgentDojo's utility decides what an episode that did nothing earns (some tasks
    # pass when nothing is done): sandlot's no-credit rule does not overrule it.
    credits_idle: ClassVar[bool] = True

    def evaluate(self, check: AgentDojoUtilityCheck, context: CheckContext) -> tuple[bool, Any]:
        task = user_task(check.suite, check.version, check.user_task)
        world = context.environment
        if isinstance(world, AgentDojoEnvironment) and world.suite == check.suite:
            pre, post = world.pre_environment, world.state
        elif context.snapshot:
            cls = WORLDS_BY_SUITE[check.suite]
            pre = task_environment(check.suite, check.version, check.user_task)
            try:
                post = cls.environment_from_snapshot(context.snapshot, pre)
            except SecretChanged as exc:
                raise CheckSkipped(str(exc)) from exc
        else:
            raise CheckSkipped(f"no {check.suite} environment to check (neither live nor stored)")
        output = context.trajectory.answer or ""
        traces = trace_calls(context.trajectory)
        evidence: dict[str, Any] = {
            "suite": check.suite,
            "user_task": check.user_task,
            "version": check.version,
            "model_output": output[:_SHOW],
        }
        try:
            passed, by = utility_verdict(task, output, pre, post, traces)
        except Exception as exc:  # the task's check itself failed on this episode
            lines = traceback.format_exception_only(type(exc), exc)
            return False, {**evidence, "error": "".join(lines).strip()}
        return passed, {**evidence, "utility": passed, "by": by}


AGENTDOJO_UTILITY = _AgentDojoUtility()
