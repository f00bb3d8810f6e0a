"""Docker support for tests. Without a reachable engine, docker tests skip on a developer's
machine and FAIL under CI (the CI variable set): there they must run for real.

The image is built when it is missing, once per machine (a fresh CI machine pays for the
build once; see ``sandlot sandbox build``).
"""

from __future__ import annotations

import os

import pytest

from sandlot.environments.sandbox.base import SandboxLimits

__all__ = ["LIMITS", "docker_or_skip", "docker_ready"]

# Small limits: the containment cases hit them quickly.
LIMITS = SandboxLimits(
    memory_mb=256, pids=64, timeout=10, output_bytes=200_000, file_size_mb=16, workdir_mb=64
)
_checked: list[str] = []  # "" once Docker and the image are ready; else why not


def docker_or_skip() -> None:
    """Build the image when it is missing (once per machine); skip, or fail under CI,
    without a reachable Docker engine. The outcome is remembered for the session."""
    if not _checked:
        _checked.append(_check())
    why = _checked[0]
    if not why:
        return
    if os.environ.get("CI"):
        pytest.fail(f"CI needs a reachable Docker engine for the docker tests: {why}")
    pytest.skip(f"Docker is not reachable: {why}")


def _check() -> str:
    from sandlot.environments.sandbox import image

    try:
        client = image.docker_client()
        client.ping()
    except Exception as exc:
        return str(exc) or type(exc).__name__
    if not image.image_exists(image.IMAGE, client):
        image.build_image(image.IMAGE, log=lambda line: None)
    return ""


@pytest.fixture(scope="session")
def docker_ready() -> None:
    """Docker and the sandbox image are ready (else skip; fail under CI)."""
    docker_or_skip()
