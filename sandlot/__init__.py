"""sandlot: a sandbox for agentic tool use and planning.

The public API: tools (``tool``, ``Toolset``), worlds (``Environment``,
``make_environment``), tasks (``load_tasks``, ``Task``), models (``make_model``,
``ScriptedModel``, ``OracleModel``, ``OpenAIModel``), running (``run``, ``run_episode``),
traces (``TraceStore``) and what comes after a run (``resume_run``, ``replay_episode``,
``rescore``).
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover - the names, for type checkers
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

# name -> the module it comes from; imported on first use, so that `import sandlot`
# (and the command line's --help) does not load LangGraph, pydantic models and the rest
_LAZY = {
    "replay_episode": "sandlot.agents.after.replay",
    "rescore": "sandlot.agents.after.rescore",
    "resume_run": "sandlot.agents.after.resume",
    "AgentConfig": "sandlot.agents.graph.runtime",
    "Model": "sandlot.agents.models",
    "ModelError": "sandlot.agents.models",
    "ModelRequest": "sandlot.agents.models",
    "ModelResponse": "sandlot.agents.models",
    "NullModel": "sandlot.agents.models",
    "OracleModel": "sandlot.agents.models",
    "ReplayModel": "sandlot.agents.models",
    "ScriptedModel": "sandlot.agents.models",
    "make_model": "sandlot.agents.models",
    "EpisodeResult": "sandlot.agents.running.results",
    "RunResult": "sandlot.agents.running.results",
    "run": "sandlot.agents.running.runner",
    "run_episode": "sandlot.agents.running.runner",
    "Environment": "sandlot.environments.base",
    "make_environment": "sandlot.environments.base",
    "register_environment": "sandlot.environments.base",
    "ScoreReport": "sandlot.environments.checklist",
    "score_episode": "sandlot.environments.checklist",
    "TaskFileError": "sandlot.environments.loader",
    "load_tasks": "sandlot.environments.loader",
    "ExecResult": "sandlot.environments.sandbox.base",
    "Sandbox": "sandlot.environments.sandbox.base",
    "SandboxLimits": "sandlot.environments.sandbox.base",
    "Task": "sandlot.environments.tasks",
    "ModelCallRecord": "sandlot.environments.trajectory",
    "ToolCallRecord": "sandlot.environments.trajectory",
    "Trajectory": "sandlot.environments.trajectory",
    "decide_outcome": "sandlot.environments.trajectory",
    "Tool": "sandlot.tools",
    "ToolCall": "sandlot.tools",
    "ToolContext": "sandlot.tools",
    "ToolError": "sandlot.tools",
    "ToolOutcome": "sandlot.tools",
    "Toolset": "sandlot.tools",
    "invoke_tool": "sandlot.tools",
    "tool": "sandlot.tools",
    "TraceStore": "sandlot.traces.store",
    "OpenAIModel": "sandlot.agents.models.openai",
}

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
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # the next lookup is a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
