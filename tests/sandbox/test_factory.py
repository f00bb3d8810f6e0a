"""make_sandbox picks the backend — auto is Docker or a refusal, never the local backend,
which is used only by name and named in the run summary; docker_or_skip skips locally
and fails under CI."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from sandlot.environments.sandbox import factory
from sandlot.environments.sandbox.base import SandboxError
from sandlot.environments.sandbox.factory import make_sandbox
from sandlot.environments.sandbox.local import LocalSandbox
from sandlot.errors import UserError
from tests import docker_support

pytestmark = pytest.mark.filterwarnings("ignore:the local sandbox does not isolate")


async def test_an_unknown_backend_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="unknown sandbox backend 'vm'.*auto, docker, local"):
        await make_sandbox("vm")


async def test_auto_without_docker_refuses_and_says_how_to_fix_it(monkeypatch, tmp_path):
    monkeypatch.setattr(factory, "docker_available", lambda: False)
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # where a local sandbox would appear
    tempfile.tempdir = None
    try:
        with pytest.raises(UserError) as refused:
            await make_sandbox("auto")
    finally:
        tempfile.tempdir = None
    said = str(refused.value)
    for fix in ("sandlot sandbox build", "Docker", "--sandbox local", "unisolated"):
        assert fix in said
    assert list(tmp_path.iterdir()) == []  # no local sandbox was made on the way


async def test_the_local_backend_is_used_when_asked_for_by_name(monkeypatch):
    monkeypatch.setattr(factory, "docker_available", lambda: False)
    sandbox = await make_sandbox("local")
    try:
        assert isinstance(sandbox, LocalSandbox) and sandbox.backend == "local"
        assert sandbox.isolated is False
    finally:
        await sandbox.close()


_WORKSPACE_TASK = """
environment: workspace
tasks:
  - id: ws-tiny
    instruction: "Say hello."
    initial_state: {files: {a.txt: "a"}}
    checklist:
      - {id: said, description: "Said hello", check: {type: answer, match: contains, value: hello}}
"""


def _run_cli(tmp_path, *options: str):
    from typer.testing import CliRunner

    from sandlot.cli import app

    task = tmp_path / "tasks.yaml"
    task.write_text(_WORKSPACE_TASK)
    db = tmp_path / "t.db"
    args = ["run", str(task), "--db", str(db), "--model", "null", "-q", *options]
    return CliRunner().invoke(app, args), db


def test_a_run_that_needs_a_sandbox_refuses_without_docker_before_any_episode(
    monkeypatch, tmp_path
):
    monkeypatch.setattr(factory, "docker_available", lambda: False)
    result, db = _run_cli(tmp_path)
    assert result.exit_code == 2, result.output
    said = " ".join(result.output.split())  # as the terminal wrapped it
    assert "sandlot sandbox build" in said and "--sandbox local" in said
    assert "Traceback" not in result.output and not db.exists()


def test_the_run_summary_names_the_backend_and_says_local_is_not_isolated(monkeypatch, tmp_path):
    monkeypatch.setattr(factory, "docker_available", lambda: False)
    result, db = _run_cli(tmp_path, "--sandbox", "local")
    assert result.exit_code == 0, result.output
    assert "sandbox: local (NOT ISOLATED)" in result.output
    from sandlot.traces.store import TraceStore

    with TraceStore(db) as store:
        [run] = store.runs()
        [episode] = store.episodes(run["id"])
        events = store.events(episode["id"], kinds="sandbox")
    assert episode["sandbox_backend"] == "local"
    assert [(e["name"], e["payload"]) for e in events] == [("local", {"backend": "local"})]


async def test_the_library_run_refuses_auto_without_docker_before_a_trace(monkeypatch, tmp_path):
    from sandlot.agents.running.runner import run
    from sandlot.environments.loader import load_tasks
    from sandlot.errors import UserError

    monkeypatch.setattr(factory, "docker_available", lambda: False)
    tasks = load_tasks([Path(__file__).resolve().parents[2] / "examples/tasks/workspace"])[:1]
    with pytest.raises(UserError, match="--sandbox local"):
        await run(tasks, model="oracle", db=tmp_path / "t.db")
    assert not (tmp_path / "t.db").exists()


async def test_docker_without_docker_says_what_to_run(monkeypatch):
    monkeypatch.setattr(factory, "docker_available", lambda: False)
    with pytest.raises(SandboxError, match="sandlot sandbox doctor"):
        await make_sandbox("docker")


def test_docker_available_is_false_when_the_engine_is_unreachable(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    factory.docker_available.cache_clear()
    try:
        assert factory.docker_available() is False
    finally:
        factory.docker_available.cache_clear()


@pytest.mark.docker
async def test_auto_picks_docker_when_it_is_available():
    factory.docker_available.cache_clear()
    sandbox = await make_sandbox("auto", run_id="tests-factory")
    try:
        assert sandbox.backend == "docker"
        assert (await sandbox.exec("id -u")).stdout == "1000\n"
    finally:
        await sandbox.close()


@pytest.mark.parametrize(
    ("ci", "outcome"), [("", pytest.skip.Exception), ("1", pytest.fail.Exception)]
)
def test_docker_tests_skip_locally_and_fail_under_ci_without_docker(monkeypatch, ci, outcome):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    monkeypatch.setenv("CI", ci)
    monkeypatch.setattr(docker_support, "_checked", [])
    with pytest.raises(outcome, match="Docker engine|not reachable"):
        docker_support.docker_or_skip()


def test_the_sandbox_package_exports_exactly_its_public_names():
    import sandlot.environments.sandbox as package

    assert sorted(package.__all__) == sorted(
        [
            *("BACKENDS", "IMAGE", "Check", "DockerSandbox", "ExecResult", "ImageBuildError"),
            *("LocalSandbox", "NotIsolatedWarning", "Sandbox", "SandboxError", "SandboxLimits"),
            *("SandboxPool", "build_image", "cleanup", "docker_available", "doctor"),
            *("image_exists", "make_sandbox"),
        ]
    )
    assert all(getattr(package, name) is not None for name in package.__all__)
