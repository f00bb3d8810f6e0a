"""Weighted reciprocal-rank fusion: one ranking from several.

Each ranking gives a tool ``weight / (k + rank)`` (``rank`` counted from 1), and a tool's
fused score is the sum over the rankings it is in. Only positions count, never the
rankings' own scores, so rankings whose scores are not comparable — BM25's and a cosine
similarity — combine without any calibration; ``k`` damps how much the very top of one
ranking outweighs the rest (60 in Cormack, Clarke and Büttcher's paper).
"""

from __future__ import annotations

from sandlot.retrieval.base import RankedTool

__all__ = ["RRF_K", "rrf"]

RRF_K = 60
"""The usual rank offset."""


def rrf(rankings: list[tuple[list[RankedTool], float]], k: float = RRF_K) -> list[RankedTool]:
    """Fuse ``(ranking, weight)`` pairs into one ranking, best first.

    A ranking with weight 0 adds nothing (its tools are not ranked on its account). Equal
    fused scores keep the order in which the tools first appear, going through the
    rankings in the order given. A tool listed twice in one ranking counts at its best
    position.

    Raises:
        ValueError: a negative weight, or a negative ``k``.
    """
    if k < 0:
        raise ValueError(f"rrf: k must be at least 0, not {k}")
    scores: dict[str, float] = {}
    for ranking, weight in rankings:
        if weight < 0:
            raise ValueError(f"rrf: weights must be at least 0, not {weight}")
        if weight == 0:
            continue
        seen: set[str] = set()
        for position, ranked in enumerate(ranking, start=1):
            if ranked.tool in seen:
                continue
            seen.add(ranked.tool)
            scores[ranked.tool] = scores.get(ranked.tool, 0.0) + weight / (k + position)
    # sorted() is stable: ties stay in first-appearance order (the dict's order).
    order = sorted(scores, key=lambda tool: -scores[tool])
    return [RankedTool(tool, scores[tool]) for tool in order]
