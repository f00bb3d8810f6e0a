"""One-line event summaries for list views, and cutting huge strings."""

from __future__ import annotations

from sandlot.traces.viewer.summaries import cut_long_strings, summarize
from tests.traces.conftest import model_call, tool_call


def test_model_call_summary_names_the_tools_asked_for():
    text, status = summarize(
        "model_call",
        "execute",
        model_call("execute", 0, calls=[("i", "get_order", {"order_id": 7})]),
    )
    assert text == "execute: → get_order(order_id=7) · 25 tok" and status is None


def test_a_model_giving_up_on_its_step_is_marked_failed():
    _, status = summarize(
        "model_call", "execute", model_call("execute", 1, content="STEP FAILED: no tool")
    )
    assert status == "failed"
    assert summarize("model_call", "x", {"error": "timeout"}) == ("error: timeout", "error")


def test_tool_call_summary_shows_arguments_and_result_or_error():
    assert summarize("tool_call", "t", tool_call("c", {"a": 1}, "fine")) == ("t(a=1) → fine", "ok")
    bad = tool_call(
        "c",
        None,
        "order_id is required",
        ok=False,
        error_kind="invalid_arguments",
        arguments_raw="{x",
    )
    assert summarize("tool_call", "t", bad) == (
        "t({x) → invalid_arguments: order_id is required",
        "error",
    )


def test_retrieval_plan_check_and_unknown_kinds():
    assert summarize("retrieval", "bm25", {"query": "q", "offered": ["a", "b"], "hit": False}) == (
        "q → a, b · miss",
        "miss",
    )
    assert (
        summarize(
            "plan", "replan", {"steps": ["s1", "s2"], "replan": True, "reason": "step failed"}
        )[1]
        == "replan"
    )
    assert summarize("check", "c", {"item_id": "c", "passed": None}) == ("c: skipped", None)
    assert summarize("brand_new_kind", "n", {"x": 1}) == ('{"x": 1}', None)
    assert summarize("tool_call", "t", "not a dict")[1] == "error"  # no ok flag: not ok


def test_a_step_that_called_a_tool_it_was_not_offered_is_a_miss():
    ended = {"step_index": 1, "step_hit": False, "not_offered": ["refund_order"]}
    assert summarize("node", "executor", ended) == (
        "step 2 · called refund_order, not offered",
        "miss",
    )
    assert summarize("node", "executor", {"step_index": 1, "step_hit": True}) == ("step 2", None)


def test_a_retrieval_that_matched_nothing_says_so():
    payload = {"query": "q", "matched": False, "offered": [], "hit": None}
    assert summarize("retrieval", "bm25", payload) == ("q → nothing matched", None)


def test_summaries_are_one_short_line():
    text, _ = summarize("answer", "answer", {"answer": "line one\nline two " + "z" * 500})
    assert "\n" not in text and len(text) <= 200


def test_cut_long_strings_cuts_at_any_depth_and_counts():
    value, cut = cut_long_strings({"a": ["x" * 50, {"b": "y" * 5}], "c": 3}, limit=10)
    assert (
        cut == 1
        and value["a"][0].startswith("x" * 10 + "… [40 more")
        and value["a"][1] == {"b": "yyyyy"}
    )
    assert cut_long_strings({"a": "short"}, limit=10) == ({"a": "short"}, 0)
