"""Weighted reciprocal-rank fusion."""

from __future__ import annotations

import pytest

from sandlot.retrieval.base import RankedTool
from sandlot.retrieval.fusion import RRF_K, rrf


def ranking(*tools: str) -> list[RankedTool]:
    """A ranking whose own scores are arbitrary (fusion reads positions only)."""
    return [RankedTool(t, 1000.0 - i) for i, t in enumerate(tools)]


def names(fused: list[RankedTool]) -> list[str]:
    return [r.tool for r in fused]


def test_one_ranking_keeps_its_order_and_scores_weight_over_k_plus_rank():
    fused = rrf([(ranking("a", "b", "c"), 2.0)])
    assert names(fused) == ["a", "b", "c"]
    assert [r.score for r in fused] == pytest.approx([2 / (RRF_K + 1), 2 / 62, 2 / 63])


def test_a_tool_both_rankings_place_well_beats_one_only_a_single_ranking_tops():
    fused = rrf([(ranking("a", "b", "c"), 1.0), (ranking("d", "b", "e"), 1.0)])
    assert names(fused)[0] == "b"
    assert set(names(fused)) == {"a", "b", "c", "d", "e"}


def test_the_heavier_ranking_wins_a_disagreement():
    first, second = ranking("a", "b"), ranking("b", "a")
    assert names(rrf([(first, 1.0), (second, 0.3)])) == ["a", "b"]
    assert names(rrf([(first, 0.3), (second, 1.0)])) == ["b", "a"]


def test_k_sets_how_much_the_top_of_one_ranking_counts():
    rankings = [(ranking("a", "x", "b"), 1.0), (ranking("c", "y", "b"), 1.0)]
    # k=0: first place (1/1) outweighs two third places (2/3); k=60: it no longer does.
    assert names(rrf(rankings, k=0))[0] == "a"
    assert names(rrf(rankings, k=60))[0] == "b"


def test_a_ranking_of_weight_zero_adds_nothing():
    fused = rrf([(ranking("a"), 1.0), (ranking("z", "a"), 0.0)])
    assert names(fused) == ["a"]
    assert fused[0].score == pytest.approx(1 / 61)


def test_ties_keep_the_order_of_first_appearance():
    assert names(rrf([(ranking("a"), 1.0), (ranking("b"), 1.0)])) == ["a", "b"]
    assert names(rrf([(ranking("b"), 1.0), (ranking("a"), 1.0)])) == ["b", "a"]


def test_a_tool_listed_twice_counts_once_at_its_best_position():
    fused = rrf([(ranking("a", "b", "a"), 1.0)])
    assert names(fused) == ["a", "b"]
    assert fused[0].score == pytest.approx(1 / 61)


def test_nothing_to_fuse_is_an_empty_ranking():
    assert rrf([]) == []
    assert rrf([([], 1.0), ([], 0.3)]) == []


@pytest.mark.parametrize(
    ("rankings", "k"), [([(ranking("a"), -1.0)], 60), ([(ranking("a"), 1.0)], -1)]
)
def test_negative_weights_and_k_are_refused(rankings, k):
    with pytest.raises(ValueError, match="at least 0"):
        rrf(rankings, k=k)
