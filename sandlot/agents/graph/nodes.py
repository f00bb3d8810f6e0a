"""The planner, retriever and finish nodes. Each is a plain async function from the
episode state (and the run-scoped EpisodeRuntime) to a partial state update."""

from __future__ import annotations

from typing import Any

from langgraph.runtime import Runtime

from sandlot.agents.graph.catalog import planner_catalog, planner_query
from sandlot.agents.graph.executor import budget_spent
from sandlot.agents.graph.prompts import (
    PLANNER_PARALLEL,
    PLANNER_SYSTEM,
    parse_plan_steps,
    planner_user_message,
    step_message,
    with_policy,
)
from sandlot.agents.graph.runtime import EpisodeRuntime
from sandlot.agents.graph.state import EpisodeState, PlanStep
from sandlot.agents.models.base import ModelRequest

__all__ = ["finish", "planner", "retrieve", "retriever", "route"]


def route(state: EpisodeState) -> str:
    """Conditional edges follow the route the last node chose."""
    return state["route"]


async def planner(state: EpisodeState, runtime: Runtime[EpisodeRuntime]) -> dict[str, Any]:
    rt = runtime.context
    task = rt.task
    with rt.node("planner", state["step"]) as node:
        first = not state["plan"]
        messages: list[dict[str, Any]] = []
        if first:
            messages.append({"role": "user", "content": task.instruction})
        if rt.single:
            # The single-agent baseline: one step, every tool, no planner call.
            plan = [PlanStep(text=task.instruction, status="active", result=None)]
            rt.recorder.event(
                "plan",
                "plan",
                {"steps": [task.instruction], "replan": False, "reason": "single agent"},
                parent=node.seq,
            )
            return {
                "plan": plan,
                "step": 0,
                "messages": messages,
                "offered": rt.toolset.names(),
                "step_calls": 0,
                "route": "executor",
            }

        spent = budget_spent(state, rt)
        if spent is not None:
            return {**spent, "messages": messages}
        done = [s for s in state["plan"] if s["status"] == "done"]
        failed = next((s for s in state["plan"] if s["status"] == "failed"), None)
        catalog = planner_catalog(
            rt.toolset,
            rt.retriever,
            rt.config,
            planner_query(task.instruction, failed["text"] if failed else None),
        )
        request = ModelRequest(
            messages=[
                {"role": "system", "content": with_policy(_planner_system(rt), rt.policy)},
                {
                    "role": "user",
                    "content": planner_user_message(
                        task.instruction,
                        catalog.shown,
                        completed=[s["text"] for s in done],
                        failed=failed["text"] if failed else None,
                        reason=failed["result"] if failed else None,
                        unlisted=catalog.unlisted,
                    ),
                },
            ],
            purpose="plan",
            task=task,
            episode_id=rt.recorder.episode_id,
            metadata={
                "tool_descriptions": catalog.shown,  # what the planner is shown
                "catalog_shown": list(catalog.shown),
                "catalog_size": catalog.size,
                # every tool's description, for offline models (the oracle); not sent
                "catalog_descriptions": {t.name: t.description for t in rt.toolset},
                "replan": not first,
                "completed": [s["text"] for s in done],
                "failed": failed["text"] if failed else None,
            },
        )
        response, made = await rt.call_model(request, parent=node.seq)
        if response is None:
            return {
                "messages": messages,
                "model_log": [made],
                "ended": "model_error",
                "error": f"planner model call failed: {made.error}",
                "route": "finish",
            }
        planned, note = parse_plan_steps(response.content)
        steps = [s.text for s in planned]
        if not steps:
            # A plan we cannot read still leaves the request itself as the one step.
            steps = [task.instruction]
        plan = [*done, *(PlanStep(text=s, status="pending", result=None) for s in steps)]
        if rt.config.parallel_steps:
            _mark_needs(plan, len(done), planned)
        reason = note
        if not first:
            reason = f"step failed: {failed['text']}" if failed else "re-plan"
            messages.append(
                {
                    "role": "user",
                    "content": "The plan was revised. Remaining steps:\n"
                    + "\n".join(f"- {s}" for s in steps),
                }
            )
        rt.recorder.event(
            "plan",
            "replan" if not first else "plan",
            {
                "steps": [s["text"] for s in plan],
                "replan": not first,
                "reason": reason,
                "catalog_size": catalog.size,
                # parallel steps: what each step needs done first
                **({"after": [s.get("after") for s in plan]} if rt.config.parallel_steps else {}),
                # the shortlist the planner saw; absent: it saw the whole catalog
                **({"catalog_shown": list(catalog.shown)} if catalog.shortlisted else {}),
            },
            parent=node.seq,
        )
        return {
            "plan": plan,
            "step": len(done),
            "messages": messages,
            "replans": state["replans"] + (0 if first else 1),
            "model_log": [made],
            # parallel steps: the join finds the steps that can run now
            "route": "join" if rt.config.parallel_steps else "retriever",
        }


def _planner_system(rt: EpisodeRuntime) -> str:
    """The planner's generic prompt; with parallel steps, how to mark what steps need."""
    return f"{PLANNER_SYSTEM} {PLANNER_PARALLEL}" if rt.config.parallel_steps else PLANNER_SYSTEM


def _mark_needs(plan: list[PlanStep], start: int, planned: list[Any]) -> None:
    """Note on each new step (from ``start``) the plan indices of the steps it needs: those
    the planner listed, else the step before it (the first new step needs none: the
    steps before it are done)."""
    for j in range(len(plan) - start):
        after = planned[j].after if j < len(planned) else None
        if after is None:
            after = [j - 1] if j > 0 else []
        plan[start + j]["after"] = [start + i for i in after]


_RECORDED = 20  # ranked tools a retrieval event keeps


async def retriever(state: EpisodeState, runtime: Runtime[EpisodeRuntime]) -> dict[str, Any]:
    """Rank the tools for the current step's text and offer the top ``k``; record the
    ranking (under the retriever's name) and whether the step's needed tool was offered.
    When nothing matched, no tool is offered and the step's message says so."""
    rt = runtime.context
    step = state["step"]
    plan: list[dict[str, Any]] = [dict(s) for s in state["plan"]]
    with rt.node("retriever", step) as node:
        offered, matched = retrieve(rt, state, step, node.seq)
        plan[step]["status"] = "active"
        return {
            "plan": plan,
            "offered": offered,
            "step_calls": 0,
            "messages": [
                {
                    "role": "user",
                    "content": step_message(step, len(plan), plan[step]["text"], matched=matched),
                }
            ],
            "route": "executor",
        }


def retrieve(
    rt: EpisodeRuntime, state: EpisodeState, step: int, parent: int | None
) -> tuple[list[str], bool]:
    """Rank the tools for plan step ``step`` and record the ranking as a retrieval event
    under ``parent``: the tools offered, and whether any tool matched."""
    query = state["plan"][step]["text"]
    assert rt.retriever is not None
    # the top k are offered; the top 20 recorded, so a miss shows how close it was
    ranked = rt.retriever.rank(query, max(rt.config.k, _RECORDED))
    offered = [r.tool for r in ranked[: rt.config.k]]
    # what the step needs, from the reference and the calls made (not the step's text)
    needed = rt.needed_tools(state["tool_log"])
    hit = None if not needed else all(t in offered for t in needed)
    rt.recorder.event(
        "retrieval",
        rt.retriever.name,
        {
            "step_index": step,
            "query": query,
            "matched": bool(ranked),  # false: no tool matched the step, none offered
            "ranked": [{"tool": r.tool, "score": r.score} for r in ranked[:_RECORDED]],
            "k": rt.config.k,
            "offered": offered,
            "needed": needed,
            "hit": hit,
        },
        parent=parent,
    )
    return offered, bool(ranked)


async def finish(state: EpisodeState, runtime: Runtime[EpisodeRuntime]) -> dict[str, Any]:
    rt = runtime.context
    with rt.node("finish", state["step"]) as node:
        answer = state.get("answer")
        ended = state.get("ended")
        if answer is None and ended == "plan_finished" and state["messages"]:
            # The agent finished by itself without submit_answer: the reply that ended its
            # last step is its answer. An episode cut short (budget, gave up, error) has
            # none: what it said on the way is not an answer.
            last = state["messages"][-1]
            if last.get("role") == "assistant" and (last.get("content") or "").strip():
                answer = last["content"]
        if answer is not None:
            rt.recorder.event("answer", "answer", {"answer": answer}, parent=node.seq)
        return {"answer": answer, "ended": ended or "plan_finished", "route": "finish"}
