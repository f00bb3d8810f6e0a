"""The response cache: a rerun with the cache answers from the SQLite file, sends
nothing, records the same replies at no cost; another option or prompt misses; failed
calls are not stored."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from sandlot.agents.models import ModelRequest, Price
from sandlot.agents.models.cache import CachedModel, request_key
from sandlot.agents.models.openai import OpenAIModel
from sandlot.agents.running.runner import run
from sandlot.cli import app
from sandlot.environments.loader import load_tasks
from sandlot.errors import ModelError, UserError
from sandlot.traces.store import TraceStore
from tests.agents.fake_openai import server_error, tool_reply

TASK = """
environment: store
tasks:
  - id: store-cache
    instruction: "Look up order 1004."
    checklist:
      - {id: looked, description: "Looked it up", check: {type: called, tool: get_order}}
    reference:
      calls:
        - {tool: get_order, args: {order_id: 1004}}
      answer: "shipped"
"""


def _replies(body):
    """Look the order up, then answer: decided by the conversation, as a model would."""
    if any(m.get("role") == "tool" for m in body["messages"]):
        return tool_reply({"name": "submit_answer", "arguments": {"answer": "shipped"}})
    return tool_reply({"name": "get_order", "arguments": {"order_id": 1004}})


async def _run(tmp_path, fake_openai, cache):
    model = CachedModel(OpenAIModel("fake", base_url=fake_openai.base_url, temperature=0), cache)
    model.price = Price(input=1.0, output=2.0)
    task = tmp_path / "t.yaml"
    task.write_text(TASK)
    db = tmp_path / "t.db"
    result = await run(load_tasks([task]), model=model, agent="single", db=db, check_model=False)
    with TraceStore(db, readonly=True) as store:
        calls = store.events(result.episodes[0].episode_id, kinds=["model_call"])
    return model, result.episodes[0], [c["payload"] for c in calls]


async def test_a_rerun_is_answered_from_the_cache_identically_and_costs_nothing(
    tmp_path, fake_openai
):
    fake_openai.default = _replies
    cache = tmp_path / "responses.db"
    first_model, first, first_calls = await _run(tmp_path, fake_openai, cache)
    sent = len(fake_openai.requests)
    assert sent == 2 and first_model.misses == 2 and first.cost > 0
    model, again, calls = await _run(tmp_path, fake_openai, cache)
    assert len(fake_openai.requests) == sent  # nothing sent
    assert model.hits == 2 and model.misses == 0
    assert [c["response"] for c in calls] == [c["response"] for c in first_calls]
    assert [c["usage"] for c in calls] == [c["usage"] for c in first_calls]
    assert all(c["cache_hit"] for c in calls) and again.cost == 0.0
    assert again.outcome == first.outcome == "passed"


def test_the_key_follows_the_options_and_the_request_not_the_price(fake_openai):
    base = OpenAIModel("fake", base_url=fake_openai.base_url, temperature=0)
    request = ModelRequest(messages=[{"role": "user", "content": "hi"}])
    key = request_key(base, request)
    priced = OpenAIModel("fake", base_url=fake_openai.base_url, temperature=0, timeout=5)
    priced.price = Price(1.0, 1.0)
    assert request_key(priced, request) == key
    hotter = OpenAIModel("fake", base_url=fake_openai.base_url, temperature=1)
    assert request_key(hotter, request) != key
    other = ModelRequest(messages=[{"role": "user", "content": "hello"}])
    assert request_key(base, other) != key


async def test_a_failed_call_is_not_stored(tmp_path, fake_openai):
    fake_openai.push(server_error(400))
    fake_openai.default = _replies
    model = CachedModel(
        OpenAIModel("fake", base_url=fake_openai.base_url, max_retries=0), tmp_path / "c.db"
    )
    request = ModelRequest(messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(ModelError):
        await model.complete(request)
    assert len(model.cache) == 0
    await model.complete(request)
    await model.complete(request)
    assert (model.hits, model.misses, len(model.cache)) == (1, 2, 1)
    await model.aclose()


def test_a_file_that_is_not_a_cache_is_a_user_error(tmp_path):
    bad = tmp_path / "bad.db"
    bad.write_text("not a database, long enough to be read as a header " * 20)
    with pytest.raises(UserError, match="response cache"):
        CachedModel(OpenAIModel("fake", base_url="http://127.0.0.1:9/v1"), bad)


def test_a_cache_in_a_missing_folder_makes_the_folder(tmp_path):
    path = tmp_path / "new" / "deeper" / "responses.db"
    model = CachedModel(OpenAIModel("fake", base_url="http://127.0.0.1:9/v1"), path)
    assert path.is_file() and len(model.cache) == 0
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    with pytest.raises(UserError, match="cannot make the folder"):
        CachedModel(OpenAIModel("fake", base_url="http://127.0.0.1:9/v1"), blocker / "c.db")


def test_the_cli_cache_option_records_it_in_the_run_config(tmp_path):
    task = tmp_path / "t.yaml"
    task.write_text(TASK)
    db, cache = tmp_path / "t.db", tmp_path / "responses.db"
    args = ["run", str(task), "--db", str(db), "--cache", str(cache), "--agent", "single", "-q"]
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0, out.output
    with TraceStore(db, readonly=True) as store:
        assert store.runs()[0]["config"]["model"]["response_cache"] == str(cache)
        [first] = store.episodes()
        first_calls = store.events(first["id"], kinds=["model_call"])
    assert cache.is_file() and not any(c["payload"].get("cache_hit") for c in first_calls)
    out = CliRunner().invoke(app, args)
    assert out.exit_code == 0, out.output
    with TraceStore(db, readonly=True) as store:
        second = [e for e in store.episodes() if e["id"] != first["id"]][0]
        calls = store.events(second["id"], kinds=["model_call"])
    assert calls and all(c["payload"]["cache_hit"] for c in calls)
    out = CliRunner().invoke(app, [*args[:-1], "--cache", str(tmp_path)])
    assert out.exit_code == 2 and "--cache" in out.output
