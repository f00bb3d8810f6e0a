"""A user's own retriever, reached as ``tests.retrieval.custom:first_letter`` (the
selection and command-line tests plug it in)."""

from __future__ import annotations

from sandlot.retrieval import RankedTool
from sandlot.tools import Toolset

__all__ = ["FirstLetter", "first_letter", "not_a_factory"]


class FirstLetter:
    """Ranks the tools whose name starts with the query's first letter, by name."""

    name = "first-letter"

    def __init__(self, toolset: Toolset) -> None:
        self.names = sorted(t.name for t in toolset)

    def rank(self, query: str, k: int | None = None) -> list[RankedTool]:
        found = [RankedTool(n, 1.0) for n in self.names if query[:1] and n[0] == query[0]]
        return found if k is None else found[:k]


def first_letter(toolset: Toolset) -> FirstLetter:
    return FirstLetter(toolset)


not_a_factory = 42
