"""The LangGraph StateGraph: planner → retriever → executor ⟲, with conditional edges for
next step, re-plan and finish. One compiled graph serves every episode; the live objects
of an episode travel as run-scoped context."""

from __future__ import annotations

import weakref
from collections.abc import Awaitable
from functools import lru_cache
from typing import Any, Protocol

from langgraph.graph import END, START, StateGraph
from langgraph.runtime import Runtime

from sandlot.agents.graph.executor import executor
from sandlot.agents.graph.fanout import branch, fan_out, join
from sandlot.agents.graph.nodes import finish, planner, retriever, route
from sandlot.agents.graph.runtime import EpisodeRuntime
from sandlot.agents.graph.state import EpisodeState

__all__ = ["build_graph", "default_graph", "graph_for"]

# Compiling costs ~25 ms, more than a whole oracle episode: one graph per checkpointer.
_COMPILED: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


class Node(Protocol):
    """A node function as LangGraph calls it (it passes ``runtime`` by name)."""

    __name__: str

    def __call__(
        self, state: EpisodeState, runtime: Runtime[EpisodeRuntime]
    ) -> Awaitable[dict[str, Any]]: ...


def _noting_trace_seq(node: Node) -> Node:
    """The node, also counting its run and noting in the state how far the trace had got
    when it ended: a resume from that checkpoint then knows which events the lost work
    wrote."""

    async def run(state: EpisodeState, runtime: Runtime[EpisodeRuntime]) -> dict[str, Any]:
        update = await node(state, runtime)
        update["trace_seq"] = runtime.context.recorder.issued
        update["node_runs"] = 1
        return update

    run.__name__ = run.__qualname__ = node.__name__
    return run


def build_graph(checkpointer: Any = None) -> Any:
    """Compile the episode graph, with an optional LangGraph checkpointer (for resume)."""
    g = StateGraph(EpisodeState, context_schema=EpisodeRuntime)
    g.add_node("planner", _noting_trace_seq(planner))
    g.add_node("retriever", _noting_trace_seq(retriever))
    g.add_node("executor", _noting_trace_seq(executor))
    g.add_node("finish", _noting_trace_seq(finish))
    # parallel steps (AgentConfig.parallel_steps): the join runs the steps that can run
    # now, a wave of two or more as branches side by side; a branch writes only through
    # reducers (branches of one wave end in the same superstep), so it notes no trace_seq
    g.add_node("join", _noting_trace_seq(join))
    g.add_node("branch", branch)
    g.add_edge(START, "planner")
    g.add_conditional_edges("planner", route, ["retriever", "executor", "finish", "join"])
    g.add_conditional_edges("retriever", route, ["executor", "finish"])
    g.add_conditional_edges(
        "executor", route, ["executor", "retriever", "planner", "finish", "join"]
    )
    g.add_conditional_edges("join", fan_out, ["retriever", "planner", "finish", "branch"])
    g.add_edge("branch", "join")
    g.add_edge("finish", END)
    return g.compile(checkpointer=checkpointer)


@lru_cache(maxsize=1)
def default_graph() -> Any:
    """The graph without a checkpointer, compiled once per process."""
    return build_graph()


def graph_for(checkpointer: Any = None) -> Any:
    """The compiled graph for ``checkpointer`` (None: no checkpoints), compiled once and
    shared by every episode that uses the same checkpointer."""
    if checkpointer is None:
        return default_graph()
    graph = _COMPILED.get(checkpointer)
    if graph is None:
        graph = _COMPILED[checkpointer] = build_graph(checkpointer)
    return graph
