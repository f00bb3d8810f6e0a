"""`sandlot sandbox doctor`: is everything the Docker backend needs in place?"""

from __future__ import annotations

from typing import Any, NamedTuple

from sandlot.environments.sandbox.image import IMAGE, IMAGE_VERSION

__all__ = ["Check", "doctor"]

# One command reports what the hardening should guarantee, a line each.
_PROBE = (
    "python3 -c 'print(1)'; id -u; grep CapEff /proc/self/status | cut -f2; "
    "grep NoNewPrivs /proc/self/status | cut -f2; ls /sys/class/net | tr '\\n' ' '; echo; "
    "touch /.probe 2>/dev/null && echo rw || echo ro"
)
_EXPECTED = ["1", "1000", "0000000000000000", "1", "lo", "ro"]
_NAMES = ["python3 runs", "uid", "effective capabilities", "no-new-privileges", "network", "root"]


class Check(NamedTuple):
    """One doctor check: its name, whether it passed, what was found / what to do."""

    name: str
    ok: bool
    detail: str


def _hardened(client: Any, image: str) -> Check:
    from sandlot.environments.sandbox.docker import DockerSandbox

    try:
        sandbox = DockerSandbox.start_sync(run_id="doctor", image=image, client=client)
    except Exception as exc:
        return Check("hardened container", False, f"cannot start one: {exc}")
    try:
        result = sandbox.exec_sync(_PROBE, timeout=20)
    except Exception as exc:
        return Check("hardened container", False, f"started, but a command failed: {exc}")
    finally:
        sandbox.close_sync()
    found = [line.strip() for line in result.stdout.splitlines()]
    wrong = [
        f"{name}: {got!r}, expected {want!r}"
        for name, want, got in zip(_NAMES, _EXPECTED, found + [""] * len(_NAMES), strict=False)
        if got != want
    ]
    if wrong:
        return Check(
            "hardened container",
            False,
            "; ".join(wrong)
            + (f" (stderr: {result.stderr.strip()[:300]})" if result.stderr.strip() else "")
            + ". The engine did not apply the sandbox's hardening: check its security "
            "options, and rebuild the image with `sandlot sandbox build --rebuild`",
        )
    return Check(
        "hardened container",
        True,
        "python3 runs as uid 1000 with no capabilities, no-new-privileges, only a loopback "
        "interface and a read-only root",
    )


def doctor(image: str = IMAGE) -> list[Check]:
    """Each check with what was found and, when it failed, what to do.

    Stops at the first failure that makes the following checks meaningless (no SDK, no
    engine, no image).
    """
    try:
        import docker
    except ImportError:
        return [Check("docker SDK", False, "the docker package is missing: pip install docker")]
    checks = [Check("docker SDK", True, f"docker {docker.__version__}")]
    from sandlot.environments.sandbox.image import docker_client, image_exists, image_version

    try:
        client = docker_client()
        version = client.version().get("Version", "?")
    except Exception as exc:
        checks.append(
            Check(
                "engine",
                False,
                f"not reachable ({exc}); start the Docker daemon, or set DOCKER_HOST, and "
                "check that this user may use its socket",
            )
        )
        return checks
    checks.append(Check("engine", True, f"Docker {version}"))
    if not image_exists(image, client):
        checks.append(Check("image", False, f"{image} is missing: run `sandlot sandbox build`"))
        return checks
    found = image_version(image, client)
    fresh = found == IMAGE_VERSION
    detail = f"{image} version {found}"
    if not fresh:
        detail += f"; expected {IMAGE_VERSION}: run `sandlot sandbox build --rebuild`"
    checks.append(Check("image", fresh, detail))
    checks.append(_hardened(client, image))
    return checks
