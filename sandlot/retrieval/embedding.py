"""Embedding retrieval: tools ranked by the cosine similarity of sentence vectors.

Each tool becomes one document — its name split into words, its description and its
parameters' docs — and one vector; a query is embedded the same way and the tools are
ranked by cosine similarity. The vectors of a catalog are computed once: they are kept
in memory and on disk, under ``$XDG_CACHE_HOME/sandlot/embeddings/`` (by default
``~/.cache/sandlot/embeddings/``), in a file named by a hash of the model and the
documents, so a changed tool or another model never reads stale vectors. A cache file
that cannot be read is ignored and written again.

The encoder is :class:`sandlot.retrieval.minilm.MiniLM` (all-MiniLM-L6-v2 in numpy; the
``embeddings`` extra), or anything with a ``model_id`` and an ``encode(texts)`` that
returns unit vectors.
"""

from __future__ import annotations

import hashlib
import importlib
import os
import tempfile
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from sandlot.retrieval.base import RankedTool
from sandlot.retrieval.text import split_identifier

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

    from sandlot.tools.decorator import Tool
    from sandlot.tools.toolset import Toolset

__all__ = [
    "CACHE_ENV",
    "EmbeddingRetriever",
    "Encoder",
    "cache_dir",
    "embedding_retriever",
    "shared_encoder",
    "tool_document",
    "tool_vectors",
]

CACHE_ENV = "XDG_CACHE_HOME"


class Encoder(Protocol):
    """Turns texts into unit vectors; ``model_id`` names the model (and its settings)
    so that vectors from different models are never mixed."""

    model_id: str

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """One unit-length row per text, in order."""
        ...


def _numpy() -> Any:
    """numpy, imported when first needed: without it (the embeddings extra installs it)
    this module still imports, and building a retriever says what to install."""
    minilm = importlib.import_module("sandlot.retrieval.minilm")  # a UserError without numpy
    return minilm.np


def _name_words(name: str) -> str:
    """``getOrderStatus`` and ``get_order_status`` -> ``get order status``."""
    return " ".join(split_identifier(name))


def tool_document(tool: Tool) -> str:
    """The text a tool is embedded as: its name in words, its description and its
    parameters with their docs, one sentence-like line each."""
    lines = [f"{_name_words(tool.name)}: {tool.description.strip()}".rstrip(": ")]
    for param, doc in tool.parameters.items():
        words = _name_words(param)
        lines.append(f"{words}: {doc.strip()}" if doc.strip() else words)
    return "\n".join(line for line in lines if line)


def cache_dir() -> Path:
    """Where tool vectors are kept: ``$XDG_CACHE_HOME/sandlot/embeddings`` (default
    ``~/.cache/sandlot/embeddings``)."""
    base = os.environ.get(CACHE_ENV) or str(Path.home() / ".cache")
    return Path(base) / "sandlot" / "embeddings"


_LOCK = threading.Lock()
_ENCODERS: dict[str, Encoder] = {}
_VECTORS: dict[str, np.ndarray] = {}


def shared_encoder(path: str | os.PathLike[str] | None = None) -> Encoder:
    """The sentence encoder, loaded once per process and model directory (see
    :func:`sandlot.retrieval.minilm.load_encoder` for where it comes from).

    Raises:
        UserError: the embeddings extra or the model is not installed.
    """
    from sandlot.retrieval import minilm

    where = str(minilm.resolve_model_dir(path))
    with _LOCK:
        encoder = _ENCODERS.get(where)
        if encoder is None:
            encoder = _ENCODERS[where] = minilm.MiniLM(where)
        return encoder


def _cache_key(model_id: str, documents: Iterable[str]) -> str:
    digest = hashlib.sha256(model_id.encode())
    for document in documents:
        digest.update(b"\x00")
        digest.update(document.encode())
    return digest.hexdigest()


def _read_cached(path: Path, rows: int) -> np.ndarray | None:
    """The vectors stored at ``path``, or None when the file is missing or unusable."""
    np = _numpy()
    try:
        vectors = np.load(path, allow_pickle=False)
    except (OSError, ValueError, EOFError):
        return None
    if (
        not isinstance(vectors, np.ndarray)
        or vectors.ndim != 2
        or vectors.shape[0] != rows
        or vectors.dtype != np.float32
        or not np.isfinite(vectors).all()
    ):
        return None
    return vectors


def _write_cached(path: Path, vectors: np.ndarray) -> None:
    """Store ``vectors`` at ``path`` atomically (a reader sees the old file or the whole
    new one); a cache that cannot be written is skipped."""
    np = _numpy()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                np.save(f, vectors, allow_pickle=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError:
        pass


def tool_vectors(
    encoder: Encoder, documents: Sequence[str], *, directory: Path | None
) -> np.ndarray:
    """The documents' vectors: from memory, else from the cache file in ``directory``
    (None: no disk cache), else encoded (and stored in both)."""
    np = _numpy()
    key = _cache_key(encoder.model_id, documents)
    with _LOCK:
        vectors = _VECTORS.get(key)
    if vectors is not None:
        return vectors
    path = None if directory is None else directory / f"{key}.npy"
    vectors = None if path is None else _read_cached(path, len(documents))
    if vectors is None:
        vectors = np.asarray(encoder.encode(documents), dtype=np.float32)
        if path is not None:
            _write_cached(path, vectors)
    vectors.setflags(write=False)
    with _LOCK:
        _VECTORS[key] = vectors
    return vectors


class EmbeddingRetriever:
    """Ranks a toolset's tools by cosine similarity between the query's vector and each
    tool document's vector (:func:`tool_document`).

    Args:
        toolset: The tools to rank.
        encoder: Turns texts into unit vectors (default: the shared all-MiniLM-L6-v2).
        min_score: Tools whose similarity is at most this are not relevant and left out
            of a ranking (cosine similarity; 0 keeps every tool closer than unrelated).
        cache: Keep the tool vectors on disk too: True (default) in :func:`cache_dir`,
            a directory to keep them there, False: in memory only.
    """

    name = "embedding"

    def __init__(
        self,
        toolset: Toolset,
        encoder: Encoder | None = None,
        *,
        min_score: float = 0.0,
        cache: bool | str | os.PathLike[str] = True,
    ) -> None:
        np = _numpy()
        self.encoder = shared_encoder() if encoder is None else encoder
        self.min_score = min_score
        self.tools = [t.name for t in toolset]
        self.documents = [tool_document(t) for t in toolset]
        directory = cache_dir() if cache is True else None if cache is False else Path(cache)
        self._vectors = (
            tool_vectors(self.encoder, self.documents, directory=directory)
            if self.documents
            else np.zeros((0, 0), dtype=np.float32)
        )

    def scores(self, query: str) -> np.ndarray:
        """The cosine similarity of ``query`` to every tool, in catalog order."""
        np = _numpy()
        if not self.tools:
            return np.zeros(0, dtype=np.float32)
        vector = np.asarray(self.encoder.encode([query]), dtype=np.float32)[0]
        return self._vectors @ vector

    def rank(self, query: str, k: int | None = None) -> list[RankedTool]:
        """The tools most similar to ``query``, best first (at most ``k``); empty for a
        blank query."""
        if not query.strip() or not self.tools or k == 0:
            return []
        np = _numpy()
        scores = self.scores(query)
        # Best first; equal scores keep catalog order.
        order = np.argsort(-scores, kind="stable")
        ranked = [
            RankedTool(self.tools[i], float(scores[i])) for i in order if scores[i] > self.min_score
        ]
        return ranked if k is None else ranked[:k]


def embedding_retriever(toolset: Toolset) -> EmbeddingRetriever:
    """The ``embedding`` retriever: all-MiniLM-L6-v2 vectors, cosine ranking.

    Raises:
        UserError: the embeddings extra or the model is not installed.
    """
    return EmbeddingRetriever(toolset)
