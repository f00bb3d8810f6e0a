"""The ``hybrid`` retriever: embedding similarity and BM25, fused by reciprocal rank.

Embeddings find a tool whose description says the same thing in other words ("cancel my
purchase" for ``cancel_order``); BM25 finds the exact words a step shares with a tool —
names, identifiers, rare terms the embedding model blurs. The two rankings are fused
with weighted reciprocal-rank fusion (:func:`sandlot.retrieval.fusion.rrf`), weighting
embeddings above BM25 by default.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sandlot.retrieval.base import RankedTool, Retriever
from sandlot.retrieval.fusion import rrf

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.tools.toolset import Toolset

__all__ = ["BM25_WEIGHT", "EMBEDDING_WEIGHT", "HYBRID_RRF_K", "HybridRetriever", "hybrid_retriever"]

HYBRID_RRF_K = 20
"""The hybrid's reciprocal-rank offset: smaller than the usual 60, so that the top of
each ranking counts for more."""
EMBEDDING_WEIGHT = 1.0
"""The default weight of the embedding ranking."""
BM25_WEIGHT = 0.8
"""The default weight of the BM25 ranking (1 : 0.8 with ``rrf_k`` 20 ranked best on the
1,274-tool catalog benchmark, docs/BENCHMARKS.md)."""


class HybridRetriever:
    """Fuses an embedding ranking and a BM25 ranking of the same tools.

    Args:
        embedding: The embedding retriever (any :class:`Retriever`).
        bm25: The lexical retriever (any :class:`Retriever`).
        embedding_weight, bm25_weight: Each ranking's weight in the fusion (at least 0).
        rrf_k: The reciprocal-rank offset (see :func:`sandlot.retrieval.fusion.rrf`).
        depth: How many tools of each ranking are fused (None: all it ranks).

    Raises:
        ValueError: a negative weight, ``rrf_k`` or ``depth``.
    """

    name = "hybrid"

    def __init__(
        self,
        embedding: Retriever,
        bm25: Retriever,
        *,
        embedding_weight: float = EMBEDDING_WEIGHT,
        bm25_weight: float = BM25_WEIGHT,
        rrf_k: float = HYBRID_RRF_K,
        depth: int | None = None,
    ) -> None:
        if min(embedding_weight, bm25_weight) < 0:
            raise ValueError(
                f"hybrid: weights must be at least 0 (embedding {embedding_weight}, "
                f"bm25 {bm25_weight})"
            )
        if rrf_k < 0:
            raise ValueError(f"hybrid: rrf_k must be at least 0, not {rrf_k}")
        if depth is not None and depth < 0:
            raise ValueError(f"hybrid: depth must be at least 0, not {depth}")
        self.embedding = embedding
        self.bm25 = bm25
        self.embedding_weight = embedding_weight
        self.bm25_weight = bm25_weight
        self.rrf_k = rrf_k
        self.depth = depth

    def rank(self, query: str, k: int | None = None) -> list[RankedTool]:
        """The fused ranking, best first (at most ``k``); empty when neither retriever
        ranked anything."""
        if k is not None and k <= 0:
            return []
        fused = rrf(
            [
                (self.embedding.rank(query, self.depth), self.embedding_weight),
                (self.bm25.rank(query, self.depth), self.bm25_weight),
            ],
            k=self.rrf_k,
        )
        return fused if k is None else fused[:k]


def hybrid_retriever(toolset: Toolset) -> HybridRetriever:
    """The ``hybrid`` factory: all-MiniLM-L6-v2 embeddings and BM25 for ``toolset``,
    fused with the default weights.

    Raises:
        UserError: the embeddings extra or the model is not installed.
    """
    from sandlot.retrieval.bm25 import bm25_retriever
    from sandlot.retrieval.embedding import embedding_retriever

    return HybridRetriever(embedding_retriever(toolset), bm25_retriever(toolset))
