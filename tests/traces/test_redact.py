"""Secrets never reach the trace file: known values anywhere, and secret-named keys."""

from __future__ import annotations

import base64
import json
import re

import pytest

from sandlot.traces import Redactor, TraceStore
from sandlot.traces.redact import (
    REDACTED,
    hide_url_credentials,
    is_secret_key,
    secrets_from_environment,
)
from sandlot.traces.viewer.export import export_episode_html
from tests.traces.conftest import TraceBuilder

DATA = re.compile(r'<script type="application/json" id="data">(.*?)</script>', re.S)

KEY = "sk-live-abcdefghijklmnop0123456789"


def file_bytes(directory) -> bytes:
    """Every byte of the database and its -wal / -shm files."""
    return b"".join(p.read_bytes() for p in sorted(directory.iterdir()) if p.is_file())


def test_an_api_key_given_to_the_store_never_appears_in_the_file(tmp_path):
    path = tmp_path / "t.db"
    with TraceStore(path, secrets=[KEY]) as store:
        run_id = store.start_run(
            model="m", agent="a", config={"base_url": f"https://x/v1?key={KEY}", "model": "m"}
        )
        rec = store.start_episode(run_id, "t")
        rec.event(
            "model_call",
            "execute",
            {
                "messages": [{"role": "user", "content": f"my key is {KEY}"}],
                "response": {"content": KEY, "tool_calls": []},
                "usage": {"prompt_tokens": 12, "completion_tokens": 3},
            },
        )
        store.add_checks(
            rec.episode_id, [{"item_id": "a", "passed": False, "evidence": {"seen": KEY}}]
        )
        store.finish_episode(
            rec.episode_id, outcome="error", error=f"401 Unauthorized for key {KEY}", answer=KEY
        )
        store.flush()
        call = store.events(rec.episode_id)[0]["payload"]
        assert call["usage"] == {"prompt_tokens": 12, "completion_tokens": 3}  # counters are kept
        assert store.episode(rec.episode_id)["error"] == f"401 Unauthorized for key {REDACTED}"
    data = file_bytes(tmp_path)
    assert KEY.encode() not in data
    assert REDACTED.encode() in data


def test_environment_keys_and_secret_named_fields_are_redacted_in_payloads_and_config(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("MY_SERVICE_TOKEN", "tok-0000-1111-2222")
    with TraceStore(tmp_path / "t.db") as store:
        run_id = store.start_run(
            model="m",
            agent="a",
            config={
                "api_key": "config-secret-value-1",
                "judge": {"Authorization": "Bearer abcdefghijk"},
            },
        )
        rec = store.start_episode(run_id, "t")
        rec.event(
            "tool_call",
            "login",
            {
                "arguments": {"user": "ann", "password": "hunter2hunter2"},
                "note": "tok-0000-1111-2222",
            },
        )
        rec.event(
            "model_call", "x", {"headers": {"X-Api-Key": "header-secret-99"}, "max_tokens": 50}
        )
        store.flush()
        first, second = (e["payload"] for e in store.events(rec.episode_id))
        assert first == {"arguments": {"user": "ann", "password": REDACTED}, "note": REDACTED}
        assert second == {"headers": {"X-Api-Key": REDACTED}, "max_tokens": 50}
        assert store.run(run_id)["config"] == {
            "api_key": REDACTED,
            "judge": {"Authorization": REDACTED},
        }
    data = file_bytes(tmp_path)
    for secret in (
        KEY,
        "tok-0000-1111-2222",
        "config-secret-value-1",
        "abcdefghijk",
        "hunter2hunter2",
        "header-secret-99",
    ):
        assert secret.encode() not in data, secret


def test_a_secret_added_later_is_redacted_from_then_on(tmp_path):
    with TraceStore(tmp_path / "t.db") as store:
        rec = store.start_episode(store.start_run(model="m", agent="a", config={}), "t")
        store.add_secret("late-secret-12345")
        rec.event("error", "E", {"message": "late-secret-12345 leaked"})
        assert store.events(rec.episode_id)[0]["payload"] == {"message": f"{REDACTED} leaked"}


@pytest.mark.parametrize(
    "key",
    [
        "api_key",
        "apiKey",
        "X-API-KEY",
        "Authorization",
        "password",
        "db_passwd",
        "client_secret",
        "access_token",
        "token",
        "credentials",
        "secret_key",
    ],
)
def test_secret_named_keys(key):
    assert is_secret_key(key)


@pytest.mark.parametrize(
    "key",
    [
        "prompt_tokens",
        "completion_tokens",
        "max_tokens",
        "tokens",
        "token_count",
        "keyword",
        "monkey",
        "secretary",
        "author",
        3,
    ],
)
def test_ordinary_keys_are_not_secret_named(key):
    assert not is_secret_key(key)


def test_every_secret_named_key_passes_the_fast_prefilter():
    redactor = Redactor(from_environment=False)
    for key in [
        "api_key",
        "apiKey",
        "X-API-KEY",
        "Authorization",
        "PASSWORD",
        "passwd",
        "secret",
        "Token",
        "credential",
        "credentials",
    ]:
        assert json.loads(redactor.json({key: "value-1"})) == {key: REDACTED}, key


def test_short_values_are_not_treated_as_secrets():
    redactor = Redactor(["abc", "", None], from_environment=False)  # type: ignore[list-item]
    assert redactor.secrets == ()
    assert redactor.text("abc is fine") == "abc is fine"


def test_secrets_are_found_in_their_json_escaped_form():
    secret = 'pa"ss\\word-1234'
    redactor = Redactor([secret], from_environment=False)
    assert secret not in json.loads(redactor.json({"note": f"x {secret} y"}))["note"]
    assert redactor.json({"note": secret}) == '{"note":"[REDACTED]"}'


def test_a_secret_containing_another_leaves_no_fragment():
    redactor = Redactor(["abcdefgh", "abcdefgh-ijklmnop"], from_environment=False)
    assert redactor.text("k=abcdefgh-ijklmnop") == f"k={REDACTED}"


def test_environment_variables_that_hold_keys_are_picked_up():
    env = {
        "OPENAI_API_KEY": "sk-aaaaaaaaaa",
        "GH_TOKEN": "ghp-bbbbbbbb",
        "DB_SECRET": "cccccccccc",
        "HOME": "/root/dddddddd",
        "X_TOKEN": "short",
    }
    assert sorted(secrets_from_environment(env)) == ["cccccccccc", "ghp-bbbbbbbb", "sk-aaaaaaaaaa"]


def test_secret_named_keys_inside_json_held_in_a_string_are_redacted():
    redactor = Redactor(from_environment=False)
    raw = json.dumps({"username": "bob", "password": "hunter2-PLAINTEXT"})
    out = redactor.json(
        {
            "arguments_raw": raw,
            "response": {"tool_calls": [{"arguments": raw}]},
            "note": "{not json, left alone}",
        }
    )
    assert "hunter2" not in out
    stored = json.loads(out)
    assert json.loads(stored["arguments_raw"]) == {"username": "bob", "password": "[REDACTED]"}
    assert stored["note"] == "{not json, left alone}"


def test_a_payload_json_cannot_encode_keeps_its_shape_and_its_redaction():
    cyclic: dict = {"api_key": "sk-unknown-CYCLE-SECRET", "note": "\ud83d"}
    cyclic["self"] = cyclic
    out = Redactor(from_environment=False).json(cyclic)
    assert "CYCLE-SECRET" not in out
    # a lone surrogate cannot be stored as UTF-8: it is cleaned on write
    assert json.loads(out) == {"api_key": "[REDACTED]", "note": "\ufffd", "self": "<cycle>"}


def test_a_secret_of_digits_never_breaks_the_stored_json():
    redactor = Redactor(["20240101"], from_environment=False)
    out = redactor.json({"order_id": 2024010177, "pin": "my pin is 20240101"})
    assert json.loads(out) == {"order_id": 2024010177, "pin": "my pin is [REDACTED]"}


def test_a_secret_in_a_percent_encoded_url_is_redacted():
    redactor = Redactor(["p@ss:w0rd/2024!"], from_environment=False)
    out = redactor.json(
        {"error": "cannot connect to postgresql://app:p%40ss%3Aw0rd%2F2024%21@db/x"}
    )
    assert "w0rd" not in out and "[REDACTED]@db" in out


def test_redacting_keeps_integers_beyond_64_bits_exact():
    out = Redactor(from_environment=False).json({"n": 2**70, "token": "abcdefghijkl"})
    assert json.loads(out) == {"n": 2**70, "token": REDACTED}


# --- names, escapes, encodings --------------------------------------------------------


def _base64_core(secret: str, offset: int) -> str:
    """What base64 text holds of ``secret`` wherever it starts ``offset`` bytes after a
    multiple of 3."""
    data = base64.b64encode(b"\0" * offset + secret.encode()).decode()
    return data[-(-8 * offset // 6) : 8 * (offset + len(secret.encode())) // 6]


def _giveaways(secret: str) -> dict[str, str]:
    return {
        "as is": secret,
        "upper-cased": secret.upper(),
        "lower-cased": secret.lower(),
        "reversed": secret[::-1],
        **{f"base64 +{k}": _base64_core(secret, k) for k in range(3)},
    }


def _unescaped(data: bytes) -> str:
    """The file's text with every \\uXXXX escape (single or with its backslash escaped)
    written as its character."""
    text = data.decode("utf-8", "replace")
    return re.sub(r"\\{1,2}u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)


def _found(data: bytes, secret: str) -> list[str]:
    text = data.decode("utf-8", "replace")
    return [form for form, value in _giveaways(secret).items() if value in text] + (
        ["\\u-escaped"] if secret in _unescaped(data) else []
    )


def test_a_tool_call_named_with_a_key_is_stored_with_its_name_redacted(tmp_path):
    with TraceStore(tmp_path / "t.db", secrets=[KEY]) as store:
        rec = store.start_episode(store.start_run(model="m", agent="a", config={}), "t")
        rec.event("tool_call", KEY, {"call_id": "c1", "ok": False, "error_kind": "unknown_tool"})
        rec.event("tool_call", f"get_{KEY.upper()}", {"call_id": "c2"})
        names = [e["name"] for e in store.events(rec.episode_id)]
    assert names == [REDACTED, f"get_{REDACTED}"]
    assert _found(file_bytes(tmp_path), KEY) == []


def test_the_runs_and_episodes_text_columns_are_redacted(tmp_path):
    with TraceStore(tmp_path / "t.db", secrets=[KEY]) as store:
        run_id = store.start_run(model=f"openai:{KEY}", agent=f"agent-{KEY}", config={})
        rec = store.start_episode(run_id, f"task-{KEY}", model=KEY, environment=KEY[::-1])
        store.add_checks(rec.episode_id, [{"item_id": KEY, "kind": KEY, "passed": True}])
        store.flush()
        assert store.run(run_id)["model"] == f"openai:{REDACTED}"
        assert store.episode(rec.episode_id)["task_id"] == f"task-{REDACTED}"
    assert _found(file_bytes(tmp_path), KEY) == []


def _escape_every_other(text: str, *, upper: bool = False) -> str:
    """``text`` as JSON source with every other character written as a \\u escape."""
    code = "\\u{:04X}" if upper else "\\u{:04x}"
    return "".join(code.format(ord(c)) if i % 2 == 0 else c for i, c in enumerate(text))


@pytest.mark.parametrize(
    "raw",
    [
        '{"note": "' + _escape_every_other(KEY) + '"}',  # JSON as the model sent it
        '{"note": "' + _escape_every_other(KEY, upper=True) + '", "n": 1',  # cut short
        '{"url": "https:\\/\\/x\\/' + _escape_every_other(KEY) + '\\/v1"}',
        "".join(f"\\u{ord(c):04x}" for c in KEY),  # every character, as plain text
    ],
    ids=["valid JSON", "cut-short JSON", "escaped slashes", "all escaped"],
)
def test_a_key_written_with_json_escapes_in_raw_arguments_is_redacted(tmp_path, raw):
    assert json.loads('"' + raw.replace('"', '\\"') + '"')  # the raw text is storable as is
    with TraceStore(tmp_path / "t.db", secrets=[KEY]) as store:
        rec = store.start_episode(store.start_run(model="m", agent="a", config={}), "t")
        rec.event("tool_call", "add_note", {"arguments_raw": raw, "arguments": None})
        store.finish_episode(rec.episode_id, outcome="error", error=f"bad arguments: {raw}")
        store.flush()
        stored = store.events(rec.episode_id)[0]["payload"]["arguments_raw"]
    assert REDACTED in stored
    assert _found(file_bytes(tmp_path), KEY) == []


@pytest.mark.parametrize("form", list(_giveaways(KEY)))
def test_base64_reversed_and_case_changed_forms_of_a_key_are_redacted(tmp_path, form):
    value = _giveaways(KEY)[form]
    basic = base64.b64encode(f"user:{KEY}".encode()).decode()  # the key at offset 2
    with TraceStore(tmp_path / "t.db", secrets=[KEY]) as store:
        rec = store.start_episode(store.start_run(model="m", agent="a", config={}), "t")
        rec.event(
            "tool_call",
            "fetch",
            {"content": f"got {value}!", "headers": {"X": f"Basic {basic}"}, "n": 2**70},
        )
        store.finish_episode(rec.episode_id, outcome="error", answer=f"it is {value}")
        store.flush()
        payload = store.events(rec.episode_id)[0]["payload"]
        assert payload["n"] == 2**70  # big integers stay exact
        assert REDACTED in payload["content"] and REDACTED in payload["headers"]["X"]
        assert store.episode(rec.episode_id)["answer"].startswith(f"it is {REDACTED}")
    assert _found(file_bytes(tmp_path), KEY) == []


def test_a_secret_found_in_any_case_or_encoding_leaves_ordinary_text_alone():
    redactor = Redactor([KEY], from_environment=False)
    ordinary = {"text": "sk-live is a prefix; abcdefgh alone is fine", "n": [1, 2, 3]}
    assert json.loads(redactor.json(ordinary)) == ordinary
    assert redactor.text("Bearer " + base64.b64encode(KEY.encode()).decode()).startswith(
        f"Bearer {REDACTED}"
    )


def test_url_credentials_are_hidden_and_returned_as_secrets():
    shown, found = hide_url_credentials("http://ann:p%40ss-w0rd@host:8000/v1?x=1")
    assert shown == f"http://{REDACTED}:{REDACTED}@host:8000/v1?x=1"
    assert found == ["p%40ss-w0rd", "p@ss-w0rd"]
    assert hide_url_credentials("https://ghp_tokenvalue123@github.com/x") == (
        f"https://{REDACTED}@github.com/x",
        ["ghp_tokenvalue123"],
    )
    assert hide_url_credentials("http://localhost:8000/v1") == ("http://localhost:8000/v1", [])


# --- the export ----------------------------------------------------------------------


def test_an_export_holds_no_key_even_from_a_trace_written_raw(tmp_path, monkeypatch):
    """A trace written before a form was covered (or by other code) holds the key: the
    export redacts it again with the environment's keys and the secrets given."""
    builder = TraceBuilder(tmp_path / "raw.db")
    builder.run("r1", config=json.dumps({"note": KEY}))
    builder.episode("r1", "ep1", f"task-{KEY}", error=f"HTTP 401: Bearer {KEY}")
    builder.event("ep1", "episode", "t", {"instruction": f"use {KEY.upper()}"})
    builder.event("ep1", "tool_call", KEY, {"arguments_raw": _escape_every_other(KEY)})
    builder.event("ep1", "model_call", "execute", {"response": {"content": KEY[::-1]}})
    builder.close()
    for secrets, env in (([], {"OPENAI_API_KEY": KEY}), ([KEY], {})):
        monkeypatch.delenv("OPENAI_API_KEY", raising=False)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        out = export_episode_html(tmp_path / "raw.db", "ep1", tmp_path / "ep.html", secrets=secrets)
        html = out.read_bytes()
        assert _found(html, KEY) == []
        data = json.loads(DATA.search(html.decode()).group(1))
        assert data["episode"]["error"] == f"HTTP 401: Bearer {REDACTED}"
        assert [e["name"] for e in data["events"]][1] == REDACTED
