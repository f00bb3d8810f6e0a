"""`sandlot tools search` and `sandlot run --retriever`, through typer's CliRunner."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from sandlot.cli import app
from sandlot.traces.store import TraceStore

ROOT = Path(__file__).resolve().parents[1]
TRANSFER = str(ROOT / "examples/tasks/store/transfer.yaml")
CUSTOM = "tests.retrieval.custom:first_letter"


def _invoke(args: list[str]):  # type: ignore[no-untyped-def]
    return CliRunner().invoke(app, args, terminal_width=200)


def test_search_prints_the_ranking_best_first():
    out = _invoke(["tools", "search", "refund an order", "--env", "store", "-k", "3"])
    assert out.exit_code == 0, out.output
    rows = [line for line in out.output.splitlines() if "│" in line]
    assert len(rows) == 3
    first = [cell.strip() for cell in rows[0].split("│")[1:-1]]
    assert first[:2] == ["1", "refund_order"]
    assert float(first[2]) > 0
    assert first[3].startswith("Refund money from an order")


def test_search_says_when_nothing_matched():
    out = _invoke(["tools", "search", "xylophone quux", "--env", "store"])
    assert out.exit_code == 0, out.output
    assert "nothing matched 'xylophone quux'" in out.output
    assert "│" not in out.output  # no table, no padding


def test_search_takes_a_users_retriever_by_import_path():
    out = _invoke(["tools", "search", "refund", "--env", "store", "--retriever", CUSTOM])
    assert out.exit_code == 0, out.output
    assert "first-letter: refund" in out.output
    assert "refund_order" in out.output and "cancel_order" not in out.output


def test_an_unknown_retriever_is_a_usage_error_listing_the_known_ones(tmp_path):
    for args in (
        ["tools", "search", "x", "--retriever", "nope"],
        ["run", TRANSFER, "--retriever", "nope", "--db", str(tmp_path / "t.db")],
    ):
        out = _invoke(args)
        assert out.exit_code == 2, out.output
        assert "unknown retriever 'nope'" in out.output and "bm25" in out.output
        assert "Traceback" not in out.output
    assert not (tmp_path / "t.db").exists()


def test_run_records_the_retriever_it_was_given(tmp_path):
    db = tmp_path / "t.db"
    out = _invoke(["run", TRANSFER, "--retriever", CUSTOM, "--db", str(db), "-q"])
    assert out.exit_code == 0, out.output
    with TraceStore(db) as store:
        (run,) = store.runs()
        assert run["config"]["retriever"] == CUSTOM
        names = {
            e["name"]
            for ep in store.episodes(run["id"])
            for e in store.events(ep["id"], kinds=["retrieval"])
        }
    assert names == {"first-letter"}


def test_a_resumed_run_keeps_its_retriever(tmp_path):
    out = _invoke(["run", "--resume", "--retriever", "bm25", "--db", str(tmp_path / "t.db")])
    assert out.exit_code == 2 and "keeps the retriever it was started with" in out.output


def test_the_retriever_option_has_help():
    for command in (["run"], ["tools", "search"]):
        out = _invoke([*command, "--help"])
        assert "--retriever" in out.output and "module:attribute" in out.output
