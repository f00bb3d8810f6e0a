"""The executor node: one model call for the current step, then the tool calls it asked
for. The conditional edge after it loops (same step), moves on, re-plans or finishes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from langgraph.runtime import Runtime

from sandlot.agents.graph.prompts import EXECUTOR_SYSTEM, SINGLE_AGENT_SYSTEM, with_policy
from sandlot.agents.graph.runtime import EpisodeRuntime, parse_submit
from sandlot.agents.graph.state import EpisodeState
from sandlot.agents.graph.user_turns import for_the_user, talk_to_user, user_prompt
from sandlot.agents.models.base import ModelRequest
from sandlot.environments.trajectory import (
    STEP_FAILED,
    SUBMIT_TOOL,
    ModelCallRecord,
    ToolCallRecord,
)

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.tools.calls import ToolCall
    from sandlot.traces.recorder import Span

__all__ = [
    "SUBMIT_SCHEMA",
    "SUBMIT_TOOL",
    "budget_spent",
    "executor",
    "model_calls_made",
    "step_calls_offered",
    "tool_calls_made",
    "usage_spent",
]

SUBMIT_SCHEMA: dict[str, Any] = {
    "type": "function",
    "function": {
        "name": SUBMIT_TOOL,
        "description": "Give the final answer to the user and end the task.",
        "parameters": {
            "type": "object",
            "properties": {
                "answer": {"type": "string", "description": "The final answer for the user."}
            },
            "required": ["answer"],
            "additionalProperties": False,
        },
        "strict": True,
    },
}


_EMPTY_REPLY = (
    "Your reply was empty. Call a tool, reply with the result of the current step, or "
    f"reply '{STEP_FAILED}:' and the reason."
)
_SINGLE_EMPTY_REPLY = "Your reply was empty. Call a tool, or call submit_answer with the answer."
_NOT_RUN_ENDED = "Not run: a tool call before this one ended the episode."


def model_calls_made(state: EpisodeState) -> int:
    return len(state.get("model_log") or ())


def tool_calls_made(state: EpisodeState) -> int:
    """Tool calls run so far (submit_answer is the answer, not a tool call)."""
    return sum(1 for c in state.get("tool_log") or () if not c.submit)


def budget_spent(state: EpisodeState, rt: EpisodeRuntime) -> dict[str, Any] | None:
    """The update that ends the episode when the model-call, token or cost budget is
    spent, else None. Checked before every model call, by the planner and the executor
    alike."""
    limit = rt.config.max_model_calls
    made = model_calls_made(state)
    error = (
        f"model-call budget spent: {made} of {limit}"
        if made >= limit
        else usage_spent(state.get("model_log") or (), rt)
    )
    if error is None:
        return None
    return {"ended": "budget", "error": error, "route": "finish"}


def usage_spent(calls: Iterable[ModelCallRecord], rt: EpisodeRuntime) -> str | None:
    """Why the episode's token or cost budget is spent by ``calls``, or None."""
    calls = list(calls)
    tokens_limit, cost_limit = rt.config.max_episode_tokens, rt.config.max_episode_cost
    if tokens_limit is not None:
        tokens = sum(m.prompt_tokens + m.completion_tokens for m in calls)
        if tokens >= tokens_limit:
            return f"token budget spent: {tokens} of {tokens_limit} tokens"
    if cost_limit is not None:
        cost = sum(m.cost_usd or 0.0 for m in calls)
        if cost >= cost_limit:
            return f"cost budget spent: ${cost:.6f} of ${cost_limit:g}"
    return None


def step_calls_offered(
    state: EpisodeState, new_calls: list[ToolCallRecord]
) -> tuple[bool | None, list[str]]:
    """Whether the tools the current step called successfully had all been offered to it
    (None: it called none), and those that had not.

    The step's calls are those made for its index since the last plan: a step that
    failed and was re-planned had its own offer, and its calls are not counted again.
    """
    step = state["step"]
    plans = [m.seq for m in state.get("model_log") or () if m.purpose == "plan"]
    since = max((s for s in plans if s is not None), default=-1)
    made = [
        c
        for c in [*(state.get("tool_log") or ()), *new_calls]
        if c.step_index == step and c.ok and not c.submit and (c.seq is None or c.seq > since)
    ]
    if not made:
        return None, []
    missed = list(dict.fromkeys(c.name for c in made if not c.offered))
    return not missed, missed


async def executor(state: EpisodeState, runtime: Runtime[EpisodeRuntime]) -> dict[str, Any]:
    rt = runtime.context
    with rt.node("executor", state["step"]) as node:
        update = await _execute(state, rt, node)
        if update.get("route") != "executor":
            # the step ends here: did it call only tools it was offered?
            hit, missed = step_calls_offered(state, update.get("tool_log") or [])
            node.set(step_hit=hit, **({"not_offered": missed} if missed else {}))
        return update


def _run_together(rt: EpisodeRuntime, calls: list[ToolCall]) -> bool:
    """Whether a reply's tool calls run at the same time: two or more, every one to a
    tool that declares it may (``@tool(concurrent=True)``)."""
    if len(calls) < 2:
        return False
    tools = [rt.toolset.get(c.name) for c in calls]
    return all(t is not None and t.concurrent for t in tools)


async def _execute(
    state: EpisodeState,
    rt: EpisodeRuntime,
    node: Span,
    take_tool: Callable[[], bool] | None = None,
) -> dict[str, Any]:
    """One executor model call and the tool calls it asks for. ``take_tool`` (a parallel
    branch's) takes one call of the tool budget the branches share, False when it is
    spent; without it the budget is counted from ``state``."""
    step = state["step"]
    spent = budget_spent(state, rt)
    if spent is not None:
        return spent
    system = with_policy(SINGLE_AGENT_SYSTEM if rt.single else EXECUTOR_SYSTEM, rt.policy)
    if rt.user is not None:
        system = f"{system}\n\n{user_prompt(rt.single)}"
    # Only the tools the world makes available now are offered (the rest are withheld).
    unavailable = rt.unavailable(state.get("tool_log") or [])
    withheld = {t: unavailable[t] for t in state["offered"] if t in unavailable}
    if withheld:
        node.set(withheld=withheld)
    request = ModelRequest(
        messages=[{"role": "system", "content": system}, *state["messages"]],
        tools=[
            *rt.toolset.schemas([t for t in state["offered"] if t not in withheld]),
            SUBMIT_SCHEMA,
        ],
        purpose="execute",
        task=rt.task,
        step_index=step,
        episode_id=rt.recorder.episode_id,
        metadata={
            "plan": [s["text"] for s in state["plan"]],
            "step_calls": state["step_calls"],
            "single_agent": rt.single,
        },
    )
    response, made = await rt.call_model(request, parent=node.seq)
    update: dict[str, Any] = {"model_log": [made]}
    if response is None:
        update.update(ended="model_error", error=f"model call failed: {made.error}")
        return {**update, "route": "finish"}
    messages: list[dict[str, Any]] = [response.to_message()]
    update["messages"] = messages

    if not response.tool_calls:
        if not (response.content or "").strip():
            # Nothing said, nothing called: ask again (the budget bounds the asking).
            nudge = _SINGLE_EMPTY_REPLY if rt.single else _EMPTY_REPLY
            messages.append({"role": "user", "content": nudge})
            return {**update, "route": "executor"}
        if for_the_user(rt, response.content or ""):
            # A task with a simulated user: the reply is a message to the user.
            talked = await talk_to_user(state, rt, response.content or "", messages, node.seq)
            return {**update, **talked}
        return {**update, **_step_ended(state, rt, response.content or "")}

    answer: str | None = None
    calls: list[ToolCallRecord] = []
    ordered: list[ToolCallRecord | None] = []  # in the reply's order; None: still to run
    together = _run_together(rt, response.tool_calls)
    later: list[tuple[int, int, ToolCall]] = []  # run together: (message, record, call)
    ran = tool_calls_made(state)
    tool_limit = rt.task.max_tool_calls
    offered = set(state["offered"])
    refused = False  # a call asked for past the tool budget
    stopped: str | None = None  # what a tool that ended the episode said
    for call in response.tool_calls:
        if stopped is not None:
            # A tool ended the episode: nothing after it in the reply runs.
            messages.append({"role": "tool", "tool_call_id": call.id, "content": _NOT_RUN_ENDED})
            continue
        if call.name != SUBMIT_TOOL and (
            ran >= tool_limit if take_tool is None else not take_tool()
        ):
            # The budget is spent: the call is answered, not run, and the episode ends.
            refused = True
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": call.id,
                    "content": f"Not run: the budget of {tool_limit} tool calls is spent.",
                }
            )
            continue
        if call.name == SUBMIT_TOOL:
            submitted, problem = parse_submit(call.arguments)
            calls.append(rt.record_submit(call, submitted, problem, step, node.seq))
            ordered.append(calls[-1])
            messages.append(
                {
                    "role": "tool",
                    "tool_call_id": call.id,
                    "content": problem or "Answer submitted.",
                }
            )
            if submitted is not None and answer is None:
                answer = submitted
            continue
        reason = rt.unavailable([*(state.get("tool_log") or ()), *calls]).get(call.name)
        if reason is not None:
            # Not available in the world's state now: refused, not run, and said why.
            made_call = rt.record_refused(
                call, reason, step, node.seq, offered=call.name in offered
            )
            calls.append(made_call)
            ordered.append(made_call)
            ran += 1
            messages.append({"role": "tool", "tool_call_id": call.id, "content": made_call.content})
            continue
        if together:
            # run below, with the reply's other calls; its place is kept
            later.append((len(messages), len(ordered), call))
            messages.append({"role": "tool", "tool_call_id": call.id, "content": ""})
            ordered.append(None)
            ran += 1
            continue
        made_call = await rt.call_tool(call, step, node.seq, offered=call.name in offered)
        stopped = made_call.ends_episode
        calls.append(made_call)
        ordered.append(made_call)
        ran += 1
        messages.append({"role": "tool", "tool_call_id": call.id, "content": made_call.content})
    if later:
        # every call of the reply is to a tool that may overlap: run them at once, and
        # record them in the reply's order (each event with its own start and duration)
        results = await asyncio.gather(
            *(rt.call_tool(c, step, node.seq, offered=c.name in offered) for _, _, c in later)
        )
        for (at, index, _call), made_call in zip(later, results, strict=True):
            messages[at]["content"] = made_call.content
            ordered[index] = made_call
            stopped = stopped if stopped is not None else made_call.ends_episode
        calls = [c for c in ordered if c is not None]
    update["tool_log"] = calls
    step_calls = state["step_calls"] + len(response.tool_calls)
    update["step_calls"] = step_calls

    if stopped is not None or answer is not None:
        # A tool that ended the episode (the world's own end, a transfer to a human)
        # or an answer: no further model call. An answer submitted before the tool
        # ended it is kept; the checklist decides the outcome.
        plan = [dict(s) for s in state["plan"]]
        plan[step].update(status="done", result=stopped if stopped is not None else answer)
        return {
            **update,
            "plan": plan,
            "answer": answer,
            "ended": "tool_ended" if stopped is not None else "answered",
            "route": "finish",
        }
    if refused:
        # A call that uses the last of the budget is fine; asking for one more ends it.
        spent_msg = f"tool-call budget spent: {ran} of {tool_limit}"
        return {**update, "ended": "budget", "error": spent_msg, "route": "finish"}
    if step_calls >= rt.config.max_calls_per_step and not rt.single:
        reason = f"used {step_calls} tool calls without finishing the step"
        return {**update, **_step_failed(state, rt, reason)}
    update["route"] = "executor"
    return update


def _step_ended(state: EpisodeState, rt: EpisodeRuntime, content: str) -> dict[str, Any]:
    """The model replied without tool calls: the step is done (or failed)."""
    if rt.single:
        return {"ended": "plan_finished", "route": "finish"}
    if content.strip().upper().startswith(STEP_FAILED):
        return _step_failed(state, rt, content.strip()[len(STEP_FAILED) :].lstrip(": ").strip())
    step = state["step"]
    plan = [dict(s) for s in state["plan"]]
    plan[step].update(status="done", result=content)
    if rt.config.parallel_steps:
        return {"plan": plan, "route": "join"}  # the join finds the steps that can run now
    if step + 1 < len(plan):
        return {"plan": plan, "step": step + 1, "route": "retriever"}
    return {"plan": plan, "ended": "plan_finished", "route": "finish"}


def _step_failed(state: EpisodeState, rt: EpisodeRuntime, reason: str) -> dict[str, Any]:
    step = state["step"]
    plan = [dict(s) for s in state["plan"]]
    plan[step].update(status="failed", result=reason or "no reason given")
    if state["replans"] < rt.config.max_replans:
        return {"plan": plan, "route": "planner"}
    return {
        "plan": plan,
        "route": "finish",
        "ended": "gave_up",
        "error": f"step failed and re-plans ran out: {reason}",
    }
