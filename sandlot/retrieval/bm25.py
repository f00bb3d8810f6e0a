"""The ``bm25`` retriever: Okapi BM25 over each tool's name, description and parameters.

A tool's document is its name (its words, twice, and the whole name as one term), its
description, and each parameter's name and doc, all through :func:`tokenize`. The index
is an inverted one, each posting holding its term's BM25 weight for that tool, so a
query costs a few dictionary look-ups and a sort of the tools it touched: well under a
millisecond over thousands of tools. A tool no query term reaches is not ranked, and a
query none of whose terms the catalog knows ranks nothing.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from typing import TYPE_CHECKING

from sandlot.retrieval.base import RankedTool
from sandlot.retrieval.text import name_term, tokenize

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.tools.decorator import Tool
    from sandlot.tools.toolset import Toolset

__all__ = ["BM25Retriever", "bm25_retriever", "tool_terms"]

K1 = 1.5
"""Term-frequency saturation: how much a term repeated in one document adds."""
B = 0.75
"""Length normalisation: how much a long document's terms are discounted."""
NAME_REPEATS = 3
"""How many times a tool's name words count in its document (twice: 0.5 points less
recall@5 on the 1,274-tool catalog benchmark; four times: no better)."""


def tool_terms(tool: Tool) -> list[str]:
    """The terms a tool is indexed by: its name's words three times (a name says most
    about what a tool does), the whole name, its description, its parameters' names and
    docs."""
    name = tokenize(tool.name)
    params = " ".join(f"{p} {doc}" for p, doc in tool.parameters.items())
    return [
        *name * NAME_REPEATS,
        name_term(tool.name),
        *tokenize(tool.description),
        *tokenize(params),
    ]


class BM25Retriever:
    """Ranks the tools of one toolset against a query with Okapi BM25.

    Args:
        toolset: The tools to rank (their order breaks ties).
        k1, b: The BM25 parameters.
    """

    name = "bm25"

    def __init__(self, toolset: Toolset, *, k1: float = K1, b: float = B) -> None:
        self.names: list[str] = [t.name for t in toolset]
        docs = [Counter(tool_terms(t)) for t in toolset]
        n = len(docs)
        lengths = [sum(d.values()) for d in docs]
        avg = (sum(lengths) / n) if n else 0.0
        df: Counter[str] = Counter()
        for d in docs:
            df.update(d.keys())
        postings: dict[str, list[tuple[int, float]]] = defaultdict(list)
        for i, (d, length) in enumerate(zip(docs, lengths, strict=True)):
            norm = k1 * (1 - b + b * length / avg) if avg else k1
            for term, tf in d.items():
                # Lucene's idf: positive even for a term every tool has
                idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
                postings[term].append((i, idf * tf * (k1 + 1) / (tf + norm)))
        self._postings: dict[str, list[tuple[int, float]]] = dict(postings)

    @property
    def vocabulary(self) -> frozenset[str]:
        """Every term the index knows."""
        return frozenset(self._postings)

    def rank(self, query: str, k: int | None = None) -> list[RankedTool]:
        """The tools that share a term with ``query``, best first (the top ``k``, or all
        of them); ties keep the toolset's order. Empty when nothing matched."""
        if k is not None and k <= 0:
            return []
        scores: dict[int, float] = {}
        for term in dict.fromkeys(tokenize(query, query=True)):  # each query term once, in order
            for i, weight in self._postings.get(term, ()):
                scores[i] = scores.get(i, 0.0) + weight
        order = sorted((i for i, s in scores.items() if s > 0), key=lambda i: (-scores[i], i))
        if k is not None:
            order = order[:k]
        return [RankedTool(self.names[i], round(scores[i], 4)) for i in order]


def bm25_retriever(toolset: Toolset) -> BM25Retriever:
    """The ``bm25`` factory: a :class:`BM25Retriever` for ``toolset``."""
    return BM25Retriever(toolset)
