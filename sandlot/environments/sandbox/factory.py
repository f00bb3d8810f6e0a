"""Choosing a sandbox backend by name: ``docker``, ``local``, any backend registered in
:data:`sandlot.registry.SANDBOXES` (in code or through the ``sandlot.sandboxes`` entry
point group), or ``auto`` — Docker when the engine and the image are there, else a
refusal that says how to fix it. The local backend, which does not isolate, is used only
when asked for by name. See docs/guides/sandbox-backend.md."""

from __future__ import annotations

import functools
import inspect
from typing import TYPE_CHECKING

from sandlot.environments.sandbox.base import Sandbox, SandboxError, SandboxLimits
from sandlot.environments.sandbox.image import IMAGE
from sandlot.errors import UserError
from sandlot.registry import SANDBOXES

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.environments.sandbox.pool import SandboxPool

__all__ = [
    "BACKENDS",
    "NO_DOCKER_FOR_AUTO",
    "backend_label",
    "backend_names",
    "docker_available",
    "docker_backend",
    "local_backend",
    "make_sandbox",
    "resolve_backend",
]

BACKENDS = ("auto", "docker", "local")  # the built-in choices; see backend_names()

NO_DOCKER_FOR_AUTO = (
    "the model's code needs a sandbox, and the backend auto (--sandbox's default) uses "
    f"only Docker: the Docker engine is not reachable or the image {IMAGE} is missing "
    "(`sandlot sandbox doctor` says which). Start Docker and build the image with "
    '`sandlot sandbox build`, or pass --sandbox local (sandbox="local" in Python) to '
    "accept running the model's code unisolated on this machine"
)


def backend_names() -> list[str]:
    """Every name ``make_sandbox`` (and ``--sandbox``) takes: ``auto`` and the registered
    backends, builtin or not."""
    return ["auto", *SANDBOXES.names()]


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


def resolve_backend(backend: str, *, pool: SandboxPool | None = None) -> str:
    """The backend ``backend`` names: "auto" is "docker" when a pool is given or
    :func:`docker_available`; any other name is itself.

    Raises:
        UserError: "auto" without Docker (:data:`NO_DOCKER_FOR_AUTO`): it never falls
            back to the local backend, which does not isolate.
    """
    if backend != "auto":
        return backend
    if pool is not None or docker_available():
        return "docker"
    raise UserError(NO_DOCKER_FOR_AUTO)


def backend_label(backend: str) -> str:
    """How the command line names a backend: the local one says it is not isolated."""
    return f"{backend} (NOT ISOLATED)" if backend == "local" else backend


def local_backend(limits: SandboxLimits | None = None, *, run_id: str = "") -> Sandbox:
    """The ``local`` backend: a temporary directory, no isolation (it warns)."""
    from sandlot.environments.sandbox.local import LocalSandbox

    return LocalSandbox(limits)


async def docker_backend(limits: SandboxLimits | None = None, *, run_id: str = "") -> Sandbox:
    """The ``docker`` backend: a hardened container (see docs/sandboxes.md)."""
    if not docker_available():
        raise SandboxError(
            "the docker backend needs a reachable Docker engine and the image "
            f"{IMAGE}: run `sandlot sandbox doctor` (and `sandlot sandbox build`)"
        )
    from sandlot.environments.sandbox.docker import DockerSandbox

    return await DockerSandbox.start(limits, run_id=run_id)


async def make_sandbox(
    backend: str = "auto",
    *,
    limits: SandboxLimits | None = None,
    run_id: str = "",
    pool: SandboxPool | None = None,
) -> Sandbox:
    """A started sandbox of the chosen backend.

    Args:
        backend: "auto" (docker when :func:`docker_available` or a pool is given; never
            the local backend), or a registered backend's name: "docker", "local" (no
            isolation: it warns), or one a package registered.
        limits: resource limits (default ``SandboxLimits()``; a pool uses its own).
        run_id: labels Docker containers, so ``sandlot sandbox cleanup --run`` finds them.
        pool: take a warm Docker sandbox from this pool (release it with the pool).

    Raises:
        UserError: an unknown backend (the message lists the known ones), one whose
            code failed to import (``ExtensionLoadError``), or "auto" without Docker
            (the message says how to fix it).
        SandboxError: "docker" was asked for but the engine or the image is missing, or
            a backend returned something that is not a Sandbox.
    """
    backend = resolve_backend(backend, pool=pool)
    if backend == "docker" and pool is not None:
        return await pool.acquire()
    if backend not in SANDBOXES:
        raise UserError(
            f"unknown sandbox backend {backend!r}; use one of {', '.join(backend_names())}"
        )
    made = SANDBOXES.get(backend)(limits, run_id=run_id)
    if inspect.isawaitable(made):
        made = await made
    if not isinstance(made, Sandbox):
        raise SandboxError(
            f"sandbox backend {backend!r} returned a {type(made).__name__}, not a Sandbox"
        )
    return made
