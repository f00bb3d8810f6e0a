"""Building the sandbox image: from a Dockerfile where the base image is at hand, else
offline from a Debian rootfs made with debootstrap and imported through the Docker SDK.

No registry is ever contacted: the Dockerfile route is taken only when its base image is
already present locally (or when asked for explicitly).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sandlot.errors import ImageBuildError

__all__ = [
    "BASE_IMAGE",
    "DOCKERFILE",
    "IMAGE",
    "IMAGE_VERSION",
    "SANDBOX_UID",
    "ImageBuildError",
    "build_image",
    "docker_client",
    "image_exists",
    "image_version",
]

IMAGE = "sandlot-sandbox:latest"
DOCKERFILE = Path(__file__).parent / "Dockerfile"
IMAGE_VERSION = "1"  # bump when the image's contents change; doctor reports stale images
BASE_IMAGE = "debian:bookworm-slim"
MIRROR = "http://deb.debian.org/debian"
PACKAGES = ["python3", "procps"]
SANDBOX_UID = 1000
_LABEL = "sandlot.image.version"
_CHANGES = [
    f"USER {SANDBOX_UID}:{SANDBOX_UID}",
    "WORKDIR /work",
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "ENV LANG=C.UTF-8",
    "ENV HOME=/work",
    f"LABEL {_LABEL}={IMAGE_VERSION}",
    'CMD ["sleep", "infinity"]',
]


def docker_client() -> Any:
    """A Docker SDK client from the environment (DOCKER_HOST or the local socket)."""
    import docker

    return docker.from_env(timeout=120)


def image_exists(tag: str = IMAGE, client: Any = None) -> bool:
    """Is ``tag`` present in the local engine? (never looks at a registry)"""
    import docker.errors

    client = client or docker_client()
    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def image_version(tag: str = IMAGE, client: Any = None) -> str | None:
    """The sandlot version label of a present image (None for a foreign image)."""
    client = client or docker_client()
    labels = client.images.get(tag).labels or {}
    return labels.get(_LABEL)


def build_image(
    tag: str = IMAGE,
    method: str = "auto",
    rebuild: bool = False,
    log: Callable[[str], None] = print,
) -> str:
    """Build the sandbox image (idempotent: returns at once when it exists).

    Args:
        tag: the image's name.
        method: "debootstrap" (offline: a Debian rootfs imported through the SDK),
            "dockerfile" (``docker build`` of :data:`DOCKERFILE`; pulls its base image
            when missing), or "auto" (the Dockerfile only when its base image is
            already present locally, else debootstrap; never pulls).
        rebuild: build even when ``tag`` exists.
        log: receives progress lines.

    Returns:
        The tag.

    Raises:
        ValueError: an unknown method.
        ImageBuildError: a step failed; the message names it and what to do.
    """
    if method not in ("auto", "debootstrap", "dockerfile"):
        raise ValueError(f"unknown build method {method!r}; use auto, debootstrap or dockerfile")
    client = docker_client()
    if image_exists(tag, client) and not rebuild:
        log(f"image {tag} exists (version {image_version(tag, client)}); use --rebuild to rebuild")
        return tag
    if method == "auto":
        method = "dockerfile" if image_exists(BASE_IMAGE, client) else "debootstrap"
        log(
            f"building {tag} with {method}"
            + ("" if method == "dockerfile" else f" ({BASE_IMAGE} is not present locally)")
        )
    if method == "dockerfile":
        return _from_dockerfile(client, tag, log)
    return _from_debootstrap(client, tag, log)


def _from_dockerfile(client: Any, tag: str, log: Callable[[str], None]) -> str:
    if not image_exists(BASE_IMAGE, client):
        log(f"{BASE_IMAGE} is not present locally: the engine will pull it from its registry")
    # The Dockerfile needs no build context: send it alone, not this package's sources.
    with DOCKERFILE.open("rb") as dockerfile:
        try:
            _, logs = client.images.build(
                fileobj=dockerfile, tag=tag, rm=True, pull=False, labels={_LABEL: IMAGE_VERSION}
            )
        except Exception as exc:
            raise ImageBuildError(f"docker build of {DOCKERFILE} failed: {exc}") from exc
    for chunk in logs:
        if "stream" in chunk and chunk["stream"].strip():
            log(chunk["stream"].rstrip())
    return tag


def _from_debootstrap(client: Any, tag: str, log: Callable[[str], None]) -> str:
    if shutil.which("debootstrap") is None:
        raise ImageBuildError(
            "debootstrap is not installed; on Debian/Ubuntu run "
            "`apt-get install debootstrap` (root needed), or build with "
            "`--method dockerfile` where a registry is reachable"
        )
    if os.geteuid() != 0:
        raise ImageBuildError(
            "debootstrap needs root: run `sudo sandlot sandbox build`, or build with "
            "`--method dockerfile` where a registry is reachable"
        )
    with tempfile.TemporaryDirectory(prefix="sandlot-rootfs-") as tmp:
        root = Path(tmp) / "rootfs"
        cmd = [
            "debootstrap",
            "--variant=minbase",
            f"--include={','.join(PACKAGES)}",
            "bookworm",
            str(root),
            MIRROR,
        ]
        log("$ " + " ".join(cmd))
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            raise ImageBuildError(
                f"debootstrap failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}"
            )
        _add_sandbox_user(root)
        # Trim what a sandbox never needs: apt lists and caches, docs.
        for junk in (
            "var/cache/apt/archives",
            "var/lib/apt/lists",
            "usr/share/doc",
            "usr/share/man",
        ):
            shutil.rmtree(root / junk, ignore_errors=True)
        tarball = Path(tmp) / "rootfs.tar"
        log("packing the root filesystem")
        subprocess.run(
            ["tar", "--numeric-owner", "-C", str(root), "-cf", str(tarball), "."], check=True
        )
        repository, _, version = tag.partition(":")
        log(f"importing {tarball.stat().st_size / 1e6:.0f} MB as {tag}")
        try:
            client.api.import_image_from_file(
                str(tarball), repository=repository, tag=version or "latest", changes=_CHANGES
            )
        except Exception as exc:
            raise ImageBuildError(f"importing the rootfs into Docker failed: {exc}") from exc
    if not image_exists(tag, client):
        raise ImageBuildError(f"the import finished but {tag} is not in the engine")
    log(f"built {tag}")
    return tag


def _add_sandbox_user(root: Path) -> None:
    with (root / "etc/passwd").open("a") as f:
        f.write(f"sandbox:x:{SANDBOX_UID}:{SANDBOX_UID}:sandbox:/work:/bin/sh\n")
    with (root / "etc/group").open("a") as f:
        f.write(f"sandbox:x:{SANDBOX_UID}:\n")
    work = root / "work"
    work.mkdir(exist_ok=True)
    os.chown(work, SANDBOX_UID, SANDBOX_UID)
