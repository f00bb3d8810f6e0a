"""Helpers for containment tests, reusable by other suites (e.g. episode-level variants):
each hostile call must come back (no hang), leave the sandbox usable, and leave the host
untouched."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import threading
from collections.abc import Awaitable, Iterator
from typing import TypeVar

from sandlot.environments.sandbox.base import ExecResult, Sandbox

__all__ = [
    "HANG_BOUND",
    "HIJACK_COMMAND",
    "HIJACKER",
    "HostListener",
    "answered",
    "plant_hijacker",
    "still_works",
]

HANG_BOUND = 120.0  # seconds: far beyond any case's own timeout; only a hang reaches it
_T = TypeVar("_T")


async def answered(call: Awaitable[_T]) -> _T:
    """Await a sandbox call, failing the test (instead of hanging it) if it never returns."""
    try:
        return await asyncio.wait_for(call, HANG_BOUND)
    except TimeoutError as exc:
        raise AssertionError(f"the sandbox call did not return within {HANG_BOUND:g} s") from exc


async def still_works(sandbox: Sandbox) -> None:
    """The sandbox answers a plain command afterwards."""
    after = await answered(sandbox.exec("echo alive"))
    assert (after.exit_code, after.stdout) == (0, "alive\n"), after


# A detached process of the sandbox user that waits for the command server to be
# restarted, opens the new server's stdin and stdout through /proc before the server can
# make itself non-dumpable, stops it, and answers every request itself: every command
# "exits 0" with stdout "forged", every file reads "forged", and the workspace's snapshot
# script gets a snapshot of about argv[2] bytes. It marks /tmp/.hijacked once it serves.
HIJACKER = r"""
import base64, json, os, signal, struct, sys, time
old, size = int(sys.argv[1]), int(sys.argv[2])
me = os.getpid()
HEAD = struct.Struct(">I")


def servers():
    # A server is started by `docker exec` (no parent inside the container); a command
    # the server forks carries its command line too until it execs.
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in (old, me):
            continue
        try:
            with open("/proc/%s/cmdline" % name, "rb") as f:
                argv = f.read()
            with open("/proc/%s/status" % name) as f:
                orphan = "\nPPid:\t0\n" in f.read()
        except OSError:
            continue
        if argv.startswith(b"python3") and b"length-prefixed" in argv and orphan:
            yield int(name)


def read_exact(fd, n):
    data = b""
    while len(data) < n:
        chunk = os.read(fd, n - len(data))
        if not chunk:
            return b""
        data += chunk
    return data


def serve(rd, wr):
    while True:
        head = read_exact(rd, 4)
        if not head:
            return
        req = json.loads(read_exact(rd, HEAD.unpack(head)[0]))
        out = b"forged"
        if req.get("op") == "exec" and "-I" in (req.get("cmd") or []) and size:
            files = {"big%d.txt" % i: "x" * 60000 for i in range(size // 60000 + 1)}
            out = json.dumps({"files": files}).encode()
        resp = {
            "id": req.get("id"), "ok": True, "pid": 1, "exit_code": 0,
            "stdout": base64.b64encode(out).decode(), "stderr": "", "duration": 0.0,
            "timed_out": False, "cut": [0, 0], "data": base64.b64encode(b"forged").decode(),
        }
        payload = json.dumps(resp).encode()
        os.write(wr, HEAD.pack(len(payload)) + payload)


open("/tmp/.hijacker-ready", "w").close()
deadline = time.monotonic() + 300
while time.monotonic() < deadline:
    for pid in servers():
        try:
            rd = os.open("/proc/%d/fd/0" % pid, os.O_RDONLY)
            wr = os.open("/proc/%d/fd/1" % pid, os.O_WRONLY)
        except OSError:
            continue
        os.kill(pid, signal.SIGSTOP)
        open("/tmp/.hijacked", "w").close()
        serve(rd, wr)
        sys.exit(0)
"""
# Run as a command: detach the hijacker, wait until it runs, then kill the command server
# (the command's parent), so that the host restarts it.
HIJACK_COMMAND = (
    "setsid nohup python3 /tmp/hijack.py $PPID {size} >/dev/null 2>&1 </dev/null & "
    "while [ ! -e /tmp/.hijacker-ready ]; do :; done; kill -9 $PPID"
)


async def plant_hijacker(sandbox: Sandbox, snapshot_bytes: int = 0) -> ExecResult:
    """Start :data:`HIJACKER` and kill the command server; the killing command's result."""
    await sandbox.write_file("/tmp/hijack.py", HIJACKER)
    return await answered(sandbox.exec(HIJACK_COMMAND.format(size=snapshot_bytes), timeout=20))


class HostListener:
    """A TCP server on the host's loopback that records every connection it accepts."""

    def __init__(self) -> None:
        self._server = socket.socket()
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(8)
        self._server.settimeout(0.2)
        self.port: int = self._server.getsockname()[1]
        self.accepted: list[object] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, peer = self._server.accept()
            except OSError:
                continue
            self.accepted.append(peer)
            conn.close()

    @contextlib.contextmanager
    def running(self) -> Iterator[HostListener]:
        """Accept connections while the block runs."""
        self._thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            self._thread.join(5)
            self._server.close()
