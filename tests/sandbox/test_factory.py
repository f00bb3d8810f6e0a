"""make_sandbox picks the backend; docker_or_skip skips locally and fails under CI."""

from __future__ import annotations

import pytest

from sandlot.environments.sandbox import factory
from sandlot.environments.sandbox.base import SandboxError
from sandlot.environments.sandbox.factory import make_sandbox
from sandlot.environments.sandbox.local import LocalSandbox
from tests import docker_support

pytestmark = pytest.mark.filterwarnings("ignore:the local sandbox does not isolate")


async def test_an_unknown_backend_is_refused_with_the_choices():
    with pytest.raises(ValueError, match="unknown sandbox backend 'vm'.*auto, docker, local"):
        await make_sandbox("vm")


async def test_auto_falls_back_to_local_without_docker(monkeypatch):
    monkeypatch.setattr(factory, "docker_available", lambda: False)
    sandbox = await make_sandbox("auto")
    try:
        assert isinstance(sandbox, LocalSandbox) and sandbox.backend == "local"
        assert sandbox.isolated is False
    finally:
        await sandbox.close()


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
