"""The price table: list prices of well-known models (prompt, completion and cached
tokens), found by name and version, overridable from a file, --price-* options and
``model.price``; cached prompt tokens read from the server and billed at their price."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from sandlot.agents.models import Price, Usage
from sandlot.agents.models.openai import OpenAIModel
from sandlot.agents.models.prices import PRICES, load_prices, price_of
from sandlot.agents.running.runner import run
from sandlot.cli import app
from sandlot.environments.loader import load_tasks
from sandlot.errors import UserError
from sandlot.traces.store import TraceStore
from tests.agents.fake_openai import Reply, completion

TASK = """
environment: store
tasks:
  - id: store-price
    instruction: "Say hello."
    checklist:
      - {id: any, description: "Anything", check: {type: max_steps, tool_calls: 5}}
"""


def test_cached_prompt_tokens_cost_the_cached_price():
    price = Price(input=2.0, output=10.0, cached=0.5)
    usage = Usage(prompt_tokens=1_000_000, completion_tokens=100_000, cached_tokens=400_000)
    assert price.cost(usage) == pytest.approx(0.6 * 2.0 + 0.4 * 0.5 + 0.1 * 10.0)
    # no cached price: cached tokens cost the input price
    assert Price(2.0, 10.0).cost(usage) == pytest.approx(2.0 + 1.0)
    assert price.describe()["cached_per_million"] == 0.5
    with pytest.raises(ValueError, match="cached tokens"):
        Price(1.0, 1.0, cached=-1.0)


def test_cached_tokens_are_never_more_than_the_prompt():
    usage, notes = Usage.checked(100, 5, 400)
    assert usage == Usage(100, 5, 100) and notes == []


def test_the_table_prices_well_known_models_and_their_dated_versions():
    assert price_of("gpt-4o-mini") == PRICES["gpt-4o-mini"]
    assert price_of("gpt-4o-mini-2024-07-18") == PRICES["gpt-4o-mini"]  # not gpt-4o's
    assert price_of("openai/gpt-4o") == PRICES["gpt-4o"]
    assert price_of("my-local-model") is None
    assert all(p.cached is not None for p in PRICES.values())


def test_an_openai_model_takes_its_list_price_and_a_user_price_replaces_it(fake_openai):
    model = OpenAIModel("gpt-4o-mini", base_url=fake_openai.base_url)
    assert model.price == PRICES["gpt-4o-mini"]
    assert model.describe()["price"]["cached_per_million"] == PRICES["gpt-4o-mini"].cached
    assert OpenAIModel("fake", base_url=fake_openai.base_url).price is None


def test_a_price_file_adds_and_replaces_entries(tmp_path):
    path = tmp_path / "prices.json"
    path.write_text(json.dumps({"mine": {"input": 1, "output": 2}, "gpt-4o": {"input": 9}}))
    table = load_prices(path)
    assert table["mine"] == Price(1.0, 2.0) and table["gpt-4o"] == Price(9.0, 0.0)
    assert table["gpt-4o-mini"] == PRICES["gpt-4o-mini"]
    toml = tmp_path / "prices.toml"
    toml.write_text("[mine]\ninput = 3\noutput = 4\ncached = 1\n")
    assert load_prices(toml)["mine"] == Price(3.0, 4.0, 1.0)
    path.write_text(json.dumps({"mine": {"inptu": 1}}))
    with pytest.raises(UserError, match="input, output"):
        load_prices(path)
    with pytest.raises(UserError, match="cannot read"):
        load_prices(tmp_path / "missing.json")


async def test_cached_tokens_reported_by_the_server_are_recorded_and_priced(fake_openai, tmp_path):
    usage = {
        "prompt_tokens": 1000,
        "completion_tokens": 10,
        "prompt_tokens_details": {"cached_tokens": 800},
    }
    fake_openai.default = lambda body: Reply(200, completion("hello", usage=usage))
    model = OpenAIModel("gpt-4o-mini", base_url=fake_openai.base_url)
    db = tmp_path / "t.db"
    task = tmp_path / "t.yaml"
    task.write_text(TASK)
    result = await run(load_tasks([task]), model=model, agent="single", db=db, check_model=False)
    price = PRICES["gpt-4o-mini"]
    one = (200 * price.input + 800 * (price.cached or 0) + 10 * price.output) / 1e6
    with TraceStore(db, readonly=True) as store:
        calls = store.events(result.episodes[0].episode_id, kinds=["model_call"])
    assert calls and all(c["payload"]["usage"]["cached_tokens"] == 800 for c in calls)
    assert [c["payload"]["cost_usd"] for c in calls] == pytest.approx([one] * len(calls))


def test_the_cli_prices_models_from_a_price_file(tmp_path):
    script = tmp_path / "script.py"
    script.write_text(
        "from sandlot.agents.models import ScriptedModel\n"
        "MODEL = ScriptedModel([{'tool': 'submit_answer', 'args': {'answer': 'hi'}, "
        "'usage': {'prompt_tokens': 1000000, 'completion_tokens': 0}}], name='house-model')\n"
    )
    prices = tmp_path / "prices.json"
    prices.write_text(json.dumps({"house-model": {"input": 3, "output": 1}}))
    task = tmp_path / "t.yaml"
    task.write_text(TASK)
    db = tmp_path / "t.db"
    out = CliRunner().invoke(
        app,
        [
            "run",
            str(task),
            "--model",
            f"scripted:{script}:MODEL",
            "--agent",
            "single",
            "--prices",
            str(prices),
            "--db",
            str(db),
            "-q",
        ],
    )
    assert out.exit_code == 0, out.output
    with TraceStore(db, readonly=True) as store:
        assert store.episodes()[0]["cost"] == pytest.approx(3.0)
    prices.write_text("{not json")
    out = CliRunner().invoke(app, ["run", str(task), "--prices", str(prices), "--db", str(db)])
    assert out.exit_code == 2 and "--prices" in out.output and "not valid JSON" in out.output
