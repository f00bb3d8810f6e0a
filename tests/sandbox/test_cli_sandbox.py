"""`sandlot sandbox build|doctor|cleanup` call the library and report plainly."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from sandlot.cli import app

pytestmark = pytest.mark.docker
runner = CliRunner()


def test_build_reports_an_existing_image():
    result = runner.invoke(app, ["sandbox", "build"])
    assert result.exit_code == 0 and "exists (version" in result.output


def test_build_refuses_an_unknown_method():
    result = runner.invoke(app, ["sandbox", "build", "--method", "podman", "--rebuild"])
    assert result.exit_code == 1 and "unknown build method" in result.output


def test_doctor_lists_every_check_as_ok():
    result = runner.invoke(app, ["sandbox", "doctor"])
    assert result.exit_code == 0, result.output
    assert [line.split(":")[0] for line in result.output.splitlines()] == [
        "ok   docker SDK",
        "ok   engine",
        "ok   image",
        "ok   hardened container",
    ]


def test_cleanup_of_a_run_without_containers_removes_none():
    result = runner.invoke(app, ["sandbox", "cleanup", "--run", "tests-no-such-run"])
    assert result.exit_code == 0 and result.output.strip() == "removed 0 container(s)"
