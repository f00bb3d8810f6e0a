"""The suite-wide network guard blocks outside addresses and lets loopback/unix through."""

from __future__ import annotations

import asyncio
import socket
import threading

import pytest

from tests.conftest import NetworkBlockedError, is_local_address


def test_connecting_to_an_outside_address_is_blocked_before_any_packet():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.01)  # were the guard missing, this would fail with a timeout instead
        with pytest.raises(NetworkBlockedError, match="203.0.113.1"):
            sock.connect(("203.0.113.1", 80))
        with pytest.raises(NetworkBlockedError):
            sock.connect_ex(("203.0.113.1", 80))


def test_outside_hostnames_and_ipv6_are_blocked():
    with (
        socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as sock,
        pytest.raises(NetworkBlockedError),
    ):
        sock.connect(("2001:db8::1", 443, 0, 0))
    with pytest.raises(NetworkBlockedError):
        socket.create_connection(("203.0.113.7", 443), timeout=0.01)


async def test_asyncio_connections_are_blocked_too():
    with pytest.raises(NetworkBlockedError):
        await asyncio.open_connection("203.0.113.1", 80)


def test_loopback_connections_work():
    with socket.create_server(("127.0.0.1", 0)) as server:
        port = server.getsockname()[1]
        accepted: list[bytes] = []

        def accept() -> None:
            conn, _ = server.accept()
            with conn:
                accepted.append(conn.recv(5))

        thread = threading.Thread(target=accept)
        thread.start()
        with socket.create_connection(("localhost", port)) as client:
            client.sendall(b"hello")
        thread.join(timeout=5)
    assert accepted == [b"hello"]


def test_unix_sockets_stay_allowed(tmp_path):
    path = str(tmp_path / "s.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        server.listen()
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as client:
            assert client.connect_ex(path) == 0


@pytest.mark.parametrize(
    ("family", "address", "local"),
    [
        (socket.AF_INET, ("127.0.0.1", 1), True),
        (socket.AF_INET, ("127.8.9.10", 1), True),
        (socket.AF_INET6, ("::1", 1, 0, 0), True),
        (socket.AF_INET, ("localhost", 1), True),
        (socket.AF_INET, ("10.0.0.1", 1), False),
        (socket.AF_INET, ("example.com", 443), False),
        (socket.AF_UNIX, "/var/run/docker.sock", True),
    ],
)
def test_is_local_address(family, address, local):
    assert is_local_address(family, address) is local
