"""What the planner is shown of a world's tools: the whole catalog, or a shortlist.

A catalog of a few dozen tools fits in the planner's prompt, one line each. A catalog of
hundreds does not (400 tools are some 40,000 characters): above
``AgentConfig.planner_catalog_limit`` tools the planner sees the
``AgentConfig.planner_shortlist`` tools the episode's retriever ranks first for the
request (on a re-plan, the request and the step that failed), and a line saying how many
others exist; each plan step's own retrieval then finds the tools it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.agents.graph.runtime import AgentConfig
    from sandlot.retrieval.base import Retriever
    from sandlot.tools.toolset import Toolset

__all__ = ["PlannerCatalog", "one_line", "planner_catalog", "planner_query"]


def one_line(text: str) -> str:
    """The first line of a tool's description: how the planner's catalog lists it."""
    return text.strip().splitlines()[0] if text.strip() else ""


@dataclass(frozen=True)
class PlannerCatalog:
    """The tools the planner is shown, in the order shown (name -> one-line
    description), and how many tools the world has."""

    shown: dict[str, str]
    size: int
    shortlisted: bool  # shown is the retriever's shortlist, not the whole catalog

    @property
    def unlisted(self) -> int:
        """How many of the world's tools the planner is not shown."""
        return self.size - len(self.shown)


def planner_query(instruction: str, failed: str | None = None) -> str:
    """What the shortlist is ranked for: the request, and on a re-plan the failed step."""
    return f"{instruction}\n{failed}" if failed else instruction


def planner_catalog(
    toolset: Toolset, retriever: Retriever | None, config: AgentConfig, query: str
) -> PlannerCatalog:
    """The whole catalog when it has at most ``config.planner_catalog_limit`` tools (or
    the limit is 0 or None, or there is no retriever), else the retriever's top
    ``config.planner_shortlist`` tools for ``query`` (fewer when fewer match it)."""
    size = len(toolset)
    limit = config.planner_catalog_limit
    if not limit or size <= limit or retriever is None:
        return PlannerCatalog({t.name: one_line(t.description) for t in toolset}, size, False)
    ranked = retriever.rank(query, config.planner_shortlist)
    shown = {}
    for r in ranked[: config.planner_shortlist]:
        found = toolset.get(r.tool)
        if found is not None:
            shown[found.name] = one_line(found.description)
    return PlannerCatalog(shown, size, True)
