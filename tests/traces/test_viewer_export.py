"""Standalone HTML export: one file, nothing fetched, the episode embedded as escaped
JSON that no payload can break out of, a CSP that allows only the inlined code."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest
from typer.testing import CliRunner

from sandlot.cli import app
from sandlot.traces.viewer.export import embed_json, export_episode_html

DATA = re.compile(r'<script type="application/json" id="data">(.*?)</script>', re.S)


def test_embedded_json_cannot_end_its_script_element():
    hostile = {"x": "</script><script>alert(1)</script><!-- & \u2028\u2029"}
    text = embed_json(hostile)
    assert not set("<>&\u2028\u2029") & set(text)
    assert "\\u003c/script\\u003e" in text
    assert json.loads(text) == hostile  # still the same data


def test_export_is_one_file_with_everything_inline(viewer_db, tmp_path):
    html = export_episode_html(viewer_db, "ep-a", tmp_path / "ep.html").read_text()
    assert "<script src" not in html and '<link rel="stylesheet"' not in html
    assert "/static/" not in html
    assert not re.search(r"""(src|href)=["']?(https?:|//|/)""", html)  # nothing to fetch
    assert html.count("<script") == 2  # the data, and the inlined viewer
    assert "<style>" in html and "function windowedList" in html


def test_export_embeds_the_episode_and_every_event(viewer_db, tmp_path):
    html = export_episode_html(viewer_db, "ep-c", tmp_path / "ep.html").read_text()
    data = json.loads(DATA.search(html).group(1))
    assert data["episode"]["id"] == "ep-c" and len(data["events"]) == 18
    assert data["payloads"]["7"]["content"] == "BIG" + "y" * 30_000  # whole, not cut
    assert data["events"][7]["summary"].startswith("get_order(order_id=1002)")
    assert data["steps"]["status"][7] == "failed"


def test_hostile_payloads_appear_only_escaped(viewer_db, tmp_path):
    html = export_episode_html(viewer_db, "ep-a", tmp_path / "ep.html").read_text()
    blob = DATA.search(html).group(1)
    assert "<" not in blob and ">" not in blob
    assert "window.__xss" in blob  # the text is there, as data
    assert "<script>window.__xss" not in html and "onerror=" not in html.replace("onerror=\\", "")


def test_csp_meta_allows_exactly_the_inlined_script_and_style(viewer_db, tmp_path):
    html = export_episode_html(viewer_db, "ep-a", tmp_path / "ep.html").read_text()
    csp = re.search(r'<meta http-equiv="Content-Security-Policy" content="([^"]+)">', html).group(1)
    code = re.search(r"<script>(.*?)</script>", html, re.S).group(1)
    style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)

    def digest(text: str) -> str:
        return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()

    assert f"script-src '{digest(code)}'" in csp and f"style-src '{digest(style)}'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert html.index("Content-Security-Policy") < html.index("<script")


def test_export_title_escapes_the_ids(tmp_path):
    from tests.traces.conftest import TraceBuilder

    t = TraceBuilder(tmp_path / "t.db")
    t.run("r")
    t.episode("r", "e<1>", "</title><script>x()</script>")
    db = t.close()
    html = export_episode_html(db, "e<1>", tmp_path / "e.html").read_text()
    assert "<title>sandlot episode e&lt;1&gt; · &lt;/title&gt;&lt;script&gt;" in html


def test_unknown_episode_is_a_lookup_error(viewer_db, tmp_path):
    with pytest.raises(LookupError, match="no episode 'nope'"):
        export_episode_html(viewer_db, "nope", tmp_path / "x.html")
    assert not (tmp_path / "x.html").exists()


def test_cli_export_writes_the_file_and_reports_errors(viewer_db, tmp_path):
    runner = CliRunner()
    out = tmp_path / "ep.html"
    result = runner.invoke(app, ["export", str(viewer_db), "ep-b", "--html", str(out)])
    assert result.exit_code == 0, result.output
    assert "wrote" in result.output and out.read_text().startswith("<!doctype html>")
    bad = runner.invoke(app, ["export", str(viewer_db), "nope", "--html", str(out)])
    assert bad.exit_code == 2 and "no episode 'nope'" in bad.output


def test_cli_view_refuses_a_file_that_is_not_a_trace(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_text("not sqlite at all " * 100)
    result = CliRunner().invoke(app, ["view", str(junk), "--port", "0"])
    assert result.exit_code == 2 and "not an SQLite trace file" in result.output


def test_a_huge_string_is_kept_to_its_start_in_the_export_and_whole_in_the_trace(
    viewer_db, tmp_path
):
    import sqlite3

    from sandlot.traces.viewer.export import EXPORT_STRING_LIMIT

    big = "<p>" * (EXPORT_STRING_LIMIT // 2)
    conn = sqlite3.connect(viewer_db)
    conn.execute(
        "INSERT INTO events (episode_id, seq, parent, kind, name, payload) "
        "VALUES ('ep-a', 90, 0, 'tool_call', 'dump', ?)",
        (json.dumps({"ok": True, "content": big}),),
    )
    conn.commit()
    conn.close()
    out = export_episode_html(viewer_db, "ep-a", tmp_path / "ep.html")
    data = json.loads(DATA.search(out.read_text()).group(1))
    content = data["payloads"]["90"]["content"]
    assert content.startswith("<p><p>") and len(content) < EXPORT_STRING_LIMIT + 100
    assert f"{len(big) - EXPORT_STRING_LIMIT:,} more characters" in content


# --- tables for analysis: sandlot export DB --format jsonl|csv -----------------------


def _export(db, *args):
    return CliRunner().invoke(app, ["export", str(db), *args])


def test_jsonl_export_of_episodes_is_one_object_per_row(viewer_db, tmp_path):
    out = tmp_path / "eps.jsonl"
    result = _export(viewer_db, "--format", "jsonl", "--out", str(out))
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r["id"] for r in rows] == ["ep-a", "ep-b", "ep-c", "ep-r"]
    assert rows[0]["task_id"] == "store-orders-001" and rows[0]["score"] == 1.0
    only = _export(viewer_db, "--format", "jsonl", "--run", "run-2")
    assert [json.loads(line)["id"] for line in only.stdout.splitlines()] == ["ep-r"]


def test_jsonl_export_of_checks_and_events_decodes_the_json_columns(viewer_db):
    checks = _export(viewer_db, "--format", "jsonl", "--table", "checks", "--run", "run-1")
    rows = [json.loads(line) for line in checks.stdout.splitlines()]
    assert [(r["episode_id"], r["item_id"]) for r in rows] == [
        ("ep-a", "cancelled"),
        ("ep-a", "answer-says"),
        ("ep-b", "cancelled"),
        ("ep-c", "refunded"),
    ]
    assert rows[2]["evidence"] == {"rows": [["shipped"]]} and rows[2]["run_id"] == "run-1"
    events = _export(viewer_db, "--format", "jsonl", "--table", "events", "--run", "run-1")
    rows = [json.loads(line) for line in events.stdout.splitlines()]
    ep_c = [r for r in rows if r["episode_id"] == "ep-c"]
    assert len(ep_c) == 18 and [r["seq"] for r in ep_c] == list(range(18))
    assert ep_c[7]["payload"]["content"] == "BIG" + "y" * 30_000


def test_csv_export_has_a_header_and_json_encoded_payload_columns(viewer_db, tmp_path):
    import csv

    for table, first in (("episodes", "id"), ("checks", "run_id"), ("events", "run_id")):
        out = tmp_path / f"{table}.csv"
        result = _export(viewer_db, "--format", "csv", "--table", table, "--out", str(out))
        assert result.exit_code == 0, result.output
        with out.open(newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        assert next(iter(rows[0])) == first and rows
    with (tmp_path / "checks.csv").open(newline="", encoding="utf-8") as f:
        checks = list(csv.DictReader(f))
    assert json.loads(checks[2]["evidence"]) == {"rows": [["shipped"]]}
    assert checks[3]["passed"] == "" and checks[3]["skipped_reason"]
    with (tmp_path / "events.csv").open(newline="", encoding="utf-8") as f:
        events = [r for r in csv.DictReader(f) if r["episode_id"] == "ep-c"]
    assert json.loads(events[7]["payload"])["content"] == "BIG" + "y" * 30_000


def test_csv_export_of_an_empty_run_is_just_the_header(viewer_db, tmp_path):
    from tests.traces.conftest import TraceBuilder

    t = TraceBuilder(tmp_path / "empty.db")
    t.run("r")
    db = t.close()
    result = _export(db, "--format", "csv", "--table", "checks")
    assert result.exit_code == 0 and result.stdout.splitlines()[0].startswith("run_id,episode_id")


def test_table_export_redacts_known_secrets(viewer_db, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-shipped-secret-value-1234")
    import sqlite3

    conn = sqlite3.connect(viewer_db)
    conn.execute("UPDATE episodes SET answer = 'key sk-shipped-secret-value-1234' WHERE id='ep-a'")
    conn.commit()
    conn.close()
    for fmt in ("jsonl", "csv"):
        result = _export(viewer_db, "--format", fmt)
        assert result.exit_code == 0
        assert "sk-shipped-secret-value-1234" not in result.stdout


def test_table_export_usage_errors(viewer_db, tmp_path):
    bad = _export(viewer_db, "--format", "xml")
    assert bad.exit_code == 2 and "'xml' is not one of jsonl, csv" in bad.output
    bad = _export(viewer_db, "--format", "csv", "--table", "runs")
    assert bad.exit_code == 2 and "--table" in bad.output
    bad = _export(viewer_db, "--format", "csv", "--run", "nope")
    assert bad.exit_code == 2 and "no run 'nope'" in bad.output
    bad = _export(viewer_db, "ep-a", "--format", "csv")
    assert bad.exit_code == 2 and "leave out the episode" in bad.output
    bad = _export(viewer_db, "ep-a")
    assert bad.exit_code == 2 and "--html" in bad.output
    missing = _export(tmp_path / "none.db", "--format", "jsonl")
    assert missing.exit_code == 2 and "no trace file" in missing.output
    junk = tmp_path / "junk.db"
    junk.write_text("not sqlite at all " * 100)
    result = _export(junk, "--format", "jsonl")
    assert result.exit_code == 2 and "not an SQLite trace file" in result.output


def test_an_export_loads_into_pandas(viewer_db, tmp_path):
    pd = pytest.importorskip("pandas")
    _export(viewer_db, "--format", "jsonl", "--out", str(tmp_path / "e.jsonl"))
    _export(viewer_db, "--format", "csv", "--out", str(tmp_path / "e.csv"))
    assert list(pd.read_json(tmp_path / "e.jsonl", lines=True)["id"]) == list(
        pd.read_csv(tmp_path / "e.csv")["id"]
    )
