"""Parallel steps: the join that finds the plan steps that can run now, and the branch
that runs one of them beside the others (``AgentConfig.parallel_steps``, docs/fanout.md).

The steps whose needs (``PlanStep.after``) are all done form a wave. A wave of one step
runs as every step does (retriever, then executor). A wave of two or more fans out with
LangGraph's ``Send``: one ``branch`` per step, each running its step's whole retrieve and
execute loop with its own conversation (the shared one, then its own), under its own
``branch`` span. The branches return their records through the state's reducers (the
plan merged by step index) and the join runs again when they have all ended: the next
wave, a re-plan when a step failed, or the end.
"""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime
from langgraph.types import Send

from sandlot.agents.graph.executor import (
    _execute,
    model_calls_made,
    step_calls_offered,
    tool_calls_made,
)
from sandlot.agents.graph.nodes import retrieve
from sandlot.agents.graph.prompts import step_message
from sandlot.agents.graph.runtime import EpisodeRuntime
from sandlot.agents.graph.state import EpisodeState, Halt, PlanStep

__all__ = ["branch", "fan_out", "join", "ready_steps"]

_HALTS = ("answered", "tool_ended", "budget", "model_error", "user_ended")


def ready_steps(plan: list[PlanStep]) -> list[int]:
    """The pending steps whose needs are all done (a step without ``after`` needs the
    step before it)."""
    ready = []
    for i, s in enumerate(plan):
        if s["status"] != "pending":
            continue
        needs = s.get("after")
        needs = [i - 1] if needs is None and i > 0 else (needs or [])
        if all(0 <= n < len(plan) and plan[n]["status"] == "done" for n in needs):
            ready.append(i)
    return ready


async def join(state: EpisodeState, runtime: Runtime[EpisodeRuntime]) -> dict[str, Any]:
    """After the planner and after each step or wave: end the episode when a branch ended
    it, re-plan when a step failed, else run the steps that can run now."""
    rt = runtime.context
    with rt.node("join", state["step"]) as node:
        halts = state.get("halts") or []
        if halts:
            first = min(halts, key=lambda h: h["step"])
            answer = next((h["answer"] for h in halts if h["answer"] is not None), None)
            return {
                "ended": first["ended"],
                "error": first["error"],
                "answer": answer,
                "route": "finish",
            }
        plan = state["plan"]
        failed = next((s for s in plan if s["status"] == "failed"), None)
        if failed is not None:
            if state["replans"] < rt.config.max_replans:
                return {"route": "planner"}
            reason = failed["result"] or "no reason given"
            return {
                "route": "finish",
                "ended": "gave_up",
                "error": f"step failed and re-plans ran out: {reason}",
            }
        ready = ready_steps(plan)
        if not ready:
            return {"ended": "plan_finished", "route": "finish"}
        if len(ready) == 1:
            return {"step": ready[0], "route": "retriever"}
        node.set(wave=ready)
        active = {i: {"status": "active"} for i in ready}
        return {
            "plan": active,
            "wave": ready,
            "wave_id": node.seq,
            "step": ready[0],
            "route": "branch",
        }


def fan_out(state: EpisodeState) -> Any:
    """The join's conditional edge: one ``Send`` to ``branch`` per step of the wave, else
    the route the join chose."""
    if state["route"] != "branch":
        return state["route"]
    return [Send("branch", {**state, "step": i}) for i in state.get("wave") or ()]


async def branch(state: EpisodeState, runtime: Runtime[EpisodeRuntime]) -> dict[str, Any]:
    """Run one step of a wave: its retrieval, then executor calls (at most
    ``max_calls_per_step``) until the step is done or failed or the episode ends. Every
    model and tool call is taken from the wave's shared budgets first."""
    rt = runtime.context
    step = state["step"]
    wave = int(state.get("wave_id") or 0)
    made_models, made_tools = model_calls_made(state), tool_calls_made(state)
    tool_limit = rt.task.max_tool_calls
    local: dict[str, Any] = {**state, "step_calls": 0}
    new: dict[str, list[Any]] = {"messages": [], "model_log": [], "tool_log": [], "user_log": []}

    def add(update: dict[str, Any]) -> None:
        for key, items in new.items():
            got = update.get(key) or []
            items.extend(got)
            local[key] = [*(local.get(key) or ()), *got]

    def take_tool() -> bool:
        return rt.ledger.take(wave, "tool", made_tools, tool_limit)

    halt: Halt | None = None
    done: dict[str, Any] = {}
    with rt.node("branch", step) as span:
        offered, matched = retrieve(rt, state, step, span.seq)
        local["offered"] = offered
        text = step_message(step, len(state["plan"]), state["plan"][step]["text"], matched=matched)
        add({"messages": [{"role": "user", "content": text}]})
        for _ in range(rt.config.max_calls_per_step):
            if not rt.ledger.take(wave, "model", made_models, rt.config.max_model_calls):
                limit = rt.config.max_model_calls
                error = f"model-call budget spent: {limit} of {limit}"
                halt = Halt(step=step, ended="budget", error=error, answer=None)
                break
            before = dict(local)
            with rt.recorder.span("node", "executor", {"step_index": step}, parent=span.seq) as ex:
                update = await _execute(local, rt, ex, take_tool)  # type: ignore[arg-type]
                add(update)
                local["step_calls"] = update.get("step_calls", local["step_calls"])
                if update.get("route") == "executor":
                    continue
                hit, missed = step_calls_offered(before, update.get("tool_log") or [])  # type: ignore[arg-type]
                ex.set(step_hit=hit, **({"not_offered": missed} if missed else {}))
            ended = update.get("ended")
            if ended in _HALTS:
                halt = Halt(
                    step=step, ended=ended, error=update.get("error"), answer=update.get("answer")
                )
            if "plan" in update:
                mine = update["plan"][step]
                done = {"status": mine["status"], "result": mine["result"]}
            break
        else:
            calls = rt.config.max_calls_per_step
            done = {"status": "failed", "result": f"used {calls} model calls without finishing"}
        span.set(status=done.get("status"), ended=halt["ended"] if halt else None)
    return {
        **{k: v for k, v in new.items() if v},
        **({"plan": {step: done}} if done else {}),
        **({"halts": [halt]} if halt else {}),
        "node_runs": 1,
    }
