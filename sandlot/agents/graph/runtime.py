"""The live objects one episode needs, handed to every graph node as LangGraph's
run-scoped context (never checkpointed, never changed by a node)."""

from __future__ import annotations

import asyncio
import json
import time
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from sandlot.agents.graph.ledger import BranchLedger
from sandlot.agents.models.base import Model, ModelError, ModelRequest, ModelResponse
from sandlot.environments.trajectory import ModelCallRecord, ToolCallRecord
from sandlot.tools.calls import ToolCall, clean_text
from sandlot.tools.end import ends_episode
from sandlot.tools.invoke import invoke_tool

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.agents.graph.demos import DemoSource
    from sandlot.environments.base import Environment
    from sandlot.environments.tasks import Task
    from sandlot.environments.users import UserPlayer
    from sandlot.retrieval import Retriever, RetrieverSpec
    from sandlot.tools.context import ToolContext
    from sandlot.tools.toolset import Toolset
    from sandlot.traces.recorder import EpisodeRecorder

__all__ = [
    "AgentConfig",
    "AgentKind",
    "EpisodeRuntime",
    "model_call_payload",
    "parse_submit",
    "tool_call_payload",
]

AgentKind = Literal["plan-execute", "single"]


@dataclass(frozen=True)
class AgentConfig:
    """How the agent runs. ``k`` is how many retrieved tools the executor is offered.

    The planner sees the whole catalog of a world with at most ``planner_catalog_limit``
    tools (0 or None: always the whole catalog); above it, the ``planner_shortlist``
    tools the retriever ranks first for the request.

    ``retriever`` selects how a step's tools are found: a name registered in
    ``sandlot.registry.RETRIEVERS`` (``bm25``, the default; ``embedding``; ``hybrid``),
    ``module:attribute``, a factory ``factory(toolset) -> Retriever`` or a ready
    retriever (see :mod:`sandlot.retrieval`).

    ``parallel_steps`` lets the planner mark which steps need which (``"after"``) and
    runs the steps whose needs are done side by side, each in its own branch
    (docs/fanout.md). Off by default: the steps run one after the other.

    ``max_episode_tokens`` and ``max_episode_cost`` (USD; counted only for a model with
    a price) bound what the agent's model calls of one episode may use: once reached,
    the episode ends with ``budget`` before its next model call. None: no bound.
    """

    agent: AgentKind = "plan-execute"
    k: int = 5
    max_model_calls: int = 40
    max_calls_per_step: int = 8
    max_replans: int = 2
    tool_timeout: float | None = 60.0
    model_timeout: float | None = None
    planner_catalog_limit: int | None = 30
    planner_shortlist: int = 15
    retriever: RetrieverSpec = "bm25"
    # past successful episodes shown to the executor (sandlot.agents.graph.demos)
    demos: DemoSource | None = None
    parallel_steps: bool = False
    max_episode_tokens: int | None = None
    max_episode_cost: float | None = None

    def __post_init__(self) -> None:
        if self.agent not in ("plan-execute", "single"):
            raise ValueError(f"unknown agent {self.agent!r}; use 'plan-execute' or 'single'")
        if self.max_episode_tokens is not None and self.max_episode_tokens < 1:
            raise ValueError(
                f"max_episode_tokens must be at least 1, got {self.max_episode_tokens}"
            )
        if self.max_episode_cost is not None and not self.max_episode_cost > 0:
            raise ValueError(f"max_episode_cost must be more than 0, got {self.max_episode_cost}")
        if self.k < 1:
            raise ValueError(f"k must be at least 1, got {self.k}")
        if self.planner_catalog_limit is not None and self.planner_catalog_limit < 0:
            raise ValueError(
                "planner_catalog_limit must be 0 or more (0: always the whole catalog), "
                f"got {self.planner_catalog_limit}"
            )
        if self.planner_shortlist < 1:
            raise ValueError(f"planner_shortlist must be at least 1, got {self.planner_shortlist}")
        if isinstance(self.retriever, str) and not self.retriever.strip():
            raise ValueError("retriever must name a retriever, e.g. 'bm25'")


@dataclass(frozen=True)
class EpisodeRuntime:
    """Everything live that the nodes use for one episode. Immutable: what the episode
    did lives in the graph state (its record), never here."""

    task: Task
    environment: Environment
    model: Model
    recorder: EpisodeRecorder
    config: AgentConfig
    ctx: ToolContext
    retriever: Retriever | None = None
    root: int | None = None  # seq of the episode's root span
    user: UserPlayer | None = None  # plays the task's simulated user, when it has one
    # the calls the parallel branches of a wave take (budgets held across branches)
    ledger: BranchLedger = field(default_factory=BranchLedger)

    @property
    def toolset(self) -> Toolset:
        return self.environment.toolset

    @property
    def single(self) -> bool:
        return self.config.agent == "single"

    @property
    def policy(self) -> str:
        """The world's policy with the task's addition: what the planner and executor send
        after their generic prompts (and the trace's root event records)."""
        return self.environment.system_prompt(self.task)

    def node(self, name: str, step: int | None) -> Any:
        """The span of one node run."""
        return self.recorder.span("node", name, {"step_index": step}, parent=self.root)

    def needed_tools(self, tool_log: list[ToolCallRecord]) -> list[str] | None:
        """What the next step needs, for recording retrieval hits: the first reference
        tool not yet called successfully ([] when every one has been; None without a
        reference).

        Computed from the reference and the calls made, never from the plan's wording:
        each successful call crosses off one not-yet-crossed reference call of the same
        tool, wherever it is in the reference, so a call made in a step that later failed
        (and was re-planned) counts once, and calls the reference does not make count
        for nothing.
        """
        ref = self.task.reference
        if ref is None:
            return None
        pending = [c.tool for c in ref.calls]
        for call in tool_log:
            if call.ok and not call.submit and call.name in pending:
                pending.remove(call.name)
        return pending[:1]

    async def call_model(
        self, request: ModelRequest, parent: int | None
    ) -> tuple[ModelResponse | None, ModelCallRecord]:
        """Call the model inside a model_call span; the response (None when the call
        failed) and the call's record (its ``error`` says why it failed)."""
        span = self.recorder.span(
            "model_call",
            request.purpose,
            {
                "purpose": request.purpose,
                "step_index": request.step_index,
                **self.recorder.message_refs(request.messages),
                "tools": [t["function"]["name"] for t in request.tools],
            },
            parent=parent,
        )
        record = ModelCallRecord(
            purpose=request.purpose, step_index=request.step_index, seq=span.seq
        )
        t0 = time.perf_counter()
        timeout = self.config.model_timeout
        try:
            if timeout is None:
                response = await self.model.complete(request)
            else:
                response = await asyncio.wait_for(self.model.complete(request), timeout)
            # whatever model made it: strings where the agent reads strings, sane counts
            try:
                response = response.checked()
            except ValueError as exc:
                raise ModelError(f"the model {self.model.name!r} sent {exc}") from exc
        except Exception as exc:  # a model failure ends the episode, recorded, never raised
            record.latency = time.perf_counter() - t0
            if isinstance(exc, TimeoutError) and timeout is not None:
                message = f"no answer within the model timeout of {timeout:g} s"
            else:
                kind = "" if isinstance(exc, ModelError) else f"{type(exc).__name__}: "
                message = f"{kind}{exc}"
            record.error = message
            span.end(**_model_result(record), traceback=traceback.format_exc(limit=8))
            return None, record
        record.latency = time.perf_counter() - t0
        record.content = response.content
        record.tool_calls = [
            {"id": c.id, "name": c.name, "arguments": c.arguments} for c in response.tool_calls
        ]
        record.prompt_tokens = response.usage.prompt_tokens
        record.completion_tokens = response.usage.completion_tokens
        record.cached_tokens = response.usage.cached_tokens
        record.model = response.model or self.model.name
        price = self.model.price_for(request)
        if price is not None:
            # a reply the response cache served was paid for when it was first made
            record.cost_usd = 0.0 if response.from_cache else price.cost(response.usage)
        if response.notes:  # what had to be cleaned to read the reply
            span.set(notes=response.notes)
        if response.from_cache:
            span.set(cache_hit=True)
        span.end(**_model_result(record))
        return response, record

    async def call_tool(
        self,
        call: ToolCall,
        step: int,
        parent: int | None,
        *,
        offered: bool = True,
        record: bool = True,
    ) -> ToolCallRecord:
        """Run one tool call and record it as a tool_call event (never raises). The
        record's ``ends_episode`` holds the tool's message when it ended the episode.

        ``record=False`` re-runs a call without a new event (restoring a world on resume).
        """
        seq = self.recorder.next_seq() if record else None
        ts = time.time()
        outcome = await invoke_tool(self.toolset, call, self.ctx, timeout=self.config.tool_timeout)
        made = ToolCallRecord(
            name=call.name,
            arguments=outcome.arguments,
            ok=outcome.ok,
            error_kind=outcome.error_kind,
            content=outcome.content,
            call_id=call.id,
            arguments_raw=call.arguments,
            step_index=step,
            offered=offered,
            duration=outcome.duration,
            seq=seq,
            ends_episode=ends_episode(outcome),
        )
        # asked after every call, recorded or not, so a world that tracks its writes
        # stays in step when a resume re-runs calls to restore it
        made.changed = self.environment.call_changes(made)
        if seq is None:
            return made
        payload = tool_call_payload(made)
        if "traceback" in outcome.extra:
            payload["traceback"] = outcome.extra["traceback"]
        self.recorder.emit(seq, parent, ts, "tool_call", call.name, payload, outcome.duration)
        return made

    def unavailable(self, calls: list[ToolCallRecord]) -> dict[str, str]:
        """The tools the world does not make available after ``calls``, with why."""
        return self.environment.unavailable_tools(calls)

    def record_refused(
        self, call: ToolCall, reason: str, step: int, parent: int | None, *, offered: bool
    ) -> ToolCallRecord:
        """Record a call to a tool that is not available now as a tool_call event; the
        tool does not run (nothing changes) and the model is told why."""
        made = ToolCallRecord(
            name=call.name,
            arguments=None,
            ok=False,
            error_kind="refused",
            content=f"Not run: {reason}",
            call_id=call.id,
            arguments_raw=call.arguments,
            step_index=step,
            offered=offered,
            refused=reason,
        )
        made.seq = self.recorder.event(
            "tool_call", call.name, tool_call_payload(made), parent=parent, duration=0.0
        )
        return made

    def record_submit(
        self, call: ToolCall, answer: str | None, error: str | None, step: int, parent: int | None
    ) -> ToolCallRecord:
        """Record a submit_answer call as a tool_call event (it runs no tool)."""
        made = ToolCallRecord(
            name=call.name,
            arguments={"answer": answer} if answer is not None else None,
            ok=error is None,
            error_kind=None if error is None else "invalid_arguments",
            content=error or "Answer submitted.",
            call_id=call.id,
            arguments_raw=call.arguments,
            step_index=step,
        )
        made.seq = self.recorder.event(
            "tool_call", call.name, tool_call_payload(made), parent=parent, duration=0.0
        )
        return made


def _model_result(call: ModelCallRecord) -> dict[str, Any]:
    """What a model_call event says of the call's result."""
    if call.error is not None:
        return {"error": call.error, "latency": call.latency}
    return {
        "response": {"content": call.content, "tool_calls": call.tool_calls},
        "usage": {
            "prompt_tokens": call.prompt_tokens,
            "completion_tokens": call.completion_tokens,
            **({"cached_tokens": call.cached_tokens} if call.cached_tokens else {}),
        },
        "latency": call.latency,
        "model": call.model,
        **({"cost_usd": call.cost_usd} if call.cost_usd is not None else {}),
    }


def model_call_payload(call: ModelCallRecord) -> dict[str, Any]:
    """A model call's trace payload without the messages sent (``trajectory_from_events``
    reads it back)."""
    return {"purpose": call.purpose, "step_index": call.step_index, **_model_result(call)}


def tool_call_payload(call: ToolCallRecord) -> dict[str, Any]:
    """A tool call's trace payload (``trajectory_from_events`` reads it back)."""
    return {
        "call_id": call.call_id,
        "arguments": call.arguments,
        "arguments_raw": call.arguments_raw,
        "ok": call.ok,
        "error_kind": call.error_kind,
        "content": call.content,
        "offered": call.offered,
        "step_index": call.step_index,
        **({"ends_episode": call.ends_episode} if call.ends_episode is not None else {}),
        **({"changed": call.changed} if call.changed else {}),
        **({"refused": call.refused} if call.refused is not None else {}),
    }


def parse_submit(arguments: str) -> tuple[str | None, str | None]:
    """The answer in a submit_answer call, or an error message for the model."""
    try:
        data = json.loads(arguments or "{}")
    except RecursionError:
        return None, 'submit_answer arguments are nested too deeply to read; send {"answer": "..."}'
    except json.JSONDecodeError as exc:
        return (
            None,
            f'submit_answer arguments are not valid JSON ({exc.msg}); send {{"answer": "..."}}',
        )
    if not isinstance(data, dict) or not isinstance(data.get("answer"), str):
        return None, 'submit_answer needs one string argument: {"answer": "..."}'
    return clean_text(data["answer"]), None
