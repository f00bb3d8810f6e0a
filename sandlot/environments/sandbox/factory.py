"""Choosing a sandbox backend: Docker when the engine and the image are there, else the
local backend (with its warning)."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

from sandlot.environments.sandbox.base import Sandbox, SandboxError, SandboxLimits
from sandlot.environments.sandbox.image import IMAGE

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.environments.sandbox.pool import SandboxPool

__all__ = ["BACKENDS", "docker_available", "make_sandbox"]

BACKENDS = ("auto", "docker", "local")


@functools.lru_cache(maxsize=4)
def docker_available(image: str = IMAGE) -> bool:
    """Is the Docker engine reachable and the sandbox image present? (cached)"""
    try:
        from sandlot.environments.sandbox.image import docker_client, image_exists

        client = docker_client()
        client.ping()
        return image_exists(image, client)
    except Exception:
        return False


async def make_sandbox(
    backend: str = "auto",
    *,
    limits: SandboxLimits | None = None,
    run_id: str = "",
    pool: SandboxPool | None = None,
) -> Sandbox:
    """A started sandbox of the chosen backend.

    Args:
        backend: "docker", "local", or "auto" (docker when :func:`docker_available` or a
            pool is given, else local — which warns that it does not isolate).
        limits: resource limits (default ``SandboxLimits()``; a pool uses its own).
        run_id: labels Docker containers, so ``sandlot sandbox cleanup --run`` finds them.
        pool: take a warm Docker sandbox from this pool (release it with the pool).

    Raises:
        ValueError: an unknown backend.
        SandboxError: "docker" was asked for but the engine or the image is missing.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown sandbox backend {backend!r}; use one of {', '.join(BACKENDS)}")
    if backend == "auto":
        backend = "docker" if pool is not None or docker_available() else "local"
    if backend == "local":
        from sandlot.environments.sandbox.local import LocalSandbox

        return LocalSandbox(limits)
    if pool is not None:
        return await pool.acquire()
    if not docker_available():
        raise SandboxError(
            "the docker backend needs a reachable Docker engine and the image "
            f"{IMAGE}: run `sandlot sandbox doctor` (and `sandlot sandbox build`)"
        )
    from sandlot.environments.sandbox.docker import DockerSandbox

    return await DockerSandbox.start(limits, run_id=run_id)
