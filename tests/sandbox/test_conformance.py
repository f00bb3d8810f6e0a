"""Every backend passes the same conformance kit (tests/sandbox/conformance.py)."""

from __future__ import annotations

import pytest

from sandlot.environments.sandbox.docker import DockerSandbox
from sandlot.environments.sandbox.local import LocalSandbox
from tests.docker_support import LIMITS
from tests.sandbox.conformance import SandboxConformance

pytestmark = pytest.mark.filterwarnings("ignore:the local sandbox does not isolate")


@pytest.fixture(params=["local", pytest.param("docker", marks=pytest.mark.docker)])
async def sandbox(request):
    if request.param == "docker":
        sb = await DockerSandbox.start(LIMITS, run_id="tests-conformance")
    else:
        sb = LocalSandbox(LIMITS)
    try:
        yield sb
    finally:
        await sb.close()


class TestBackends(SandboxConformance):
    pass
