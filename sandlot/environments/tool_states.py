"""Which tools are available when: a world's or a task's declared transition graph.

A world may make a tool available only in some states of the episode. The declarative
form, ``tool_states``, is a graph over the tools themselves: ``after: {refund_order:
[get_order]}`` makes ``refund_order`` available only once ``get_order`` has succeeded in
this episode. A world declares it on its class (``Environment.tool_states``), a task adds
to it in its file (the ``tool_states`` key); the two are merged. A world whose rule
depends on its own data overrides ``Environment.unavailable_tools`` instead.

The agent is offered only the tools available now, and a call to one that is not is
refused without running: the model reads the reason, the call is recorded as refused.
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import BaseModel, ConfigDict, Field, field_validator

__all__ = [
    "ToolStates",
    "merge_tool_states",
    "reference_order_problems",
    "tool_states_names",
    "unavailable_after",
]


class ToolStates(BaseModel):
    """A transition graph over the tools: ``after`` maps a tool to the tools that must
    each have succeeded in the episode before it is available."""

    model_config = ConfigDict(extra="forbid")

    after: dict[str, list[str]] = Field(default_factory=dict)

    @field_validator("after")
    @classmethod
    def _sane(cls, after: dict[str, list[str]]) -> dict[str, list[str]]:
        for tool, needs in after.items():
            if not needs:
                raise ValueError(
                    f"after.{tool} lists no tool; name the tools that must succeed before "
                    f"{tool!r}, or leave {tool!r} out"
                )
            if tool in needs:
                raise ValueError(
                    f"after.{tool} lists {tool!r} itself, so it could never be called; "
                    "remove it from its own list"
                )
        return after


def merge_tool_states(*graphs: ToolStates | None) -> ToolStates:
    """One graph from several (the world's and the task's): a tool needs every tool any
    of them lists for it."""
    after: dict[str, list[str]] = {}
    for graph in graphs:
        if graph is None:
            continue
        for tool, needs in graph.after.items():
            after[tool] = list(dict.fromkeys([*after.get(tool, []), *needs]))
    return ToolStates.model_construct(after=after)


def unavailable_after(graph: ToolStates, succeeded: Iterable[str]) -> dict[str, str]:
    """The tools ``graph`` keeps unavailable once the tools named in ``succeeded`` (the
    episode's successful calls) have run, each with the reason the model is told."""
    done = set(succeeded)
    out: dict[str, str] = {}
    for tool, needs in graph.after.items():
        missing = [n for n in needs if n not in done]
        if missing:
            first = " and ".join(missing)
            out[tool] = (
                f"{tool} is not available yet: it is available only after {first} "
                f"has succeeded in this conversation; call {missing[0]} first"
            )
    return out


def tool_states_names(graph: ToolStates, prefix: str = "tool_states") -> list[tuple[str, str]]:
    """Every tool a graph names, with where (``tool_states.after.X`` and
    ``tool_states.after.X[i]``), for checking them against a world's tools."""
    named: list[tuple[str, str]] = []
    for tool, needs in graph.after.items():
        named.append((f"{prefix}.after.{tool}", tool))
        named += [(f"{prefix}.after.{tool}[{i}]", n) for i, n in enumerate(needs)]
    return named


def reference_order_problems(graph: ToolStates, calls: list[str]) -> list[tuple[int, str]]:
    """The reference calls the graph would refuse, assuming each earlier call succeeds:
    ``(index, why)`` — the oracle would be refused there."""
    problems: list[tuple[int, str]] = []
    for i, tool in enumerate(calls):
        reason = unavailable_after(graph, calls[:i]).get(tool)
        if reason is not None:
            problems.append((i, reason))
    return problems
