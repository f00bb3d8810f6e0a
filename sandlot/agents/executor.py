"""The executor node: one model call for the current step, then the tool calls it asked
for. The conditional edge after it loops (same step), moves on, re-plans or finishes."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from sandlot.agents.models.base import ModelRequest
from sandlot.agents.models.oracle import SUBMIT_TOOL
from sandlot.agents.prompts import EXECUTOR_SYSTEM, SINGLE_AGENT_SYSTEM
from sandlot.agents.runtime import EpisodeRuntime, parse_submit
from sandlot.agents.state import EpisodeState

__all__ = ["SUBMIT_SCHEMA", "SUBMIT_TOOL", "budget_spent", "executor"]

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

_FAILED_PREFIX = "STEP FAILED"


_EMPTY_REPLY = (
    "Your reply was empty. Call a tool, reply with the result of the current step, or "
    "reply 'STEP FAILED:' and the reason."
)
_SINGLE_EMPTY_REPLY = "Your reply was empty. Call a tool, or call submit_answer with the answer."


def budget_spent(state: EpisodeState, rt: EpisodeRuntime) -> dict[str, Any] | None:
    """The update that ends the episode when the model-call budget is spent, else None.
    Checked before every model call, by the planner and the executor alike."""
    limit = rt.config.max_model_calls
    if state["model_calls"] < limit:
        return None
    return {
        "status": "budget",
        "error": f"model-call budget spent: {state['model_calls']} of {limit}",
        "route": "finish",
    }


async def executor(state: EpisodeState, runtime: Runtime[EpisodeRuntime]) -> dict[str, Any]:
    rt = runtime.context
    step = state["step"]
    with rt.node("executor", step) as node:
        spent = budget_spent(state, rt)
        if spent is not None:
            return spent
        system = SINGLE_AGENT_SYSTEM if rt.single else EXECUTOR_SYSTEM
        request = ModelRequest(
            messages=[{"role": "system", "content": system}, *state["messages"]],
            tools=[*rt.toolset.schemas(state["offered"]), SUBMIT_SCHEMA],
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
        response, error = await rt.call_model(request, parent=node.seq)
        update: dict[str, Any] = {"model_calls": state["model_calls"] + 1}
        if error is not None:
            update.update(status="error", error=f"model call failed: {error}", route="finish")
            return update
        assert response is not None
        update["prompt_tokens"] = state["prompt_tokens"] + response.usage.prompt_tokens
        update["completion_tokens"] = state["completion_tokens"] + response.usage.completion_tokens
        messages: list[dict[str, Any]] = [response.to_message()]
        update["messages"] = messages

        if not response.tool_calls:
            if not (response.content or "").strip():
                # Nothing said, nothing called: ask again (the budget bounds the asking).
                nudge = _SINGLE_EMPTY_REPLY if rt.single else _EMPTY_REPLY
                messages.append({"role": "user", "content": nudge})
                return {**update, "route": "executor"}
            return {**update, **_step_ended(state, rt, response.content or "")}

        answer: str | None = None
        tool_calls = state["tool_calls"]
        tool_errors = state["tool_errors"]
        tool_limit = rt.task.max_tool_calls
        for call in response.tool_calls:
            if call.name != SUBMIT_TOOL and tool_calls >= tool_limit:
                # The budget ran out inside this batch: the rest are answered, not run.
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
                rt.record_submit(call, submitted, problem, step, node.seq)
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
            outcome = await rt.call_tool(call, step, node.seq)
            tool_calls += 1
            tool_errors += 0 if outcome.ok else 1
            messages.append(outcome.to_message())
        update.update(tool_calls=tool_calls, tool_errors=tool_errors)
        step_calls = state["step_calls"] + len(response.tool_calls)
        update["step_calls"] = step_calls

        if answer is not None:
            plan = [dict(s) for s in state["plan"]]
            plan[step].update(status="done", result=answer)
            return {**update, "plan": plan, "answer": answer, "route": "finish"}
        if tool_calls >= tool_limit:
            spent_msg = f"tool-call budget spent: {tool_calls} of {tool_limit}"
            return {**update, "status": "budget", "error": spent_msg, "route": "finish"}
        if step_calls >= rt.config.max_calls_per_step and not rt.single:
            reason = f"used {step_calls} tool calls without finishing the step"
            return {**update, **_step_failed(state, rt, reason)}
        update["route"] = "executor"
        return update


def _step_ended(state: EpisodeState, rt: EpisodeRuntime, content: str) -> dict[str, Any]:
    """The model replied without tool calls: the step is done (or failed)."""
    if rt.single:
        return {"route": "finish"}
    if content.strip().upper().startswith(_FAILED_PREFIX):
        return _step_failed(state, rt, content.strip()[len(_FAILED_PREFIX) :].lstrip(": ").strip())
    step = state["step"]
    plan = [dict(s) for s in state["plan"]]
    plan[step].update(status="done", result=content)
    if step + 1 < len(plan):
        return {"plan": plan, "step": step + 1, "route": "retriever"}
    return {"plan": plan, "route": "finish"}


def _step_failed(state: EpisodeState, rt: EpisodeRuntime, reason: str) -> dict[str, Any]:
    step = state["step"]
    plan = [dict(s) for s in state["plan"]]
    plan[step].update(status="failed", result=reason or "no reason given")
    if state["replans"] < rt.config.max_replans:
        return {"plan": plan, "route": "planner"}
    return {
        "plan": plan,
        "route": "finish",
        "status": "gave_up",
        "error": f"step failed and re-plans ran out: {reason}",
    }
