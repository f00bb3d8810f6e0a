"""The live objects one episode needs, handed to every graph node as LangGraph's
run-scoped context (never checkpointed)."""

from __future__ import annotations

import asyncio
import json
import time
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from sandlot.agents.models.base import Model, ModelError, ModelRequest, ModelResponse
from sandlot.tools.calls import ToolCall, ToolOutcome
from sandlot.tools.invoke import invoke_tool

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.agents.retriever import BM25ToolRetriever
    from sandlot.environments.base import Environment
    from sandlot.environments.tasks import Task
    from sandlot.tools.context import ToolContext
    from sandlot.tools.toolset import Toolset
    from sandlot.traces.recorder import EpisodeRecorder

__all__ = ["AgentConfig", "AgentKind", "EpisodeRuntime", "parse_submit"]

AgentKind = Literal["plan-execute", "single"]


@dataclass
class AgentConfig:
    """How the agent runs. ``k`` is how many retrieved tools the executor is offered."""

    agent: AgentKind = "plan-execute"
    k: int = 5
    max_model_calls: int = 40
    max_calls_per_step: int = 8
    max_replans: int = 2
    tool_timeout: float | None = 60.0
    model_timeout: float | None = None

    def __post_init__(self) -> None:
        if self.agent not in ("plan-execute", "single"):
            raise ValueError(f"unknown agent {self.agent!r}; use 'plan-execute' or 'single'")
        if self.k < 1:
            raise ValueError(f"k must be at least 1, got {self.k}")


@dataclass
class EpisodeRuntime:
    """Everything live that the nodes use for one episode."""

    task: Task
    environment: Environment
    model: Model
    recorder: EpisodeRecorder
    config: AgentConfig
    ctx: ToolContext
    retriever: BM25ToolRetriever | None = None
    root: int | None = None  # seq of the episode's root span
    called_ok: list[str] = field(default_factory=list)  # tools called successfully, in order
    offered_now: frozenset[str] = frozenset()  # tools offered for the current step
    calls: list[ToolOutcome] = field(default_factory=list)  # every tool outcome, in order
    node_runs: int = 0  # graph node executions (LangGraph steps)
    model_time: float = 0.0  # seconds spent inside the model
    # what this process spent, kept apart from the state so an episode that raises
    # mid-graph still reports it
    model_calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    tool_time: float = 0.0  # seconds spent inside tools

    @property
    def toolset(self) -> Toolset:
        return self.environment.toolset

    @property
    def single(self) -> bool:
        return self.config.agent == "single"

    def node(self, name: str, step: int | None) -> Any:
        """The span of one node run (and count it)."""
        self.node_runs += 1
        return self.recorder.span("node", name, {"step_index": step}, parent=self.root)

    def expected_tools(self) -> list[str] | None:
        """The next reference tool not yet called (for recording retrieval hits)."""
        ref = self.task.reference
        if ref is None:
            return None
        made = len(self.called_ok)
        return [ref.calls[made].tool] if made < len(ref.calls) else []

    async def call_model(
        self, request: ModelRequest, parent: int | None
    ) -> tuple[ModelResponse | None, str | None]:
        """Call the model inside a model_call span; (response, None) or (None, error)."""
        span = self.recorder.span(
            "model_call",
            request.purpose,
            {
                "purpose": request.purpose,
                "step_index": request.step_index,
                "messages": request.messages,
                "tools": [t["function"]["name"] for t in request.tools],
            },
            parent=parent,
        )
        t0 = time.perf_counter()
        timeout = self.config.model_timeout
        self.model_calls += 1
        try:
            if timeout is None:
                response = await self.model.complete(request)
            else:
                response = await asyncio.wait_for(self.model.complete(request), timeout)
        except Exception as exc:  # a model failure ends the episode, recorded, never raised
            latency = time.perf_counter() - t0
            self.model_time += latency
            if isinstance(exc, TimeoutError) and timeout is not None:
                message = f"no answer within the model timeout of {timeout:g} s"
            else:
                kind = "" if isinstance(exc, ModelError) else f"{type(exc).__name__}: "
                message = f"{kind}{exc}"
            span.end(error=message, latency=latency, traceback=traceback.format_exc(limit=8))
            return None, message
        latency = time.perf_counter() - t0
        self.model_time += latency
        self.prompt_tokens += response.usage.prompt_tokens
        self.completion_tokens += response.usage.completion_tokens
        span.end(
            response={
                "content": response.content,
                "tool_calls": [
                    {"id": c.id, "name": c.name, "arguments": c.arguments}
                    for c in response.tool_calls
                ],
            },
            usage={
                "prompt_tokens": response.usage.prompt_tokens,
                "completion_tokens": response.usage.completion_tokens,
            },
            latency=latency,
            model=response.model or self.model.name,
        )
        return response, None

    async def call_tool(
        self, call: ToolCall, step: int, parent: int | None, *, record: bool = True
    ) -> ToolOutcome:
        """Run one tool call and record it as a tool_call event (never raises).

        ``record=False`` re-runs a call without a new event (restoring a world on resume).
        """
        seq = self.recorder.next_seq() if record else -1
        ts = time.time()
        outcome = await invoke_tool(self.toolset, call, self.ctx, timeout=self.config.tool_timeout)
        self.tool_time += outcome.duration
        self.calls.append(outcome)
        if outcome.ok:
            self.called_ok.append(call.name)
        if not record:
            return outcome
        payload: dict[str, Any] = {
            "call_id": call.id,
            "arguments": outcome.arguments,
            "arguments_raw": call.arguments,
            "ok": outcome.ok,
            "error_kind": outcome.error_kind,
            "content": outcome.content,
            "offered": call.name in self.offered_now,
            "step_index": step,
        }
        if "traceback" in outcome.extra:
            payload["traceback"] = outcome.extra["traceback"]
        self.recorder.emit(seq, parent, ts, "tool_call", call.name, payload, outcome.duration)
        return outcome

    def record_submit(
        self, call: ToolCall, answer: str | None, error: str | None, step: int, parent: int | None
    ) -> None:
        """Record a submit_answer call as a tool_call event (it runs no tool)."""
        self.recorder.event(
            "tool_call",
            call.name,
            {
                "call_id": call.id,
                "arguments": {"answer": answer} if answer is not None else None,
                "arguments_raw": call.arguments,
                "ok": error is None,
                "error_kind": None if error is None else "invalid_arguments",
                "content": error or "Answer submitted.",
                "offered": True,
                "step_index": step,
            },
            parent=parent,
            duration=0.0,
        )


def parse_submit(arguments: str) -> tuple[str | None, str | None]:
    """The answer in a submit_answer call, or an error message for the model."""
    try:
        data = json.loads(arguments or "{}")
    except json.JSONDecodeError as exc:
        return (
            None,
            f'submit_answer arguments are not valid JSON ({exc.msg}); send {{"answer": "..."}}',
        )
    if not isinstance(data, dict) or not isinstance(data.get("answer"), str):
        return None, 'submit_answer needs one string argument: {"answer": "..."}'
    return data["answer"], None
