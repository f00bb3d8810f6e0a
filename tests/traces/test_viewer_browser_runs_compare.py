"""Comparing a run of the open trace with a run of a second trace file in the viewer
(`sandlot view A.db --compare-with B.db`, #/runs-compare/RUN_A/b:RUN_B)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import unquote

import pytest
from typer.testing import CliRunner

from sandlot.cli import app
from sandlot.traces.viewer.api import ViewerAPI
from sandlot.traces.viewer.server import ViewerServer, route
from tests.traces.test_runs_compare import TASK_IDS, _run


@pytest.fixture(scope="module")
def two_traces(tmp_path_factory) -> tuple[Path, str, Path, str]:
    folder = tmp_path_factory.mktemp("compare-with")
    a, b = folder / "a.db", folder / "b.db"
    return a, _run(a, "oracle"), b, _run(b, "null")


def test_the_api_compares_a_run_with_one_of_the_second_trace(two_traces):
    a, run_a, b, run_b = two_traces
    api = ViewerAPI(a, compare_with=b)
    try:
        listed = route(api, "/api/trace-b", {})
        assert listed["name"] == "b.db" and [r["id"] for r in listed["runs"]] == [run_b]
        data = route(api, f"/api/runs/{run_a}/compare/b:{run_b}", {})
        assert data["run_a"] == run_a and data["run_b"] == run_b and data["b_in_trace_b"]
        assert (data["db_a"], data["db_b"]) == ("a.db", "b.db")  # names, never paths
        assert sorted(f["task_id"] for f in data["flipped"]) == sorted(TASK_IDS)
        # B's run is not in A, and A's run is not in B
        assert route(api, f"/api/runs/{run_a}/compare/{run_b}", {}) is None
        assert route(api, f"/api/runs/{run_a}/compare/b:{run_a}", {}) is None
    finally:
        api.close()


def test_without_a_second_trace_there_is_none_to_compare_with(two_traces):
    a, run_a, _, run_b = two_traces
    api = ViewerAPI(a)
    try:
        assert route(api, "/api/trace-b", {}) is None
        assert route(api, f"/api/runs/{run_a}/compare/b:{run_b}", {}) is None
        assert route(api, f"/api/runs/{run_a}/compare/{run_a}", {})["run_b"] == run_a
    finally:
        api.close()


def test_view_refuses_a_second_trace_that_is_not_one(two_traces, tmp_path):
    a, *_ = two_traces
    junk = tmp_path / "junk.db"
    junk.write_text("not a trace")
    for other in (junk, tmp_path / "missing.db"):
        out = CliRunner().invoke(app, ["view", str(a), "--compare-with", str(other)])
        assert out.exit_code == 2 and "--compare-with" in out.output, out.output


@pytest.mark.browser
def test_the_page_compares_a_run_with_one_picked_from_the_second_trace(two_traces, browser):
    from playwright.sync_api import expect

    a, run_a, b, run_b = two_traces
    with ViewerServer(a, port=0, compare_with=b) as srv:
        page = browser.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(f"{srv.url}#/runs-compare/{run_a}/{run_a}")
        expect(page.locator("#runs-summary")).to_contain_text("McNemar p = 1")
        page.locator("#pick-b").select_option(f"b:{run_b}")  # a run of b.db
        expect(page.locator("#flipped tbody tr")).to_have_count(len(TASK_IDS))
        expect(page.locator("#run-b-trace")).to_have_text(f"{run_b} (b.db)")
        assert f"#/runs-compare/{run_a}/b:{run_b}" in unquote(page.url)
        page.goto(f"{srv.url}#/runs-compare/{run_a}/b:{run_b}")  # the address as typed
        page.reload()
        expect(page.locator("#run-b-trace")).to_have_text(f"{run_b} (b.db)")
        page.close()
    assert not problems, problems
