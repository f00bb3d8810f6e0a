"""Tool retrieval: which of a world's tools a plan step needs.

A :class:`Retriever` ranks the tools of the toolset it was built for against a query
(:mod:`sandlot.retrieval.base` is the contract); :func:`retriever_for` selects one by
name (``bm25``, ``embedding``, ``hybrid``, or one registered in
:data:`sandlot.registry.RETRIEVERS`), by ``module:attribute`` or as an object, and keeps
it per toolset. See docs/retrieval.md.
"""

from sandlot.retrieval.base import RankedTool, Retriever, RetrieverFactory
from sandlot.retrieval.bm25 import BM25Retriever, bm25_retriever
from sandlot.retrieval.select import RetrieverSpec, resolve_retriever, retriever_for, spec_name
from sandlot.retrieval.text import tokenize

__all__ = [
    "BM25Retriever",
    "RankedTool",
    "Retriever",
    "RetrieverFactory",
    "RetrieverSpec",
    "bm25_retriever",
    "resolve_retriever",
    "retriever_for",
    "spec_name",
    "tokenize",
]
