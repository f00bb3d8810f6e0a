"""The tokenizer: identifiers split into words, whole names kept, a real stemmer."""

from __future__ import annotations

from sandlot.retrieval.text import name_term, split_identifier, stem, tokenize


def test_camel_and_pascal_case_split_into_words():
    assert split_identifier("FinanceTool") == ["finance", "tool"]
    assert split_identifier("getHTTPResponse") == ["get", "http", "response"]


def test_snake_kebab_and_digits_split_into_words():
    assert split_identifier("get_order") == ["get", "order"]
    assert split_identifier("get-order") == ["get", "order"]
    assert split_identifier("ipv4Lookup v2") == ["ipv", "4", "lookup", "v", "2"]


def test_an_identifier_of_several_words_is_also_one_whole_term():
    assert "financetool" in tokenize("FinanceTool")
    assert "get_order" in tokenize("call get_order now")
    assert name_term("get-order") == "get_order"


def test_a_plain_word_gives_no_extra_whole_term():
    assert tokenize("orders") == ["order"]


def test_news_and_new_stay_apart():
    assert stem("news") != stem("new")
    assert tokenize("latest news") != tokenize("latest new")


def test_summary_and_summaries_meet():
    assert tokenize("summary") == tokenize("summaries")
    assert tokenize("refunded") == tokenize("refund")


def test_stop_words_are_dropped():
    assert tokenize("the order of the day") == [stem("order"), stem("day")]
