"""sandlot: a sandbox for agentic tool use and planning.

The public API: tools (``tool``, ``Toolset``), worlds (``Environment``,
``make_environment``), tasks (``load_tasks``, ``Task``), models (``make_model``,
``ScriptedModel``, ``OracleModel``, ``OpenAIModel``), running (``run``, ``run_episode``),
traces (``TraceStore``) and what comes after a run (``resume_run``, ``replay_episode``,
``rescore``).
"""

from typing import Any

from sandlot.agents.after.replay import replay_episode
from sandlot.agents.after.rescore import rescore
from sandlot.agents.after.resume import resume_run
from sandlot.agents.graph.runtime import AgentConfig
from sandlot.agents.models import (
    Model,
    ModelError,
    ModelRequest,
    ModelResponse,
    NullModel,
    OracleModel,
    ReplayModel,
    ScriptedModel,
    make_model,
)
from sandlot.agents.running.results import EpisodeResult, RunResult
from sandlot.agents.running.runner import run, run_episode
from sandlot.environments.base import Environment, make_environment, register_environment
from sandlot.environments.checklist import ScoreReport, score_episode
from sandlot.environments.loader import TaskFileError, load_tasks
from sandlot.environments.sandbox.base import ExecResult, Sandbox, SandboxLimits
from sandlot.environments.tasks import Task
from sandlot.environments.trajectory import (
    ModelCallRecord,
    ToolCallRecord,
    Trajectory,
    decide_outcome,
)
from sandlot.tools import (
    Tool,
    ToolCall,
    ToolContext,
    ToolError,
    ToolOutcome,
    Toolset,
    invoke_tool,
    tool,
)
from sandlot.traces.store import TraceStore

__version__ = "0.1.0"

__all__ = [
    "AgentConfig",
    "Environment",
    "EpisodeResult",
    "ExecResult",
    "Model",
    "ModelCallRecord",
    "ModelError",
    "ModelRequest",
    "ModelResponse",
    "NullModel",
    "OpenAIModel",
    "OracleModel",
    "ReplayModel",
    "RunResult",
    "Sandbox",
    "SandboxLimits",
    "ScoreReport",
    "ScriptedModel",
    "Task",
    "TaskFileError",
    "Tool",
    "ToolCall",
    "ToolCallRecord",
    "ToolContext",
    "ToolError",
    "ToolOutcome",
    "Toolset",
    "TraceStore",
    "Trajectory",
    "__version__",
    "decide_outcome",
    "invoke_tool",
    "load_tasks",
    "make_environment",
    "make_model",
    "register_environment",
    "replay_episode",
    "rescore",
    "resume_run",
    "run",
    "run_episode",
    "score_episode",
    "tool",
]


def __getattr__(name: str) -> Any:
    # The openai SDK is slow to import; load it only when asked for.
    if name == "OpenAIModel":
        from sandlot.agents.models.openai import OpenAIModel

        return OpenAIModel
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
