"""The retriever contract: rank a world's tools for a query.

A retriever is built for one toolset (a catalog) and answers
``rank(query, k) -> [RankedTool, ...]``: the most relevant tools first, each with its
score (higher is better; scores are comparable within one ranking only). It returns
fewer than ``k`` tools when fewer are relevant, and an empty list when nothing matched
the query — it never pads a ranking with tools it did not find. ``name`` is how a run
records it (``runs.config["retriever"]``, the ``retrieval`` event's name).

A factory builds one from a toolset: ``factory(toolset) -> Retriever``. Factories are
selected by name through :data:`sandlot.registry.RETRIEVERS` (``--retriever NAME``):
``bm25`` (the default), ``embedding`` and ``hybrid`` are built in, and a user adds their
own in code (``RETRIEVERS.register("mine", factory)``), as ``module:attribute``, or as
an installed entry point in the ``sandlot.retrievers`` group.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.tools.toolset import Toolset

__all__ = ["RankedTool", "Retriever", "RetrieverFactory"]


@dataclass(frozen=True)
class RankedTool:
    """One tool of a ranking and its score (higher is more relevant)."""

    tool: str
    score: float


@runtime_checkable
class Retriever(Protocol):
    """Ranks the tools of the toolset it was built for."""

    name: str

    def rank(self, query: str, k: int | None = None) -> list[RankedTool]:
        """The tools relevant to ``query``, best first: at most ``k`` (all relevant
        ones when ``k`` is None); empty when nothing matched."""
        ...


RetrieverFactory = Callable[["Toolset"], Retriever]
"""Builds a retriever for one toolset."""
