"""Comparing two runs: the paired tests, the flipped tasks of real runs, and `sandlot compare`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sandlot.agents.graph.runtime import AgentConfig
from sandlot.agents.running.runner import run
from sandlot.cli import app
from sandlot.environments.loader import load_tasks
from sandlot.traces.runs_compare import (
    compare_runs,
    mcnemar_exact,
    open_trace,
    paired_bootstrap,
    resolve_run,
)
from sandlot.traces.viewer.api import ViewerAPI
from sandlot.traces.viewer.server import ViewerServer, route
from tests.traces.conftest import TraceBuilder, in_a_thread

STORE_TASKS = Path(__file__).resolve().parents[2] / "examples" / "tasks" / "store"
TASK_IDS = ("store-contact-003", "store-orders-002", "store-lookup-001")
TAGS = {"store-contact-003": ["contact"], "store-orders-002": ["orders", "refunds"]}


def _tasks():
    chosen = [t for t in load_tasks([STORE_TASKS]) if t.id in TASK_IDS]
    assert len(chosen) == len(TASK_IDS)
    return [t.model_copy(update={"tags": TAGS.get(t.id, [])}) for t in chosen]


def _run(db: Path, model: str) -> str:
    config = AgentConfig(max_model_calls=40)
    result = in_a_thread(run(_tasks(), model=model, db=db, agent=config, concurrency=2))
    return result.run_id


@pytest.fixture(scope="module")
def one_trace(tmp_path_factory) -> tuple[Path, str, str]:
    db = tmp_path_factory.mktemp("compare") / "trace.db"
    return db, _run(db, "oracle"), _run(db, "null")


@pytest.fixture(scope="module")
def two_traces(tmp_path_factory) -> tuple[Path, str, Path, str]:
    folder = tmp_path_factory.mktemp("compare2")
    a, b = folder / "a.db", folder / "b.db"
    return a, _run(a, "null"), b, _run(b, "oracle")


# --- the tests ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("b", "c", "p"),
    [
        (8, 2, 0.109375),  # 2 * (1 + 10 + 45) / 1024
        (2, 8, 0.109375),
        (0, 0, 1.0),
        (5, 5, 1.0),
        (3, 0, 0.25),  # 2 / 8
        (10, 0, 2 / 1024),
        (6, 1, 0.125),  # 2 * (1 + 7) / 128
    ],
)
def test_mcnemar_exact_p_values_are_the_hand_computed_ones(b, c, p):
    assert mcnemar_exact(b, c) == pytest.approx(p, abs=1e-12)


def test_the_bootstrap_interval_is_deterministic_and_holds_the_point_difference():
    diffs = [1.0] * 6 + [-1.0] * 2 + [0.0] * 12
    first, second = paired_bootstrap(diffs), paired_bootstrap(diffs)
    assert first == second
    assert first is not None
    lo, hi = first
    assert lo < sum(diffs) / len(diffs) < hi
    assert lo >= -1.0 and hi <= 1.0
    assert paired_bootstrap([]) is None
    assert paired_bootstrap([0.5] * 4) == (0.5, 0.5)


def test_oracle_against_null_in_one_trace_flips_every_task(one_trace):
    db, oracle, null = one_trace
    with open_trace(db) as reader:
        result = compare_runs(reader, oracle, reader, null)
    assert [p.task_id for p in result.pairs] == sorted(TASK_IDS)
    assert {p.task_id: p.flip for p in result.flipped} == dict.fromkeys(TASK_IDS, "pass→fail")
    assert result.discordant == (3, 0)
    assert result.mcnemar_p == pytest.approx(0.25)
    assert (result.rate_a, result.rate_b, result.delta) == (1.0, 0.0, -1.0)
    assert result.ci == (-1.0, -1.0)
    assert not result.only_a and not result.only_b and not result.unscored
    tags = {t.tag: (t.tasks, t.rate_a, t.rate_b, t.delta) for t in result.by_tag}
    assert tags == {
        "contact": (1, 1.0, 0.0, -1.0),
        "orders": (1, 1.0, 0.0, -1.0),
        "refunds": (1, 1.0, 0.0, -1.0),
    }
    tokens_a, tokens_b = result.mean_tokens
    assert tokens_a is not None and tokens_b is not None
    assert result.mean_duration[0] is not None and result.mean_duration[0] > 0
    assert not result.cost_recorded
    assert result.to_dict()["cost"] is None


def test_a_run_resolves_by_latest_and_by_prefix(one_trace):
    db, oracle, null = one_trace
    with open_trace(db) as reader:
        assert resolve_run(reader, "latest") == null
        assert resolve_run(reader, null[:-3]) == null
        with pytest.raises(ValueError, match="matches 2 runs"):
            resolve_run(reader, "r-")
        assert resolve_run(reader, oracle) == oracle
        with pytest.raises(KeyError, match="nope"):
            resolve_run(reader, "nope")


def test_tasks_in_one_run_only_and_unscored_episodes_are_listed_apart(tmp_path):
    t = TraceBuilder(tmp_path / "t.db")
    t.run("ra")
    t.run("rb")
    t.episode("ra", "a1", "both", outcome="passed", success=1)
    t.episode("ra", "a2", "only-a", outcome="failed", success=0)
    t.episode("ra", "a3", "crashed", outcome="error", error="boom")
    t.episode("rb", "b1", "both", outcome="failed", success=0)
    t.episode("rb", "b2", "only-b", outcome="passed", success=1)
    t.episode("rb", "b3", "crashed", outcome="passed", success=1)
    db = t.close()
    with open_trace(db) as reader:
        result = compare_runs(reader, "ra", reader, "rb")
    assert [p.task_id for p in result.pairs] == ["both"]
    assert (result.only_a, result.only_b, result.unscored) == (["only-a"], ["only-b"], ["crashed"])
    assert [(e["task_id"], e["outcome"]) for e in result.not_scored_a] == [("crashed", "error")]
    assert result.by_tag == []  # the runs stored no task definitions


def test_epochs_give_a_success_rate_per_task(tmp_path):
    t = TraceBuilder(tmp_path / "t.db")
    t.run("ra", epochs=3)
    t.run("rb", epochs=3)
    for i, (a, b) in enumerate([("passed", "passed"), ("passed", "failed"), ("budget", "failed")]):
        t.episode("ra", f"a{i}", "x", epoch=i, outcome=a)
        t.episode("rb", f"b{i}", "x", epoch=i, outcome=b)
    t.episode("rb", "b-int", "x", epoch=3, outcome="interrupted")
    db = t.close()
    with open_trace(db) as reader:
        (pair,) = compare_runs(reader, "ra", reader, "rb").pairs
    assert (pair.scored_a, pair.passed_a, pair.scored_b, pair.passed_b) == (3, 2, 3, 1)
    assert pair.flip == "pass→fail"  # most passed in A, most failed in B


# --- the command line ---------------------------------------------------------------------


def test_the_cli_prints_the_flipped_tasks_and_the_tests(one_trace):
    db, oracle, null = one_trace
    out = CliRunner().invoke(app, ["compare", str(db), oracle, "latest"])
    assert out.exit_code == 0, out.output
    for task in TASK_IDS:
        assert task in out.output
    assert "pass→fail" in out.output
    assert "A 100.0%" in out.output and "B 0.0%" in out.output
    assert "McNemar p = 0.25" in out.output
    assert "refunds" in out.output
    assert "cost: not recorded" in out.output


def test_the_cli_prints_json(one_trace):
    db, oracle, null = one_trace
    out = CliRunner().invoke(app, ["compare", str(db), oracle[:-3], null, "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert data["mcnemar"] == {"pass_to_fail": 3, "fail_to_pass": 0, "p_value": 0.25}
    assert data["ci95"] == [-1.0, -1.0]
    assert sorted(f["task_id"] for f in data["flipped"]) == sorted(TASK_IDS)
    assert data["cost"] is None


def test_the_cli_compares_runs_of_two_traces(two_traces):
    a, null, b, oracle = two_traces
    out = CliRunner().invoke(app, ["compare", str(a), null, oracle, "--db-b", str(b), "--json"])
    assert out.exit_code == 0, out.output
    data = json.loads(out.output)
    assert (data["db_a"], data["db_b"]) == (str(a), str(b))
    assert {f["flip"] for f in data["flipped"]} == {"fail→pass"}
    assert data["delta"] == 1.0


def test_the_cli_says_what_is_wrong_with_an_unknown_run_or_a_missing_file(one_trace, tmp_path):
    db, oracle, _ = one_trace
    out = CliRunner().invoke(app, ["compare", str(db), oracle, "no-such-run"])
    assert out.exit_code == 2
    assert "no-such-run" in out.output and "Traceback" not in out.output
    missing = tmp_path / "missing.db"
    out = CliRunner().invoke(app, ["compare", str(db), oracle, oracle, "--db-b", str(missing)])
    assert out.exit_code == 2
    assert "missing.db" in out.output and "--db-b" in out.output
    not_a_trace = tmp_path / "notes.txt"
    not_a_trace.write_text("hello\n" * 100)
    out = CliRunner().invoke(app, ["compare", str(not_a_trace), "a", "b"])
    assert out.exit_code == 2 and "not a sandlot trace" in out.output


def test_the_cli_prints_task_ids_and_errors_from_the_trace_as_text_never_markup(tmp_path):
    t = TraceBuilder(tmp_path / "t.db")
    t.run("ra")
    t.run("rb")
    odd = "x[/]y[bold red]z"
    t.episode("ra", "a1", odd, outcome="passed", success=1)
    t.episode("rb", "b1", odd, outcome="failed", success=0)
    t.episode("rb", "b2", "[/]", outcome="error", error="[link=http://x]boom[/link] [/]")
    db = t.close()
    out = CliRunner().invoke(app, ["compare", str(db), "ra", "rb"])
    assert out.exit_code == 0, out.output
    assert odd in out.output
    assert "[link=http://x]boom[/link] [/]" in out.output


# --- the viewer -------------------------------------------------------------------------


def test_the_viewer_api_compares_two_runs(one_trace):
    db, oracle, null = one_trace
    api = ViewerAPI(db)
    try:
        data = route(api, f"/api/runs/{oracle}/compare/{null}", {})
        assert data["mcnemar"]["p_value"] == 0.25
        assert sorted(f["task_id"] for f in data["flipped"]) == sorted(TASK_IDS)
        assert route(api, f"/api/runs/{oracle}/compare/no-such-run", {}) is None
    finally:
        api.close()


@pytest.mark.browser
def test_the_viewer_page_shows_the_flipped_tasks_and_the_tests(one_trace, browser):
    from playwright.sync_api import expect

    db, oracle, null = one_trace
    with ViewerServer(db, port=0) as srv:
        page = browser.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(f"{srv.url}#/runs-compare/{oracle}/{null}")
        expect(page.locator("#runs-summary")).to_contain_text("McNemar p = 0.25")
        expect(page.locator("#flipped tbody tr")).to_have_count(len(TASK_IDS))
        expect(page.locator("#flipped")).to_contain_text("pass→fail")
        expect(page.locator("#by-tag")).to_contain_text("refunds")
        expect(page.locator("#runs-costs")).to_contain_text("cost: not recorded")
        page.goto(f"{srv.url}#/runs-compare/{oracle}/nope")
        expect(page.locator("#app")).to_contain_text("No run")
        page.close()
    assert not problems, problems


def test_the_runs_list_leads_to_the_comparison_of_two_ticked_runs(one_trace, browser):
    from playwright.sync_api import expect

    db, oracle, null = one_trace
    with ViewerServer(db, port=0) as srv:
        page = browser.new_page()
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.goto(srv.url)
        button = page.locator("#compare-runs")
        expect(button).to_be_disabled()
        page.get_by_label(f"select run {oracle}").check()
        expect(button).to_be_disabled()  # two runs, not one
        page.get_by_label(f"select run {null}").check()
        expect(button).to_be_enabled()
        button.click()
        expect(page.locator("#runs-summary")).to_contain_text("McNemar p = 0.25")
        assert f"#/runs-compare/{oracle}/{null}" in page.url
        page.close()
    assert not problems, problems
