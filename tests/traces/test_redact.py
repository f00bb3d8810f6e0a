"""Secrets never reach the trace file: known values anywhere, and secret-named keys."""

from __future__ import annotations

import json

import pytest

from sandlot.traces import Redactor, TraceStore
from sandlot.traces.redact import REDACTED, is_secret_key, secrets_from_environment

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
