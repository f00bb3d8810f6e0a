"""Bad values never lose a result: text that cannot be encoded as UTF-8 (a lone
surrogate), integers beyond 64 bits and JSON nested past the decoders are cleaned or
cut on write, and the episode row is finished, the viewer answers and the export is
written whatever a payload holds."""

from __future__ import annotations

import json
import re
import urllib.request
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from sandlot import run
from sandlot.agents.models import ScriptedModel
from sandlot.cli import app
from sandlot.traces.query import TraceReader
from sandlot.traces.redact import TOO_DEEP, Redactor, dumps, loads
from sandlot.traces.store import TraceStore
from sandlot.traces.viewer.api import ViewerAPI
from sandlot.traces.viewer.server import ViewerServer
from sandlot.traces.viewer.summaries import TOO_DEEP as SHOWN_TOO_DEEP
from tests.agents.conftest import notes_task
from tests.traces.conftest import TraceBuilder, in_a_thread

__all__ = ["assert_trace_opens", "deep_list", "only_episode"]

DATA = re.compile(r'<script type="application/json" id="data">(.*?)</script>', re.S)
DEEP_TEXT = "[" * 50_000 + "]" * 50_000  # json.loads: RecursionError; orjson: too deep
HALF_EMOJI = "\ud83d"  # the first half of a surrogate pair: no UTF-8 writer takes it


def deep_list(levels: int) -> list[Any]:
    """``[[[...]]]``: ``levels`` lists, one inside the other."""
    value: list[Any] = []
    for _ in range(levels - 1):
        value = [value]
    return value


def _levels(value: Any) -> tuple[int, Any]:
    """How many lists nest in ``value`` (down their first items), and the leaf."""
    levels = 0
    while isinstance(value, list) and value:
        levels += 1
        value = value[0]
    return levels, value


def only_episode(db: Path) -> dict[str, Any]:
    """The one episode row of trace ``db``."""
    with TraceReader(db) as reader:
        [episode] = reader.episodes()
    return episode


def _get(base: str, path: str) -> Any:
    with urllib.request.urlopen(base + path) as response:  # raises on any non-2xx answer
        assert response.status == 200
        return json.loads(response.read().decode("utf-8"))  # strict UTF-8: no surrogates


def assert_trace_opens(db: Path, episode_id: str, tmp_path: Path) -> dict[str, Any]:
    """The viewer answers every endpoint for the episode and `sandlot export` writes it.

    Returns:
        The data embedded in the export (``episode``, ``events``, ``payloads``, ``steps``).
    """
    with ViewerServer(db, port=0) as server:
        base = server.url + "api/"
        runs = _get(base, "runs")
        assert runs and all(isinstance(r["id"], str) for r in runs)
        episode = _get(base, f"episodes/{episode_id}")
        assert episode["id"] == episode_id
        events = _get(base, f"episodes/{episode_id}/events?limit=1000")
        assert events["total"] == episode["n_events"] > 0
        for row in events["rows"]:
            for query in ("", "?full=1"):
                event = _get(base, f"episodes/{episode_id}/events/{row['seq']}{query}")
                assert event["seq"] == row["seq"] and event["kind"] == row["kind"]
        assert _get(base, f"episodes/{episode_id}/children")["total"] >= 1
        assert len(_get(base, f"episodes/{episode_id}/steps")["seq"]) >= 1
        assert _get(base, f"compare/{episode_id}/{episode_id}")["first_difference"] is None
    out = tmp_path / f"{episode_id}.html"
    result = CliRunner().invoke(app, ["export", str(db), episode_id, "--html", str(out)])
    assert result.exit_code == 0, result.output
    data = json.loads(DATA.search(out.read_text(encoding="utf-8")).group(1))
    assert data["episode"]["id"] == episode_id
    assert len(data["events"]) == events["total"]
    return data


# --- end to end: an episode whose model sends the bad value ------------------------------


def test_a_lone_surrogate_in_an_answer_is_cleaned_and_the_row_finished(tmp_path):
    # The arguments are valid JSON text (an escaped half emoji): only decoding them makes
    # the lone surrogate, so it reaches the store's answer column whatever the model does.
    db = tmp_path / "t.db"
    submit = {"tool": "submit_answer", "arguments": '{"answer": "1 note \\ud83d"}'}
    in_a_thread(run([notes_task()], model=ScriptedModel([submit], plan=["answer"]), db=db))
    episode = only_episode(db)
    assert episode["status"] == "done" and episode["ended"] is not None
    assert episode["answer"] == "1 note \ufffd"
    data = assert_trace_opens(db, episode["id"], tmp_path)
    assert data["episode"]["answer"] == "1 note \ufffd"


def test_token_totals_beyond_64_bits_are_clamped_and_the_row_finished(tmp_path):
    # Each count is valid (below 2**63); their sum is not, and SQLite's INTEGER would
    # refuse it: the store clamps, so the row is still finished.
    db = tmp_path / "t.db"
    most = 2**63 - 1
    script = [
        {"tool": "add_note", "args": {"text": "buy milk"}, "usage": {"prompt_tokens": most}},
        {"content": "There is 1 note.", "usage": {"prompt_tokens": most}},
    ]
    in_a_thread(run([notes_task()], model=ScriptedModel(script, plan=["add it"]), db=db))
    episode = only_episode(db)
    assert episode["status"] == "done" and episode["ended"] is not None
    assert episode["prompt_tokens"] == most and episode["tokens"] == most
    assert_trace_opens(db, episode["id"], tmp_path)


# --- the store and the redactor -----------------------------------------------------------


def test_text_and_json_are_cleaned_of_lone_surrogates():
    redactor = Redactor(["secret-value-123"], from_environment=False)
    assert redactor.text(f"half {HALF_EMOJI} emoji") == "half \ufffd emoji"
    assert redactor.text(f"secret-value-123{HALF_EMOJI}") == "[REDACTED]\ufffd"
    out = redactor.json({f"key{HALF_EMOJI}": f"x{HALF_EMOJI}", "pair": "\ud83d\ude00", "n": 2**70})
    out.encode("utf-8")  # what SQLite needs; raised UnicodeEncodeError before
    assert json.loads(out) == {"key\ufffd": "x\ufffd", "pair": "\U0001f600", "n": 2**70}


def test_counts_beyond_64_bits_are_clamped_not_a_lost_row(tmp_path):
    with TraceStore(tmp_path / "t.db") as store:
        run_id = store.start_run(model="m", agent="a", config={})
        rec = store.start_episode(run_id, "task-1")
        store.update_episode(rec.episode_id, prompt_tokens=2**70, completion_tokens=-(2**70))
        store.update_episode(rec.episode_id, answer=f"done {HALF_EMOJI}")
        store.flush()  # raised WriterError: "Python int too large to convert to SQLite INTEGER"
        row = store.episode(rec.episode_id)
    assert (row["prompt_tokens"], row["completion_tokens"]) == (2**63 - 1, -(2**63))
    assert row["answer"] == "done \ufffd"


def test_payloads_nested_past_every_decoder_are_cut_never_an_error():
    redactor = Redactor(from_environment=False)
    deep = deep_list(50_000)
    stored = json.loads(redactor.json({"ok": False, "value": deep}))
    assert stored["ok"] is False  # the rest of the payload is whole
    assert _levels(stored["value"]) == (99, TOO_DEEP)  # 100 levels with the payload's own
    # with a secret-named key, the walk that hides it survives the depth too
    stored = json.loads(redactor.json({"value": deep, "api_key": "sk-0123456789"}))
    assert stored["api_key"] == "[REDACTED]" and "sk-0123456789" not in json.dumps(stored)
    assert json.loads(dumps(deep_list(300)))  # orjson refuses > 254 levels: no exception


def test_a_json_string_too_deep_to_walk_is_hidden_only_when_it_may_hold_a_secret():
    redactor = Redactor(from_environment=False)
    plain = json.loads(redactor.json({"arguments_raw": DEEP_TEXT}))
    assert plain["arguments_raw"] == DEEP_TEXT  # no secret-named key in it: kept whole
    hidden = json.loads(
        redactor.json({"arguments_raw": '{"password": "hunter22", "x": ' + DEEP_TEXT + "}"})
    )
    assert hidden["arguments_raw"] == "[REDACTED: JSON nested too deeply to check for secrets]"


def test_stored_json_that_no_decoder_reads_comes_back_described():
    undecodable = loads(DEEP_TEXT)
    assert undecodable["undecodable"].startswith("[[[") and "recursion" in undecodable["error"]
    # what an older sandlot wrote for a half emoji: a valid \\ud83d escape
    assert loads('{"note": "half \\ud83d"}') == {"note": "half \ufffd"}


# --- the viewer and the export over whatever a trace file holds ---------------------------


def _hostile_trace(path: Path) -> Path:
    """A trace as another writer (or an older sandlot) may have left it: escaped lone
    surrogates, JSON 1,000 levels deep (orjson reads it, Python's recursion does not
    reach it), JSON 50,000 levels deep (no decoder reads it), token totals near 2**63."""
    t = TraceBuilder(path)
    t.run("run-1")
    most = 2**63 - 1
    t.episode("run-1", "ep-1", "task-1", tokens=most, answer="half \ufffd")
    t.episode("run-1", "ep-2", "task-1", tokens=most)
    root = t.event("ep-1", "episode", "task-1", '{"task_id": "task-1", "instruction": "x \\ud83d"}')
    deep = "[" * 1_000 + "]" * 1_000
    t.event(
        "ep-1",
        "model_call",
        "execute",
        '{"purpose": "execute", "response": {"content": "half \\ud83d", "tool_calls": '
        '[{"id": "c1", "name": "add_note", "arguments": "' + "[" * 5_000 + "]" * 5_000 + '"}]}, '
        '"usage": {"prompt_tokens": 18446744073709551616, "completion_tokens": 1}}',
        parent=root,
    )
    t.event(
        "ep-1",
        "tool_call",
        "add_note",
        '{"call_id": "c1", "arguments": ' + deep + ', "ok": false, "content": "refused"}',
        parent=root,
    )
    t.event("ep-1", "tool_call", "add_note", DEEP_TEXT, parent=root)
    t.event("ep-1", "answer", "answer", '{"answer": "half \\ud83d", "x": "\\udc00"}', parent=root)
    t.check("ep-1", "deep", False, json.loads("[" * 900 + "]" * 900))
    return t.close()


def test_the_viewer_and_the_export_open_a_trace_of_bad_values(tmp_path):
    db = _hostile_trace(tmp_path / "hostile.db")
    data = assert_trace_opens(db, "ep-1", tmp_path)
    payloads = data["payloads"]
    assert payloads["1"]["response"]["content"] == "half \ufffd"
    assert payloads["3"] == DEEP_TEXT  # no decoder reads it: shown as its text
    assert payloads["2"]["content"] == "refused"
    assert _levels(payloads["2"]["arguments"]) == (99, SHOWN_TOO_DEEP)
    assert payloads["4"] == {"answer": "half \ufffd", "x": "\ufffd"}
    api = ViewerAPI(db)
    try:
        [run_row] = api.runs()
        assert run_row["tokens"] == 2**63 - 1  # SQLite's sum() failed: "integer overflow"
        event = api.event("ep-1", 2, full=True)
        assert event["cut"] == 0 and event["status"] == "error"
        summaries = [r["summary"] for r in api.events("ep-1")["rows"]]
        assert summaries[1].startswith("execute: → add_note(")
    finally:
        api.close()


def test_redacting_escaped_and_encoded_forms_never_breaks_the_stored_json():
    """Secrets found in their \\u-escaped, reversed, base64 and other-case forms are
    replaced in the encoded text; whatever backslashes, quotes and control characters
    surround them, the stored JSON stays valid, holds no form of the secret, and big
    integers stay exact."""
    import base64
    import random

    secret = 'pa"ss\x1bw0rd-99/key'
    redactor = Redactor([secret], from_environment=False)
    escaped = "".join(f"\\u{ord(c):04x}" if i % 2 else c for i, c in enumerate(secret))
    pieces = [
        secret,
        secret.upper(),
        secret[::-1],
        escaped,
        escaped.upper(),
        base64.b64encode(secret.encode()).decode(),
        "\\",
        "\\\\",
        '"',
        "\\u",
        "\x1b",
        "\ud83d",
        "x",
        "9",
    ]
    core = base64.b64encode(secret.encode()).decode()[: len(secret) * 4 // 3]
    giveaways = [secret.lower(), secret[::-1].lower(), core.lower()]
    rng = random.Random(7)
    for _ in range(300):
        value = {
            "".join(rng.choices(pieces, k=3)): "".join(rng.choices(pieces, k=rng.randint(1, 8))),
            "raw": json.dumps({"s": "".join(rng.choices(pieces, k=4))})[: rng.randint(1, 60)],
            "n": 2**70,
        }
        out = redactor.json(value)
        decoded = json.loads(out)  # valid JSON, whatever was replaced
        assert decoded["n"] == 2**70
        for text in [*decoded, *decoded.values()]:
            seen = re.sub(
                r"\\+(?:u([0-9a-fA-F]{4})|/)",
                lambda m: chr(int(m.group(1), 16)) if m.group(1) else "/",
                str(text),
            ).lower()
            for form in giveaways:
                assert form not in seen, (value, out)
