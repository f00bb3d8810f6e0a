# The BM25 tool retriever as sandlot shipped it before sandlot.retrieval (formerly
# sandlot/agents/graph/retriever.py), kept verbatim as the baseline of
# bench/bench_retrieval.py ("today").
"""Tool retrieval: rank an environment's tools for a plan step with BM25.

The corpus is each tool's name (split on underscores, and whole), description and
parameter docs. Indexes are cached per toolset content, so ranking a step costs tens of
microseconds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

import bm25s

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.tools.toolset import Toolset

__all__ = ["BM25ToolRetriever", "RankedTool", "retriever_for", "tool_document"]

_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "will",
        "with",
        "you",
        "your",
        "me",
        "my",
        "i",
        "we",
        "our",
        "please",
        "can",
        "could",
        "would",
        "should",
        "do",
        "does",
    ]
)


@dataclass(frozen=True)
class RankedTool:
    tool: str
    score: float


def _stem(word: str) -> str:
    # A deliberately tiny stemmer: enough that "orders"/"order" and "refunded"/"refund"
    # meet, without a dependency. BM25 over a few dozen short documents needs no more.
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def _tokens(text: str) -> list[str]:
    words = _WORD.findall(text.lower().replace("_", " "))
    return [_stem(w) for w in words if w not in _STOPWORDS]


def tool_document(name: str, description: str, parameters: dict[str, str]) -> str:
    """The text a tool is indexed by: its name, description and parameter docs."""
    params = " ".join(f"{p} {doc}" for p, doc in parameters.items())
    # The name is repeated so that a step naming the tool outright ranks it first.
    return f"{name} {name} {description} {params}"


class BM25ToolRetriever:
    """Ranks the tools of a Toolset against a query with BM25 (the bm25s library)."""

    def __init__(self, toolset: Toolset) -> None:
        self.names: list[str] = []
        docs: list[list[str]] = []
        for t in toolset:
            self.names.append(t.name)
            docs.append(_tokens(tool_document(t.name, t.description, t.parameters)) or ["_"])
        self._index = bm25s.BM25()
        self._index.index(docs, show_progress=False)

    def rank(self, query: str, k: int | None = None) -> list[RankedTool]:
        """All tools (or the top ``k``) ordered by relevance to ``query``; ties keep the
        toolset's order."""
        n = len(self.names)
        if n == 0:
            return []
        k = n if k is None else max(0, min(k, n))
        tokens = [t for t in _tokens(query) if t in self._index.vocab_dict]
        if not tokens or k == 0:
            return [RankedTool(name, 0.0) for name in self.names[:k]]
        scores = self._index.get_scores(tokens)
        order = sorted(range(n), key=lambda i: (-float(scores[i]), i))
        return [RankedTool(self.names[i], round(float(scores[i]), 4)) for i in order[:k]]


_CACHE: dict[tuple[str, ...], BM25ToolRetriever] = {}


def retriever_for(toolset: Toolset) -> BM25ToolRetriever:
    """A cached retriever for this toolset (keyed by its tools' names and docs)."""
    key = tuple(f"{t.name}\x00{t.description}\x00{sorted(t.parameters.items())}" for t in toolset)
    found = _CACHE.get(key)
    if found is None:
        found = _CACHE[key] = BM25ToolRetriever(toolset)
    return found
