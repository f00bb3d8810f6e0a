"""The run summary's statistics: summarize(), TraceReader.summary(), RunResult.summary()
and the command line's summary table."""

from __future__ import annotations

import json
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sandlot.agents.running.runner import run
from sandlot.cli import app
from sandlot.environments.loader import load_tasks
from sandlot.traces.query import TraceReader
from sandlot.traces.summary import summarize
from tests.traces.conftest import XSS, TraceBuilder, in_a_thread

ROOT = Path(__file__).resolve().parents[2]
STATS = ("pass_at", "pass_hat", "success_se", "success_ci", "score_se", "score_ci", "by_tag")


def _ep(task: str, outcome: str | None, score: float | None = None) -> dict:
    return {"task_id": task, "outcome": outcome, "score": score}


def test_summarize_adds_the_statistics_over_scored_episodes_only():
    eps = [
        _ep("a", "passed", 1.0),
        _ep("a", "failed", 0.5),
        _ep("a", "error"),
        _ep("b", "passed", 1.0),
        _ep("b", "budget", 0.5),
        _ep("b", "interrupted", 0.0),
        _ep("c", "gave_up", 0.0),
        _ep("c", "failed", 0.0),
    ]
    s = summarize(eps, epochs=2, tags={"a": ["retrieval"], "b": ["retrieval", "refusal"]})
    assert (s["errors"], s["interrupted"], s["scored"]) == (1, 1, 6)
    assert s["success_rate"] == pytest.approx(2 / 6)
    assert s["pass_at"] == pytest.approx({1: 1 / 3, 2: 2 / 3})
    assert s["pass@2"] == s["pass_at"][2]  # the key that was there stays
    assert s["pass_hat"] == pytest.approx({1: 1 / 3, 2: 0.0})
    # clustered by task (CR1): residual sums 1/3, 1/3, -2/3 about the pooled 1/3
    assert s["success_se"] == pytest.approx((3 / 2 * (1 / 9 + 1 / 9 + 4 / 9)) ** 0.5 / 6)
    lo, hi = s["success_ci"]
    assert lo <= s["success_rate"] <= hi
    assert s["score_ci"][0] <= s["mean_score"] <= s["score_ci"][1]
    assert list(s["by_tag"]) == ["refusal", "retrieval"]
    assert s["by_tag"]["retrieval"] | {"success_se": 0, "score_se": 0} == {
        "episodes": 4,
        "tasks": 2,
        "passed": 2,
        "success_rate": 0.5,
        "success_se": 0,
        "mean_score": 0.75,
        "score_se": 0,
    }
    assert s["by_tag"]["refusal"]["episodes"] == 2  # b's interrupted episode is not in it


def test_summarize_with_nothing_scored_or_one_epoch():
    s = summarize([_ep("a", "error"), _ep("b", None)])
    assert s["pass_at"] == {} and s["success_se"] is None and s["success_ci"] is None
    assert s["by_tag"] == {}
    s = summarize([_ep("a", "passed", 1.0), _ep("b", "failed", 0.0)], epochs=1)
    assert s["pass_at"] == {1: 0.5} and s["pass_hat"] == {1: 0.5}
    assert s["success_se"] == pytest.approx(0.5 / 2**0.5)  # sqrt(p (1-p) / n)


def test_trace_reader_summary_has_the_statistics_and_the_saved_tags(tmp_path):
    b = TraceBuilder(tmp_path / "t.db")
    b.run("r1", epochs=2)
    for task, tags in (("a", ["retrieval"]), ("b", ["refusal", "policy"]), ("c", [])):
        definition = {"id": task, "environment": "store", "instruction": "x", "tags": tags}
        b.conn.execute(
            "INSERT INTO tasks VALUES (?, ?, ?, ?)",
            ("r1", task, "store", json.dumps(definition)),
        )
    outcomes = {"a": ["passed", "passed"], "b": ["failed", "passed"], "c": ["error", "failed"]}
    for task, pair in outcomes.items():
        for epoch, outcome in enumerate(pair):
            score = None if outcome == "error" else float(outcome == "passed")
            b.episode("r1", f"{task}{epoch}", task, epoch=epoch, outcome=outcome, score=score)
    b.close()
    with TraceReader(tmp_path / "t.db") as reader:
        assert reader.task_tags("r1") == {"a": ["retrieval"], "b": ["refusal", "policy"]}
        s = reader.summary("r1")
    assert set(STATS) <= set(s)
    assert s["pass_at"] == pytest.approx({1: 0.5, 2: 2 / 3})
    assert list(s["by_tag"]) == ["policy", "refusal", "retrieval"]
    assert s["by_tag"]["retrieval"]["success_rate"] == 1.0
    assert s["by_tag"]["refusal"]["episodes"] == 2


def _store_tasks(tmp_path: Path) -> Path:
    """Two tagged store tasks in a file of their own."""
    tasks = {t.id: t for t in load_tasks([ROOT / "examples/tasks/store"])}
    chosen = [tasks["store-lookup-001"], tasks["store-policy-001"]]
    path = tmp_path / "tasks.json"
    path.write_text(json.dumps([t.model_dump(mode="json") for t in chosen]))
    return path


def test_run_result_summary_matches_the_trace_reader(tmp_path):
    tasks = load_tasks([_store_tasks(tmp_path)])
    result = in_a_thread(run(tasks, model="oracle", db=tmp_path / "t.db", epochs=2))
    summary = result.summary()
    assert set(summary["by_tag"]) == {"retrieval", "policy", "refusal"}
    assert summary["pass_at"] == {1: 1.0, 2: 1.0}
    with TraceReader(tmp_path / "t.db") as reader:
        stored = reader.summary(result.run_id)
    assert stored | {"duration": 0} == summary | {"duration": 0}


def test_the_cli_summary_shows_the_interval_pass_hat_and_tag_rows(tmp_path):
    args = ["run", str(_store_tasks(tmp_path)), "--db", str(tmp_path / "t.db"), "-q"]
    with ThreadPoolExecutor(1) as pool:  # the run's event loop, off the browser's thread
        out = pool.submit(CliRunner().invoke, app, [*args, "--epochs", "2"]).result()
    assert out.exit_code == 0, out.output
    text = re.sub(r"\s+", " ", out.output)
    assert re.search(r"success rate │ 100\.0% ± 0\.0% \(95% CI 100\.0%–100\.0%\)", text), text
    assert "pass@2 / pass^2 │ 100.0% / 100.0%" in text
    assert "by tag" in text
    for tag in ("policy", "refusal", "retrieval"):
        assert re.search(rf"│ {tag} +│ 2 +│ 1 +│ 100\.0% +│ 1\.000 +│", text), tag


def test_garbled_task_definitions_give_their_task_no_tags(tmp_path):
    b = TraceBuilder(tmp_path / "t.db")
    b.run("r1")
    definitions = {
        "ok": json.dumps({"id": "ok", "tags": ["retrieval"]}),
        "number": json.dumps({"id": "number", "tags": 5}),
        "text": json.dumps({"id": "text", "tags": "retrieval"}),
        "mixed": json.dumps({"id": "mixed", "tags": ["code", 3, {"a": 1}, None]}),
        "broken": '{"id": "broken", "tags": ["x"',
        "deep": '{"tags": ' + "[" * 5000 + "]" * 5000 + "}",
        "null": None,
    }
    for task, text in definitions.items():
        b.conn.execute("INSERT INTO tasks VALUES ('r1', ?, 'store', ?)", (task, text))
        b.episode("r1", f"e-{task}", task, outcome="passed", score=1.0)
    b.close()
    with TraceReader(tmp_path / "t.db") as reader:
        assert reader.task_tags("r1") == {"ok": ["retrieval"], "mixed": ["code"]}
        assert set(reader.summary("r1")["by_tag"]) == {"retrieval", "code"}


def test_a_file_without_a_tasks_table_has_no_tags(tmp_path):
    b = TraceBuilder(tmp_path / "t.db")
    b.run("r1")
    b.episode("r1", "e1", "a", outcome="passed", score=1.0)
    b.conn.execute("DROP TABLE tasks")
    b.close()
    with TraceReader(tmp_path / "t.db") as reader:
        assert reader.summary("r1")["by_tag"] == {} and reader.task_tags("r1") == {}
    from sandlot.traces.viewer.api import ViewerAPI

    api = ViewerAPI(tmp_path / "t.db")
    try:
        assert api.stats("r1")["summary"]["by_tag"] == {}
    finally:
        api.close()


def _tagged_run(path: Path, *, extra_tag: str | None = None) -> Path:
    """run-s, two epochs: a (retrieval) passes twice, b (refusal, policy) once, c (no
    tags, or ``extra_tag``) errors once and fails once."""
    b = TraceBuilder(path)
    b.run("run-s", epochs=2)
    c_tags = [extra_tag] if extra_tag else []
    for task, tags in (("a", ["retrieval"]), ("b", ["refusal", "policy"]), ("c", c_tags)):
        definition = {"id": task, "environment": "store", "instruction": "x", "tags": tags}
        b.conn.execute(
            "INSERT INTO tasks VALUES (?, ?, ?, ?)",
            ("run-s", task, "store", json.dumps(definition)),
        )
    outcomes = {"a": ["passed", "passed"], "b": ["failed", "passed"], "c": ["error", "failed"]}
    for task, pair in outcomes.items():
        for epoch, outcome in enumerate(pair):
            score = None if outcome == "error" else float(outcome == "passed")
            b.episode("run-s", f"{task}{epoch}", task, epoch=epoch, outcome=outcome, score=score)
    return b.close()


def test_the_viewer_run_statistics_match_the_summary(tmp_path):
    from sandlot.traces.viewer.api import ViewerAPI

    db = _tagged_run(tmp_path / "t.db")
    api = ViewerAPI(db)
    try:
        shown = json.loads(json.dumps(api.stats("run-s")["summary"]))
    finally:
        api.close()
    with TraceReader(db) as reader:
        expected = json.loads(json.dumps(reader.summary("run-s")))
    assert shown["epochs"] == 2
    for key in ("success_rate", "errors", *STATS):
        assert shown[key] == expected[key], key
    assert shown["pass_hat"] == {"1": 0.5, "2": pytest.approx(1 / 3)}
    assert list(shown["by_tag"]) == ["policy", "refusal", "retrieval"]


@pytest.mark.browser
def test_the_run_page_shows_the_interval_pass_hat_and_tag_rows(tmp_path, browser):
    from playwright.sync_api import expect

    from sandlot.traces.viewer.server import ViewerServer

    db = _tagged_run(tmp_path / "t.db", extra_tag=XSS["img"])
    with ViewerServer(db, port=0) as srv:
        page = browser.new_page(viewport={"width": 1300, "height": 900})
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        try:
            page.goto(srv.url + "#/run/run-s")
            stats = page.locator("#run-stats")
            expect(stats).to_contain_text("pass@2 / pass^2")
            # 3 of 5 scored passed; clustered by task; interval from the bootstrap
            expect(stats.locator("tr").first).to_contain_text(
                re.compile(r"60\.0% ± \d+\.\d% \(95% CI ")
            )
            expect(stats).to_contain_text("66.7% / 33.3%")  # pass@2 / pass^2
            rows = page.locator("#by-tag tbody tr")
            expect(rows).to_have_count(4)
            expect(rows.nth(1)).to_contain_text("policy")
            expect(rows.nth(3)).to_contain_text("retrieval")
            expect(rows.nth(3)).to_contain_text("100.0%")
            expect(page.locator("#by-tag")).to_contain_text(XSS["img"])  # text, not markup
            assert page.locator("#app img").count() == 0
            assert page.evaluate("window.__xss") is None
        finally:
            page.close()
    assert not problems, problems


def test_a_tag_is_printed_as_written_never_as_markup():
    from sandlot.console import _print_tags, console

    row = {"episodes": 1, "tasks": 1, "success_rate": 1.0, "success_se": None}
    with console.capture() as captured:
        _print_tags({"[bold red]x[/]": row | {"mean_score": 1.0, "score_se": None}})
    assert "[bold red]x[/]" in captured.get()
