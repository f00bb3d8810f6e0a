"""Every backend passes the same conformance kit, the one the package ships for backend
authors (``sandlot.testing``), each backend made by name through the registry as a run
makes it."""

from __future__ import annotations

import pytest

from sandlot.environments.sandbox.factory import make_sandbox
from sandlot.testing import SandboxConformance
from tests.docker_support import LIMITS

pytestmark = pytest.mark.filterwarnings("ignore:the local sandbox does not isolate")


@pytest.fixture(params=["local", pytest.param("docker", marks=pytest.mark.docker)])
async def sandbox(request):
    sb = await make_sandbox(request.param, limits=LIMITS, run_id="tests-conformance")
    assert sb.backend == request.param
    try:
        yield sb
    finally:
        await sb.close()


class TestBackends(SandboxConformance):
    pass


def test_the_kit_ships_in_the_package_and_the_tests_copy_is_the_same():
    import tests.sandbox.conformance as old

    assert old.SandboxConformance is SandboxConformance
