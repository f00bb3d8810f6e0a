"""The image build (idempotent, offline, clear errors) and the doctor's checks."""

from __future__ import annotations

import os
import re

import pytest

from sandlot.environments.sandbox import image
from sandlot.environments.sandbox.doctor import doctor
from sandlot.environments.sandbox.image import (
    DOCKERFILE,
    IMAGE,
    IMAGE_VERSION,
    SANDBOX_UID,
    ImageBuildError,
    build_image,
    image_exists,
    image_version,
)


def test_an_unknown_build_method_is_refused_before_touching_docker():
    with pytest.raises(ValueError, match="unknown build method 'podman'.*debootstrap"):
        build_image(method="podman")


def test_the_dockerfile_and_the_debootstrap_image_agree():
    text = DOCKERFILE.read_text()
    assert text.startswith("#") and "FROM debian:bookworm-slim" in text
    assert f"USER {SANDBOX_UID}:{SANDBOX_UID}" in text and "WORKDIR /work" in text
    for package in image.PACKAGES:
        assert re.search(rf"install .*\b{package}\b", text)
    assert f"USER {SANDBOX_UID}:{SANDBOX_UID}" in image._CHANGES
    assert f"LABEL sandlot.image.version={IMAGE_VERSION}" in image._CHANGES


@pytest.mark.skipif(os.geteuid() != 0, reason="chown to uid 1000 needs root")
def test_the_rootfs_gets_the_sandbox_user_and_its_work_dir(tmp_path):
    (tmp_path / "etc").mkdir()
    (tmp_path / "etc/passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (tmp_path / "etc/group").write_text("root:x:0:\n")
    image._add_sandbox_user(tmp_path)
    assert "sandbox:x:1000:1000:sandbox:/work:/bin/sh" in (tmp_path / "etc/passwd").read_text()
    assert "sandbox:x:1000:" in (tmp_path / "etc/group").read_text()
    stat = (tmp_path / "work").stat()
    assert (stat.st_uid, stat.st_gid) == (SANDBOX_UID, SANDBOX_UID)


@pytest.mark.docker
def test_build_is_idempotent_and_says_so():
    lines: list[str] = []
    assert build_image(IMAGE, log=lines.append) == IMAGE
    assert lines == [f"image {IMAGE} exists (version {IMAGE_VERSION}); use --rebuild to rebuild"]
    assert image_exists(IMAGE) and image_version(IMAGE) == IMAGE_VERSION
    assert not image_exists("sandlot-sandbox:no-such-tag")


@pytest.mark.docker
def test_a_missing_debootstrap_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(image.shutil, "which", lambda name: None)
    with pytest.raises(ImageBuildError, match="debootstrap is not installed.*apt-get install"):
        build_image("sandlot-sandbox:never-built", method="debootstrap", log=lambda _: None)
    assert not image_exists("sandlot-sandbox:never-built")


@pytest.mark.docker
def test_doctor_passes_every_check_on_a_ready_machine():
    checks = doctor()
    assert [c.name for c in checks] == ["docker SDK", "engine", "image", "hardened container"]
    assert all(c.ok for c in checks), checks
    assert "uid 1000" in checks[-1].detail


@pytest.mark.docker
def test_doctor_says_how_to_get_a_missing_image():
    checks = doctor(image="sandlot-sandbox:no-such-tag")
    assert checks[-1].name == "image" and not checks[-1].ok
    assert "sandlot sandbox build" in checks[-1].detail


def test_doctor_says_what_to_do_when_the_engine_is_unreachable(monkeypatch):
    monkeypatch.setenv("DOCKER_HOST", "unix:///nonexistent/docker.sock")
    checks = doctor()
    assert checks[-1].name == "engine" and not checks[-1].ok
    assert "start the Docker daemon" in checks[-1].detail
