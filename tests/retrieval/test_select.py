"""Selecting a retriever: by name, import path or object; built once per toolset."""

from __future__ import annotations

import pytest

from sandlot.errors import UserError
from sandlot.registry import RETRIEVERS
from sandlot.retrieval import (
    BM25Retriever,
    RankedTool,
    resolve_retriever,
    retriever_for,
    spec_name,
)
from sandlot.tools import Toolset, tool
from tests.retrieval.custom import FirstLetter, first_letter


@tool
def alpha(x: str) -> str:
    """Alpha things.

    Args:
        x: A thing.
    """
    return x


@tool
def beta(x: str) -> str:
    """Beta things.

    Args:
        x: A thing.
    """
    return x


def _toolset() -> Toolset:
    return Toolset("t", [alpha, beta])


def test_bm25_is_the_default_and_is_built_once_per_toolset_content():
    first = retriever_for(_toolset())
    assert isinstance(first, BM25Retriever)
    assert retriever_for(_toolset(), "bm25") is first  # another toolset, the same tools
    assert retriever_for(Toolset("t", [alpha])) is not first


def test_the_builtins_are_registered():
    assert {"bm25", "embedding", "hybrid"} <= set(RETRIEVERS.names())


def test_an_unknown_name_lists_the_known_ones():
    with pytest.raises(UserError, match=r"unknown retriever 'bm52'.*bm25.*embedding.*hybrid"):
        retriever_for(_toolset(), "bm52")


def test_an_import_path_selects_a_users_factory():
    found = retriever_for(_toolset(), "tests.retrieval.custom:first_letter")
    assert isinstance(found, FirstLetter)
    assert found.rank("beta") == [RankedTool("beta", 1.0)]


def test_an_import_path_that_does_not_import_is_a_user_error():
    with pytest.raises(UserError, match="tests.retrieval.custom:nope.*cannot be imported"):
        resolve_retriever("tests.retrieval.custom:nope")
    with pytest.raises(UserError, match="not a retriever factory"):
        resolve_retriever("tests.retrieval.custom:not_a_factory")


def test_a_factory_a_class_or_a_ready_retriever_is_taken_as_is():
    assert isinstance(retriever_for(_toolset(), first_letter), FirstLetter)
    assert isinstance(retriever_for(_toolset(), FirstLetter), FirstLetter)
    ready = FirstLetter(_toolset())
    assert retriever_for(Toolset("other"), ready) is ready


def test_a_factory_that_returns_no_retriever_is_refused():
    with pytest.raises(UserError, match="returned a str, not a retriever"):
        retriever_for(_toolset(), lambda toolset: "nope")


def test_a_name_registered_in_code_is_selected_by_name():
    RETRIEVERS.register("first-letter", first_letter)
    try:
        assert isinstance(retriever_for(_toolset(), "first-letter"), FirstLetter)
    finally:
        RETRIEVERS.unregister("first-letter")


def test_spec_name_is_what_rebuilds_the_retriever():
    assert spec_name("hybrid") == "hybrid"
    assert spec_name(first_letter) == "tests.retrieval.custom:first_letter"
    assert spec_name(FirstLetter) == "tests.retrieval.custom:FirstLetter"
    assert spec_name(FirstLetter(_toolset())) == "first-letter"  # an instance: its name
