"""Add a retriever and select it by name, as ``--retriever NAME`` does.

    python examples/custom_retriever.py

A retriever factory takes a toolset and returns an object with a ``name`` and
``rank(query, k=None)`` returning ``RankedTool`` items, best first. This one offers the
tools whose name starts with a word of the step's description. See
docs/guides/retriever.md.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from sandlot import load_tasks, run
from sandlot.agents.graph.runtime import AgentConfig
from sandlot.environments.base import make_environment
from sandlot.registry import RETRIEVERS
from sandlot.retrieval import RankedTool, retriever_for
from sandlot.tools import Toolset
from sandlot.traces.store import TraceStore


class PrefixRetriever:
    """Tools whose name starts with one of the query's words, in catalog order."""

    name = "prefix"

    def __init__(self, toolset: Toolset) -> None:
        self.names = [t.name for t in toolset]

    def rank(self, query: str, k: int | None = None) -> list[RankedTool]:
        words = query.lower().split()
        found = [RankedTool(n, 1.0) for n in self.names if any(n.startswith(w) for w in words)]
        return found if k is None else found[:k]


async def main() -> None:
    RETRIEVERS.register("prefix", PrefixRetriever)  # or an entry point in sandlot.retrievers
    toolset = make_environment("store").toolset
    ranked = retriever_for(toolset, "prefix").rank("get order 1003")
    print("ranked: " + ", ".join(r.tool for r in ranked))
    tasks = [t for t in load_tasks(["examples/tasks/store"]) if t.id == "store-lookup-001"]
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "traces.db"
        result = await run(tasks, model="oracle", agent=AgentConfig(retriever="prefix"), db=db)
        with TraceStore(db) as store:
            [recorded] = store.runs()
    episode = result.episodes[0]
    print(f"{episode.task_id}: {episode.outcome} (score {episode.score:.2f})")
    print(f"recorded retriever: {recorded['config']['agent']['retriever']}")


if __name__ == "__main__":
    asyncio.run(main())
