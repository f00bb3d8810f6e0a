"""Text to index terms, the same way for a tool's document and for a query.

Identifiers are split into their words — ``FinanceTool`` into finance and tool,
``getHTTPResponse`` into get, http and response, ``get_order`` and ``get-order`` into
get and order, ``v2`` into v and 2 — so a step written in plain words finds a tool named
in code style. The words are lower-cased, English stop words dropped, and the rest
stemmed with the Snowball English stemmer (PyStemmer): "summaries" meets "summary" and
"refunded" meets "refund", while "news" and "new" stay apart.

An identifier made of several words is also kept whole, as one more term
(``financetool``, ``get_order``), so a query that names a tool outright matches that
tool's name term (:func:`name_term`) and ranks it first.
"""

from __future__ import annotations

import re
import threading

import Stemmer

__all__ = ["QUERY_FILLERS", "STOP_WORDS", "name_term", "split_identifier", "stem", "tokenize"]

_STOP_WORDS = """
a about after all also am an and any are as at be been before being but by can
could did do does doing each for from had has have having he her here hers him his
how i if in into is it its itself just me more most my no nor of on once only or
other our ours out own please same she should so some such than that the their them
then there these they this those through to too under until up very was we were what
when where which while who whom why will with would you your yours
"""
STOP_WORDS = frozenset(_STOP_WORDS.split())
"""Words too common to say which tool a text is about ("not" and "new" are kept)."""

# A run of letters and digits (no underscore): the parts of text between punctuation.
_CHUNK = re.compile(r"[^\W_]+")
# An identifier-like run: letters, digits, underscores, hyphens and dots inside it.
_IDENT = re.compile(r"[^\W_]+(?:[_.\-]*[^\W_]+)*")
# camelCase and PascalCase parts: an acronym before a capitalised word ("HTTP" in
# "HTTPResponse"), a capitalised or lower-case word, an acronym, a number.
_CAMEL = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|[0-9]+")
# Letters and digits apart, for text camelCase splitting does not apply to (non-ASCII).
_ALNUM = re.compile(r"[^\W\d_]+|\d+")

QUERY_FILLERS = frozenset(["help", "want", "need", "like"])
"""Words a request is phrased with ("please help me...", "I'd like...") that say
nothing about the tool it needs; dropped from queries only, so a tool named for them
(``help_display``) is still found by its whole name."""

# One stemmer for the process, used under a lock: a PyStemmer stemmer is not safe to share
# between threads unguarded, and one per thread would be built and freed with every
# short-lived worker thread.
_STEMMER = Stemmer.Stemmer("english")
_STEMMING = threading.Lock()


def stem(word: str) -> str:
    """The Snowball English stem of one lower-case word."""
    with _STEMMING:
        return str(_STEMMER.stemWord(word))


def split_identifier(text: str) -> list[str]:
    """The words of ``text``, lower-cased, with identifiers split on case changes,
    underscores, hyphens, dots and digits (no stop words removed, nothing stemmed)."""
    words: list[str] = []
    for chunk in _CHUNK.findall(text):
        parts = _CAMEL.findall(chunk) if chunk.isascii() else _ALNUM.findall(chunk)
        words += [p.lower() for p in parts]
    return words


def name_term(name: str) -> str:
    """A whole identifier as one term: lower-cased, hyphens read as underscores
    (``FinanceTool`` -> ``financetool``, ``get-order`` -> ``get_order``)."""
    return name.lower().replace("-", "_")


def _compounds(text: str) -> list[str]:
    """Each identifier in ``text`` made of more than one word, whole."""
    return [name_term(m) for m in _IDENT.findall(text) if len(split_identifier(m)) > 1]


def tokenize(text: str, *, query: bool = False) -> list[str]:
    """The terms of ``text``: its words (split, lower-cased, stop words dropped,
    stemmed), then each identifier of several words whole. A ``query`` also drops
    :data:`QUERY_FILLERS`."""
    drop = STOP_WORDS | QUERY_FILLERS if query else STOP_WORDS
    words = [w for w in split_identifier(text) if w not in drop]
    with _STEMMING:
        stems = _STEMMER.stemWords(words)
    return [*stems, *_compounds(text)]
