"""Comparing two episodes: the first model response or tool call that differs in name,
arguments or result; call ids and timings never count as a difference."""

from __future__ import annotations

import sqlite3

import pytest

from sandlot.traces.viewer.compare import compare_episodes
from tests.traces.conftest import TraceBuilder, model_call, tool_call


@pytest.fixture
def api(viewer_api):
    return viewer_api


def test_first_difference_is_the_differing_tool_result(api):
    data = api.compare("ep-a", "ep-b")
    assert data["first_difference"] == 2
    assert data["difference"] == "the tool call differs in result"
    row = data["rows"][2]
    assert row["a"]["name"] == row["b"]["name"] == "get_order" and not row["same"]
    assert [r["same"] for r in data["rows"][:2]] == [True, True]  # call ids c1 / zz9 ignored


def test_a_faithful_replay_has_no_difference(api):
    data = api.compare("ep-a", "ep-r")
    assert data["first_difference"] is None and data["difference"] is None
    assert data["n_a"] == data["n_b"] == 5 and all(r["same"] for r in data["rows"])


def test_missing_episode_gives_none(api):
    assert api.compare("ep-a", "nope") is None


def _two(tmp_path, first, second):
    t = TraceBuilder(tmp_path / "c.db")
    t.run("r")
    for ep, actions in (("x", first), ("y", second)):
        t.episode("r", ep, "task")
        for kind, name, payload in actions:
            t.event(ep, kind, name, payload, parent=0)
    conn = sqlite3.connect(t.close())
    return compare_episodes(conn, "x", "y")


def test_an_episode_that_stops_early_differs_where_it_stopped(tmp_path):
    call = ("tool_call", "get_order", tool_call("a", {"order_id": 1}, "ok"))
    data = _two(tmp_path, [call, call], [call])
    assert data["first_difference"] == 1 and data["difference"] == "only one episode went on"
    assert data["rows"][1]["b"] is None


def test_arguments_compare_by_value_not_by_key_order(tmp_path):
    first = model_call("execute", 0, calls=[("i1", "f", {"a": 1, "b": 2})])
    second = model_call("execute", 0, calls=[("i2", "f", {"b": 2, "a": 1})])
    data = _two(tmp_path, [("model_call", "execute", first)], [("model_call", "execute", second)])
    assert data["first_difference"] is None


def test_different_arguments_are_named_as_the_difference(tmp_path):
    first = tool_call("a", {"order_id": 1}, "same")
    second = tool_call("a", {"order_id": 2}, "same")
    data = _two(tmp_path, [("tool_call", "t", first)], [("tool_call", "t", second)])
    assert data["difference"] == "the tool call differs in arguments"


def test_the_window_starts_shortly_before_the_first_difference(tmp_path):
    same = ("tool_call", "t", tool_call("a", {"n": 1}, "r"))
    data = _two(tmp_path, [same] * 60 + [("tool_call", "u", tool_call("a", {}, "r"))], [same] * 61)
    assert data["first_difference"] == 60 and data["start"] == 40
    assert data["rows"][0]["index"] == 40 and data["rows"][20]["index"] == 60
