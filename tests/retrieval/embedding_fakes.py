"""A stand-in sentence encoder for the embedding and hybrid tests: a text's vector
counts the words of a small vocabulary it contains, so similarity is predictable and no
model is needed."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence

import numpy as np

from sandlot.retrieval.base import RankedTool
from sandlot.tools import Tool, Toolset, tool

VOCABULARY = ["cancel", "order", "weather", "city", "email", "send", "file", "list", "refund"]


class WordCountEncoder:
    """Each vocabulary word is one axis; every encode() call is recorded."""

    def __init__(self, model_id: str | None = None) -> None:
        # A fresh id per encoder keeps tests from sharing the process-wide vector cache.
        self.model_id = model_id or f"fake:{uuid.uuid4().hex}"
        self.calls: list[list[str]] = []

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        self.calls.append(list(texts))
        out = np.zeros((len(texts), len(VOCABULARY) + 1), dtype=np.float32)
        for row, text in enumerate(texts):
            words = re.findall(r"[a-z]+", text.lower())
            for col, word in enumerate(VOCABULARY):
                out[row, col] = words.count(word)
            if not out[row].any():
                out[row, -1] = 1.0  # a text with no vocabulary word: its own axis
            out[row] /= np.linalg.norm(out[row])
        return out


class FixedRetriever:
    """Answers every query with the same ranking; records the k it was asked for."""

    def __init__(self, name: str, tools: list[str]) -> None:
        self.name = name
        self.tools = tools
        self.asked: list[int | None] = []

    def rank(self, query: str, k: int | None = None) -> list[RankedTool]:
        self.asked.append(k)
        ranked = [RankedTool(t, float(len(self.tools) - i)) for i, t in enumerate(self.tools)]
        return ranked if k is None else ranked[:k]


@tool
def cancel_order(order_id: str) -> str:
    """Cancel an order that has not shipped yet.

    Args:
        order_id: The order to cancel.
    """
    return order_id


@tool
def getWeather(city: str) -> str:  # noqa: N802 - a camelCase tool name on purpose
    """Today's weather forecast.

    Args:
        city: The city.
    """
    return city


@tool
def send_email(to: str, body: str) -> str:
    """Send an email message.

    Args:
        to: Who receives it.
        body: The text.
    """
    return to


@tool
def list_files() -> list[str]:
    """List the files in the working directory."""
    return []


TOOLS: list[Tool] = [cancel_order, getWeather, send_email, list_files]


def toolset() -> Toolset:
    return Toolset("shop", TOOLS)
