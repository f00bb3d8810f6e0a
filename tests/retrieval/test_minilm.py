"""The numpy encoder's parts that need no model."""

from __future__ import annotations

import math

import numpy as np

from sandlot.retrieval.minilm import _gelu


def test_gelu_uses_the_exact_erf_within_float32_precision():
    x = np.linspace(-8, 8, 20001, dtype=np.float32)
    want = np.array([0.5 * v * (1 + math.erf(v / math.sqrt(2))) for v in x.astype(np.float64)])
    got = _gelu(x.copy())
    assert np.abs(got - want).max() < 1e-6
    # the tanh approximation is off by ~1e-3 here: this tells the two apart
    tanh = 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x**3)))
    assert np.abs(tanh - want).max() > 1e-4
