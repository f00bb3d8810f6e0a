"""make_model: every spec form, and clear errors for bad ones."""

from __future__ import annotations

import json
import sqlite3

import pytest

import sandlot.agents.models as models
from sandlot.agents.models import (
    MODEL_SPECS,
    ModelRequest,
    NullModel,
    OpenAIModel,
    OracleModel,
    ReplayModel,
    ScriptedModel,
    make_model,
)
from sandlot.traces.schema import SCHEMA_SQL

# Used by the "scripted:package.module:attr" tests below.
SCRIPTED = ScriptedModel(["from a module"], name="module-model")


def respond(request: ModelRequest) -> str:
    return f"function saw {request.purpose}"


def test_oracle():
    assert isinstance(make_model("oracle"), OracleModel)


def test_null_takes_no_options_and_is_listed():
    assert isinstance(make_model("null"), NullModel)
    assert "null" in MODEL_SPECS
    with pytest.raises(ValueError, match="takes no options"):
        make_model("null", api_key="k")
    with pytest.raises(ValueError, match="unknown kind 'null'"):
        make_model("null:x")


def test_openai_with_a_name_and_options(fake_openai):
    model = make_model("openai:gpt-test", base_url=fake_openai.base_url, api_key="k", max_retries=1)
    assert isinstance(model, OpenAIModel)
    assert model.name == "gpt-test" and model.max_retries == 1


def test_openai_without_a_name_takes_it_from_the_environment(monkeypatch, fake_openai):
    monkeypatch.setenv("SANDLOT_MODEL", "env-model")
    model = make_model("openai", base_url=fake_openai.base_url)
    assert model.name == "env-model"


async def test_scripted_from_a_module_attribute_and_a_function():
    model = make_model("scripted:tests.agents.test_models_registry:SCRIPTED")
    assert model is SCRIPTED
    wrapped = make_model("scripted:tests.agents.test_models_registry:respond")
    assert isinstance(wrapped, ScriptedModel)
    assert (await wrapped.complete(ModelRequest(messages=[], purpose="plan"))).content == (
        "function saw plan"
    )


async def test_scripted_from_a_file_path(tmp_path):
    script = tmp_path / "my_script.py"
    script.write_text("RESPONSES = ['one', {'tool': 'x', 'args': {}}]\n")
    model = make_model(f"scripted:{script}:RESPONSES")
    assert (await model.complete(ModelRequest(messages=[]))).content == "one"
    assert (await model.complete(ModelRequest(messages=[]))).tool_calls[0].name == "x"


def test_replay_from_a_trace(tmp_path):
    db = tmp_path / "t.db"
    with sqlite3.connect(db) as conn:
        conn.executescript(SCHEMA_SQL)
        payload = {"purpose": "plan", "response": {"content": "{}", "tool_calls": []}}
        conn.execute(
            "INSERT INTO events (episode_id, seq, kind, name, payload) VALUES ('e:1', 1, 'model_call', 'plan', ?)",
            (json.dumps(payload),),
        )
    conn.close()
    model = make_model(f"replay:{db}:e:1")
    assert isinstance(model, ReplayModel)
    assert model.recorded["plan"][0].content == "{}"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("gpt-4o", "unknown kind 'gpt-4o'"),
        ("", "empty spec"),
        ("scripted:", "unknown kind"),
        ("scripted:nomodule", "needs a file or module and an attribute"),
        ("scripted:tests.agents.test_models_registry:NOPE", "has no attribute 'NOPE'"),
        ("scripted:no_such_module_xyz:attr", "cannot import module"),
        ("scripted:/no/such/file.py:attr", "no such file"),
        ("replay:only-a-path", "database path and an episode id"),
    ],
)
def test_bad_specs_say_what_is_wrong_and_list_the_forms(spec, message):
    with pytest.raises(ValueError, match=message) as info:
        make_model(spec)
    if "unknown kind" in message or "empty" in message:
        assert all(form in str(info.value) for form in MODEL_SPECS)


def test_options_for_a_model_that_takes_none_are_refused():
    with pytest.raises(ValueError, match="takes no options"):
        make_model("oracle", api_key="k")


def test_the_package_exports_exactly_its_public_names():
    assert set(models.__all__) == {
        "FINAL_STEP",
        "LlamaModel",
        "MODEL_SPECS",
        "SUBMIT_TOOL",
        "Model",
        "ModelError",
        "ModelRequest",
        "ModelResponse",
        "NullModel",
        "OpenAIModel",
        "OracleModel",
        "Price",
        "Purpose",
        "ReplayModel",
        "ResponseLike",
        "RoutedModel",
        "ScriptedModel",
        "Usage",
        "call",
        "make_model",
        "oracle_step",
        "response_from_payload",
        "text",
        "to_response",
    }
    assert all(hasattr(models, name) for name in models.__all__)
