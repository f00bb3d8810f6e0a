"""The hybrid retriever's fusion of an embedding and a BM25 ranking, with stand-ins for
both (no model needed)."""

from __future__ import annotations

import pytest

from sandlot.retrieval import Retriever, embedding
from sandlot.retrieval.bm25 import BM25Retriever
from sandlot.retrieval.embedding import EmbeddingRetriever
from sandlot.retrieval.hybrid import HybridRetriever, hybrid_retriever
from tests.retrieval.embedding_fakes import FixedRetriever, WordCountEncoder, toolset


def names(ranked) -> list[str]:  # type: ignore[no-untyped-def]
    return [r.tool for r in ranked]


def test_by_default_embeddings_outweigh_bm25_and_both_rankings_count():
    emb, bm25 = FixedRetriever("embedding", ["a", "b"]), FixedRetriever("bm25", ["b", "a"])
    hybrid = HybridRetriever(emb, bm25)
    assert isinstance(hybrid, Retriever) and hybrid.name == "hybrid"
    ranked = hybrid.rank("anything")
    assert names(ranked) == ["a", "b"]  # in a disagreement, the embedding ranking wins
    assert ranked[0].score > ranked[1].score


def test_a_tool_both_rankings_find_rises_and_one_bm25_alone_finds_is_kept():
    hybrid = HybridRetriever(
        FixedRetriever("embedding", ["a", "b", "c"]), FixedRetriever("bm25", ["c", "d"])
    )
    # c: third by embeddings, first by BM25; d: found by BM25 alone, last
    assert names(hybrid.rank("anything")) == ["c", "a", "b", "d"]


def test_the_weights_are_constructor_arguments():
    hybrid = HybridRetriever(
        FixedRetriever("embedding", ["a", "b"]),
        FixedRetriever("bm25", ["b", "a"]),
        embedding_weight=0.2,
        bm25_weight=1.0,
    )
    assert names(hybrid.rank("q")) == ["b", "a"]


def test_rrf_k_is_a_constructor_argument():
    rankings = FixedRetriever("embedding", ["a", "x", "b"]), FixedRetriever("bm25", ["c", "y", "b"])
    even = {"embedding_weight": 1.0, "bm25_weight": 1.0}
    assert names(HybridRetriever(*rankings, rrf_k=0, **even).rank("q"))[0] == "a"
    assert names(HybridRetriever(*rankings, rrf_k=60, **even).rank("q"))[0] == "b"


def test_k_cuts_the_fused_ranking_and_depth_limits_what_is_fused():
    emb, bm25 = FixedRetriever("embedding", ["a", "b", "c"]), FixedRetriever("bm25", ["d"])
    assert names(HybridRetriever(emb, bm25).rank("q", k=2)) == ["a", "b"]
    assert HybridRetriever(emb, bm25).rank("q", k=0) == []
    shallow = HybridRetriever(emb, bm25, depth=1)
    assert names(shallow.rank("q")) == ["a", "d"]
    assert emb.asked[-1] == 1 and bm25.asked[-1] == 1


def test_nothing_ranked_by_either_is_an_empty_ranking():
    hybrid = HybridRetriever(FixedRetriever("embedding", []), FixedRetriever("bm25", []))
    assert hybrid.rank("q") == []


@pytest.mark.parametrize(
    "options", [{"embedding_weight": -1}, {"bm25_weight": -0.1}, {"rrf_k": -1}, {"depth": -1}]
)
def test_negative_settings_are_refused(options):
    with pytest.raises(ValueError, match="at least 0"):
        HybridRetriever(FixedRetriever("e", []), FixedRetriever("b", []), **options)


def test_the_factory_fuses_the_embedding_retriever_with_bm25(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    encoder = WordCountEncoder()
    monkeypatch.setattr(embedding, "shared_encoder", lambda path=None: encoder)
    hybrid = hybrid_retriever(toolset())
    assert isinstance(hybrid.embedding, EmbeddingRetriever)
    assert hybrid.embedding.encoder is encoder
    assert isinstance(hybrid.bm25, BM25Retriever)
    # embeddings and BM25 agree on the tool that has both words
    assert names(hybrid.rank("cancel the order", k=1)) == ["cancel_order"]
    # a word only BM25 knows (in list_files' description) still reaches the ranking
    assert "list_files" in names(hybrid.rank("working directory"))
