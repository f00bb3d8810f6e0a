"""Suite-wide fixtures. The network guard: tests reach loopback and unix sockets only."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from tests.agents.fake_openai import fake_openai  # noqa: F401 - a fixture for every test
from tests.docker_support import docker_ready  # noqa: F401 - a fixture for every test

__all__ = ["NetworkBlockedError", "docker_ready", "fake_openai", "is_local_address"]


class NetworkBlockedError(RuntimeError):
    """A test tried to connect outside the machine."""


def is_local_address(family: int, address: Any) -> bool:
    """True for unix sockets (Docker's API) and loopback hosts (127.0.0.0/8, ::1, localhost)."""
    if family == getattr(socket, "AF_UNIX", None) or isinstance(address, str | bytes):
        return True
    host = address[0] if isinstance(address, tuple) and address else address
    if isinstance(host, bytes):
        host = host.decode()
    if not isinstance(host, str):
        return False
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.split("%")[0]).is_loopback
    except ValueError:
        return False  # a hostname other than localhost: resolving it could leave the machine


def _guarded(original: Any) -> Any:
    def connect(self: socket.socket, address: Any, *args: Any) -> Any:
        if not is_local_address(self.family, address):
            raise NetworkBlockedError(
                f"tests must not reach the network: connect to {address!r} blocked by the "
                "guard in tests/conftest.py; serve what you need on 127.0.0.1 "
                "(e.g. the fake_openai fixture)"
            )
        return original(self, address, *args)

    return connect


@pytest.fixture(autouse=True, scope="session")
def _network_guard() -> Iterator[None]:
    # Patched on socket.socket, so asyncio, httpx, urllib and ssl sockets are all covered;
    # the check runs before any packet is sent.
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", _guarded(socket.socket.connect))
        patch.setattr(socket.socket, "connect_ex", _guarded(socket.socket.connect_ex))
        yield


@pytest.fixture(autouse=True, scope="session")
def _wide_terminal() -> Iterator[None]:
    # CLI errors are drawn in rich panels that wrap at the terminal's width; a long tmp
    # path would split the message the tests look for across lines.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("COLUMNS", "400")
        yield


@pytest.fixture
def register_world() -> Iterator[Any]:
    """Register a world (a class, or an import path) for one test; forgotten after."""
    from sandlot.registry import WORLDS

    names: list[str] = []

    def register(name: str, target: Any) -> None:
        WORLDS.register(name, target)
        names.append(name)

    yield register
    for name in names:
        WORLDS.unregister(name)
