"""Executors without a cluster: choosing one, what `sandlot run` refuses with
--executor/--address, model recipes for workers, and moving one episode's rows into a
trace whole or not at all."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sandlot.agents.running.episode_rows import read_episode_rows, write_episode_rows
from sandlot.agents.running.executors import LocalExecutor, make_executor
from sandlot.agents.running.model_specs import ModelSpec, build_model
from sandlot.agents.running.runner import run
from sandlot.cli import app
from sandlot.environments.loader import load_tasks
from sandlot.errors import UserError
from sandlot.traces.store import TraceStore

ROOT = Path(__file__).resolve().parents[2]
ORDERS = ROOT / "examples/tasks/store/orders.yaml"


def test_local_is_the_default_executor_and_unknown_names_are_refused():
    assert isinstance(make_executor(None), LocalExecutor)
    assert isinstance(make_executor("local"), LocalExecutor)
    with pytest.raises(UserError, match="unknown executor 'spark'"):
        make_executor("spark")
    with pytest.raises(UserError, match="--executor ray"):
        make_executor("local", address="10.0.0.1:6379")


def test_the_ray_executor_without_ray_says_how_to_install_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "ray", None)  # `import ray` raises ImportError
    with pytest.raises(UserError, match=r"pip install 'sandlot\[ray\]'"):
        make_executor("ray")


def test_sandlot_run_with_executor_ray_without_ray_is_a_usage_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "ray", None)
    result = CliRunner().invoke(
        app, ["run", str(ORDERS), "--db", str(tmp_path / "t.db"), "--executor", "ray"]
    )
    assert result.exit_code == 2, result.output
    assert "sandlot[ray]" in result.output
    assert not (tmp_path / "t.db").exists()


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["--address", "10.0.0.1:6379"], "--address is for --executor ray"),
        (["--executor", "ray", "--api-key", "sk-secret-123456"], "OPENAI_API_KEY"),
        (["--executor", "dask"], "--executor"),
    ],
)
def test_sandlot_run_refuses_what_the_executor_cannot_take(tmp_path, args, says):
    result = CliRunner().invoke(app, ["run", str(ORDERS), "--db", str(tmp_path / "t.db"), *args])
    assert result.exit_code == 2, result.output
    assert says in result.output
    assert "sk-secret-123456" not in result.output
    assert not (tmp_path / "t.db").exists()


def test_a_model_recipe_never_carries_the_api_key_and_builds_the_model():
    spec = ModelSpec.of(
        "openai:gpt-x", api_key="sk-never-shipped-1234", base_url="http://h:1/v1", seed=None
    )
    assert spec.options == {"base_url": "http://h:1/v1"}
    assert "sk-never-shipped" not in repr(spec)
    assert ModelSpec.of("oracle", base_url="http://h:1/v1").options == {}  # oracle takes none
    assert build_model(ModelSpec.of("oracle")).name == "oracle"
    assert build_model("null").name == "null"
    routed = ModelSpec("oracle", planner=ModelSpec.of("oracle"), executor=ModelSpec.of("null"))
    assert "null" in build_model(routed).name


async def test_an_episode_moves_into_another_trace_whole_or_not_at_all(tmp_path):
    source, target = tmp_path / "worker.db", tmp_path / "run.db"
    task = load_tasks([ORDERS])[0]
    result = await run([task], model="oracle", db=source, concurrency=1)
    episode_id = result.episodes[0].episode_id
    rows = read_episode_rows(source, episode_id)
    assert rows["episodes"] and rows["events"] and rows["checks"]

    with TraceStore(target) as store:
        write_episode_rows(store, rows)
        moved = store.episode(episode_id)
        assert moved is not None and moved["outcome"] == "passed"
        assert len(store.events(episode_id)) == len(rows["events"])
        # the same episode again: refused, and nothing of it written a second time
        with pytest.raises(Exception, match="UNIQUE"):
            write_episode_rows(store, rows)
        assert len(store.events(episode_id)) == len(rows["events"])
        assert len(store.episodes()) == 1


def test_an_openai_recipe_pickles_and_its_worker_reads_the_key_from_its_environment(
    monkeypatch,
):
    import pickle

    from sandlot.agents.graph.runtime import AgentConfig
    from sandlot.agents.running.ray_executor import RemoteEpisode

    recipe = ModelSpec.of("openai:some-model", api_key="sk-driver-key-0001", base_url="http://h/v1")
    job = RemoteEpisode(
        task=load_tasks([ORDERS])[0], epoch=0, run_id="r-1", model=recipe, agent=AgentConfig()
    )
    shipped = pickle.dumps(job)
    assert b"sk-driver-key-0001" not in shipped
    monkeypatch.setenv("OPENAI_API_KEY", "sk-worker-key-0002")
    model = build_model(pickle.loads(shipped).model)
    assert model is not None and model.name.endswith("some-model")
    assert "sk-worker-key-0002" in model.secrets()
