"""The command server that runs inside a sandbox (stdlib only; Python 3.9+).

The host starts it with one ``docker exec`` of ``python3 -I -S -u -c <bootstrap> <this
file's source> <file size limit>``, so the image does not have to carry it; the
bootstrap makes the process non-dumpable before anything else, and the host starts a
server only when no other process of the sandbox user is alive. It reads length-prefixed
JSON requests on stdin and answers on stdout, one at a time, echoing each request's
``id``:

- ``exec`` runs a command in a new session, enforces the timeout itself and kills the
  whole process group with SIGKILL, and keeps at most ``cap`` bytes of each output
  stream (the head), counting what it cut;
- ``read`` / ``write`` move files (base64), so writes land where commands see them;
- ``reset`` kills every other process of the sandbox user;
- ``ping`` answers at once.

The local backend imports :func:`run_command` from here, so both backends share it.
"""

from __future__ import annotations  # annotations stay text: Python 3.9 runs this

import base64
import contextlib
import errno
import json
import os
import resource
import selectors
import signal
import stat
import struct
import subprocess
import sys
import threading
import time

__all__ = [
    "kill_group",
    "read_file",
    "read_regular",
    "run_command",
    "serve",
    "write_file",
    "write_regular",
]

_HEADER = struct.Struct(">I")
_NOT_REGULAR = "%s is not a regular file (a FIFO, socket or device)"
_DRAIN_AFTER_KILL = 2.0  # seconds; a setsid'd escapee holding the pipes cannot hold us longer


def _limits(file_size: int, cpu_seconds: int, memory: int, nproc: int):
    if not (file_size or cpu_seconds or memory or nproc):
        # No per-command limits (the container's cgroup and the server's own inherited
        # RLIMIT_FSIZE apply): without a preexec_fn, subprocess can use the fast vfork path.
        return None

    def apply() -> None:
        if file_size:
            resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
        if cpu_seconds:
            resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds + 1))
        if memory:
            resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
        if nproc:
            resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))

    return apply


def kill_group(pid: int) -> None:
    """SIGKILL process group ``pid``; gone already is fine."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _failed_to_start(argv: list, exc: OSError, start: float) -> dict:
    return {
        "exit_code": 127 if isinstance(exc, FileNotFoundError) else 126,
        "stdout": "",
        "stderr": base64.b64encode(f"cannot start {argv[0]}: {exc}\n".encode()).decode(),
        "duration": time.monotonic() - start,
        "timed_out": False,
        "cut": [0, 0],
    }


def _feed(proc: subprocess.Popen, data: bytes) -> None:
    # In a thread: a command that never reads its stdin must not block the server.
    assert proc.stdin is not None  # started with stdin=PIPE
    try:
        if data:
            proc.stdin.write(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            proc.stdin.close()


class _Output:
    """A command's stdout and stderr: the head of each (``cap`` bytes) and a count of
    the bytes cut, so memory stays bounded whatever the flood."""

    def __init__(self, proc: subprocess.Popen, cap: int) -> None:
        self.cap = cap
        assert proc.stdout is not None and proc.stderr is not None  # started with PIPEs
        self.fds = (proc.stdout.fileno(), proc.stderr.fileno())
        self.bufs = {fd: bytearray() for fd in self.fds}
        self.cut = {fd: 0 for fd in self.fds}
        self.sel = selectors.DefaultSelector()
        for f in (proc.stdout, proc.stderr):
            self.sel.register(f, selectors.EVENT_READ)

    @property
    def open(self) -> bool:
        """Does some process still hold a write end of the pipes?"""
        return bool(self.sel.get_map())

    def read(self, timeout: float) -> None:
        """Take what the pipes hold, waiting at most ``timeout`` seconds for it."""
        for key, _ in self.sel.select(timeout=timeout):
            data = os.read(key.fd, 65536)
            if not data:
                self.sel.unregister(key.fileobj)
                continue
            room = self.cap - len(self.bufs[key.fd])
            if room > 0:
                self.bufs[key.fd] += data[:room]
            self.cut[key.fd] += max(0, len(data) - max(room, 0))

    def result(self) -> dict:
        self.sel.close()
        out_fd, err_fd = self.fds
        return {
            "stdout": base64.b64encode(bytes(self.bufs[out_fd])).decode(),
            "stderr": base64.b64encode(bytes(self.bufs[err_fd])).decode(),
            "cut": [self.cut[out_fd], self.cut[err_fd]],
        }


def _pump(proc: subprocess.Popen, output: _Output, deadline: float) -> bool:
    """Read the output until the pipes close; True when the command timed out.

    Once the command itself has exited, the rest of its process group is killed and
    the pipes are drained only briefly: a detached (setsid) child holding them does not
    make the command time out. After a timeout, the group is killed and drained alike.
    """
    timed_out = False
    stop = deadline
    while output.open:
        now = time.monotonic()
        if now >= stop:
            if timed_out or proc.returncode is not None:
                break
            timed_out = True
            kill_group(proc.pid)
            stop = now + _DRAIN_AFTER_KILL
            continue
        output.read(min(0.05, stop - now))
        if proc.returncode is None and proc.poll() is not None:
            kill_group(proc.pid)  # background children would hold the pipes open
            stop = min(stop, time.monotonic() + _DRAIN_AFTER_KILL)
    return timed_out


def _await_exit(proc: subprocess.Popen, deadline: float) -> bool:
    """Wait until ``deadline`` for a command that closed its own stdout and stderr
    (``exec > log 2>&1``); True when it timed out (its group is then killed)."""
    if proc.returncode is not None:
        return False
    try:
        proc.wait(timeout=max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        kill_group(proc.pid)
        return True
    return False


def _reap(proc: subprocess.Popen) -> int:
    """The command's exit status; what is left of its process group is killed."""
    try:
        code = proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        kill_group(proc.pid)
        code = proc.wait()
    kill_group(proc.pid)  # background processes do not outlive the command
    for f in (proc.stdout, proc.stderr):
        if f is not None:  # started with PIPEs: never None
            f.close()
    return code


def run_command(req: dict, on_start=None) -> dict:
    """Run one command; never raises for the command's own failures.

    Request keys: ``cmd`` (argv list or shell string), ``cap``, ``timeout``, ``env``,
    ``base_env``, ``cwd``, ``stdin`` (base64), and optional per-command rlimits
    ``file_size``, ``cpu_seconds``, ``memory``, ``nproc`` (bytes / seconds / count).
    ``on_start(pid)`` is called once the command runs (its process group's id), so a
    caller on another thread can kill it.
    """
    argv = req["cmd"] if isinstance(req["cmd"], list) else ["/bin/sh", "-c", req["cmd"]]
    cap = int(req.get("cap") or 1_000_000)
    timeout = float(req.get("timeout") or 30.0)
    env = dict(req.get("base_env") or os.environ)
    env.update(req.get("env") or {})
    stdin = base64.b64decode(req["stdin"]) if req.get("stdin") else b""
    start = time.monotonic()
    try:
        proc = subprocess.Popen(
            argv,
            cwd=req.get("cwd") or None,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # its own process group: a timeout kills all of it
            preexec_fn=_limits(
                int(req.get("file_size") or 0),
                int(req.get("cpu_seconds") or 0),
                int(req.get("memory") or 0),
                int(req.get("nproc") or 0),
            ),
        )
    except OSError as exc:
        return _failed_to_start(argv, exc, start)
    if on_start is not None:
        on_start(proc.pid)
    threading.Thread(target=_feed, args=(proc, stdin), daemon=True).start()
    output = _Output(proc, cap)
    deadline = start + timeout
    timed_out = _pump(proc, output, deadline) or _await_exit(proc, deadline)
    code = _reap(proc)
    return {
        "exit_code": code,
        "duration": time.monotonic() - start,
        "timed_out": timed_out,
        **output.result(),
    }


def _error(exc: BaseException) -> dict:
    return {"error": type(exc).__name__, "message": str(exc)}


def read_regular(path: str, limit: int | None = None) -> bytes:
    """A regular file's bytes (at most ``limit + 1`` of them when ``limit`` is given).

    Opened without blocking, so a FIFO (or a device) is refused at once instead of
    waiting for a writer: ValueError for those, IsADirectoryError for a directory.
    """
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        if not stat.S_ISREG(mode):
            raise ValueError(_NOT_REGULAR % path)
        with open(fd, "rb", closefd=False) as f:
            return f.read(-1 if limit is None else limit + 1)
    finally:
        os.close(fd)


def read_file(req: dict) -> dict:
    """``{"data": base64}``, or ``{"error": ..., "message": ...}``."""
    limit = int(req.get("limit") or 64 * 1024 * 1024)
    try:
        data = read_regular(req["path"], limit)
    except (OSError, ValueError) as exc:
        return _error(exc)
    if len(data) > limit:
        return {"error": "ValueError", "message": f"{req['path']} is larger than {limit} bytes"}
    return {"data": base64.b64encode(data).decode()}


def write_regular(path: str, data: bytes) -> None:
    """Replace a regular file's bytes, creating it and its parent directories. Opened
    without blocking: a FIFO is refused instead of waiting for a reader."""
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC
    try:
        fd = os.open(path, flags, 0o666)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a FIFO nobody reads
            raise ValueError(_NOT_REGULAR % path) from None
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(_NOT_REGULAR % path)
        os.ftruncate(fd, 0)
        with open(fd, "wb", closefd=False) as f:
            f.write(data)
    finally:
        os.close(fd)


def write_file(req: dict) -> dict:
    """Write ``data`` (base64) to ``path``, creating its parent directories."""
    try:
        write_regular(req["path"], base64.b64decode(req["data"]))
    except (OSError, ValueError) as exc:
        return _error(exc)
    return {"ok": True}


def _reset(_req: dict) -> dict:
    # kill(-1) reaches every process this uid may signal except the caller: the model's
    # leftovers and a stopped or hung earlier server. The container's idle processes run
    # as another uid and are not touched.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(-1, signal.SIGKILL)
    return {"ok": True}


_OPS = {
    "exec": run_command,
    "read": read_file,
    "write": write_file,
    "reset": _reset,
    "ping": lambda _req: {"ok": True, "pid": os.getpid()},
}


def _harden(file_size: int) -> None:
    if file_size:  # inherited by every command; set once instead of per command
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_size, file_size))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # core dumps would fill the tmpfs
    # Not dumpable: /proc/<this pid>/* becomes root's, so the model's code (same uid)
    # cannot ptrace the server, read its memory or write into its stdout. Commands
    # exec() new programs and are dumpable again. Best effort: ctypes may be missing.
    with contextlib.suppress(Exception):
        import ctypes

        ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4


def _read_exact(stream, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            return b""
        data += chunk
    return data


def serve(stdin=None, stdout=None) -> None:
    """Answer framed requests until stdin ends."""
    stdin = stdin or sys.stdin.buffer
    stdout = stdout or sys.stdout.buffer
    while True:
        header = _read_exact(stdin, _HEADER.size)
        if not header:
            return
        body = _read_exact(stdin, _HEADER.unpack(header)[0])
        req: dict = {}
        try:
            req = json.loads(body)
            op = _OPS.get(req.get("op"))  # type: ignore[arg-type]  # not a str: unknown
            resp = op(req) if op else _error(ValueError(f"unknown op {req.get('op')!r}"))
        except Exception as exc:  # a broken request must not end the server
            resp = _error(exc)
        resp["id"] = req.get("id") if isinstance(req, dict) else None
        payload = json.dumps(resp).encode()
        stdout.write(_HEADER.pack(len(payload)) + payload)
        stdout.flush()


if __name__ == "__main__":
    _harden(file_size=int(sys.argv[1]) if len(sys.argv) > 1 else 0)
    serve()
