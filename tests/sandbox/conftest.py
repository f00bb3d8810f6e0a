"""Sandbox test wiring: every test marked ``docker`` needs a reachable engine and the
image — it skips without them on a developer's machine and FAILS under CI (CI set), where
the docker tests must run for real. The logic lives in tests/docker_support.py, shared
with the other areas' docker tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from sandlot.environments.sandbox.docker import DockerSandbox
from tests.docker_support import LIMITS, docker_or_skip

__all__ = ["docker_sandbox"]


def pytest_runtest_setup(item: pytest.Item) -> None:
    # The marker is the switch: a docker test cannot forget to ask for the fixture.
    if item.get_closest_marker("docker") is not None:
        docker_or_skip()


@pytest.fixture
async def docker_sandbox() -> AsyncIterator[DockerSandbox]:
    """A fresh Docker sandbox with the tests' small limits, removed afterwards."""
    sandbox = await DockerSandbox.start(LIMITS, run_id="tests-sandbox")
    try:
        yield sandbox
    finally:
        await sandbox.close()
