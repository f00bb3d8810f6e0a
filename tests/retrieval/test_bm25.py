"""The bm25 retriever: what it finds, and that it never pads a ranking."""

from __future__ import annotations

import pytest

from sandlot.retrieval import BM25Retriever, RankedTool, Retriever, bm25_retriever
from sandlot.tools import Toolset, tool


@tool
def FinanceTool(symbol: str) -> str:  # noqa: N802 - a catalog's names come as they are
    """Quote a stock.

    Args:
        symbol: The ticker.
    """
    return symbol


@tool
def get_news(topic: str) -> str:
    """Headlines about a topic.

    Args:
        topic: What the headlines are about.
    """
    return topic


@tool
def create_item(label: str) -> str:
    """Create a new item.

    Args:
        label: Its label.
    """
    return label


@tool
def summarize_report(report_id: str) -> str:
    """Write one summary of a report.

    Args:
        report_id: The report to condense.
    """
    return report_id


@tool
def send_parcel(destPostCode: str) -> str:  # noqa: N803
    """Ship a box.

    Args:
        destPostCode: Where the box goes, for the recipient.
    """
    return destPostCode


@tool
def news_digest(day: str) -> str:
    """Get the news: every news item we get, the news of the day, news and more news.

    Args:
        day: The day.
    """
    return day


@tool
def ping_east(host: str) -> str:
    """Check that a host answers.

    Args:
        host: The host.
    """
    return host


@tool
def ping_west(host: str) -> str:
    """Check that a host answers.

    Args:
        host: The host.
    """
    return host


@pytest.fixture
def retriever() -> BM25Retriever:
    return BM25Retriever(
        Toolset(
            "t",
            [
                get_news,
                create_item,
                summarize_report,
                send_parcel,
                FinanceTool,
                news_digest,
                ping_east,
                ping_west,
            ],
        )
    )


def _top(r: BM25Retriever, query: str) -> str:
    ranked = r.rank(query, 1)
    assert ranked, f"nothing matched {query!r}"
    return ranked[0].tool


def test_it_meets_the_contract(retriever):
    assert isinstance(retriever, Retriever) and retriever.name == "bm25"
    assert isinstance(bm25_retriever(Toolset("t", [get_news])), BM25Retriever)
    assert all(isinstance(r, RankedTool) for r in retriever.rank("host"))


def test_a_camel_case_name_is_found_by_its_words(retriever):
    assert _top(retriever, "use the finance tool") == "FinanceTool"


def test_a_query_naming_the_tool_whole_finds_it(retriever):
    assert _top(retriever, "call FinanceTool") == "FinanceTool"
    assert _top(retriever, "financetool") == "FinanceTool"
    # news_digest says "get" and "news" more often; the name get_news is get_news's own
    assert _top(retriever, "use get_news") == "get_news"


def test_news_is_not_new(retriever):
    assert _top(retriever, "headlines news") == "get_news"
    assert [r.tool for r in retriever.rank("a new thing")] == ["create_item"]


def test_summaries_meet_summary(retriever):
    assert _top(retriever, "summaries please") == "summarize_report"


def test_parameter_names_and_docs_are_indexed(retriever):
    assert _top(retriever, "the post code") == "send_parcel"  # destPostCode, split
    assert _top(retriever, "recipient") == "send_parcel"  # its doc


def test_nothing_matched_is_an_empty_ranking_never_padded(retriever):
    assert retriever.rank("zebra xylophone") == []
    assert retriever.rank("the of and") == []  # stop words only
    assert retriever.rank("") == []


def test_only_tools_sharing_a_term_are_ranked(retriever):
    assert {r.tool for r in retriever.rank("host")} == {"ping_east", "ping_west"}


def test_ties_keep_the_toolset_order(retriever):
    ranked = retriever.rank("host answers")
    assert [r.tool for r in ranked] == ["ping_east", "ping_west"]
    assert ranked[0].score == ranked[1].score > 0
    flipped = BM25Retriever(Toolset("t", [ping_west, ping_east]))
    assert [r.tool for r in flipped.rank("host answers")] == ["ping_west", "ping_east"]


def test_k_caps_the_ranking(retriever):
    assert len(retriever.rank("host", 1)) == 1
    assert retriever.rank("host", 0) == []
    assert len(retriever.rank("host", 50)) == 2


def test_an_empty_toolset_ranks_nothing():
    assert BM25Retriever(Toolset("empty")).rank("anything") == []
