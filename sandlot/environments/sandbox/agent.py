"""The command server that runs inside a sandbox (stdlib only; Python 3.9+).

The host starts it with one ``docker exec`` of ``python3 -u -c <this file's source>
<file size limit>``, so the image does not have to carry it. It reads length-prefixed
JSON requests on stdin and answers on stdout, one at a time, echoing each request's
``id``:

- ``exec`` runs a command in a new session, enforces the timeout itself and kills the
  whole process group with SIGKILL, and keeps at most ``cap`` bytes of each output
  stream (the head), counting what it cut;
- ``read`` / ``write`` move files (base64), so writes land where commands see them;
- ``reset`` kills every other process of the sandbox user (after a server restart);
- ``ping`` answers at once.

The local backend imports :func:`run_command` from here, so both backends share it.
"""

import base64
import contextlib
import json
import os
import resource
import selectors
import signal
import struct
import subprocess
import sys
import threading
import time

__all__ = ["read_file", "run_command", "serve", "write_file"]

_HEADER = struct.Struct(">I")
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


def _kill_group(pid: int) -> None:
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
    try:
        if data:
            proc.stdin.write(data)
    except OSError:
        pass
    finally:
        with contextlib.suppress(OSError):
            proc.stdin.close()


def run_command(req: dict) -> dict:
    """Run one command; never raises for the command's own failures.

    Request keys: ``cmd`` (argv list or shell string), ``cap``, ``timeout``, ``env``,
    ``base_env``, ``cwd``, ``stdin`` (base64), and optional per-command rlimits
    ``file_size``, ``cpu_seconds``, ``memory``, ``nproc`` (bytes / seconds / count).
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
    threading.Thread(target=_feed, args=(proc, stdin), daemon=True).start()
    out_fd, err_fd = proc.stdout.fileno(), proc.stderr.fileno()
    bufs = {out_fd: bytearray(), err_fd: bytearray()}
    cut = {out_fd: 0, err_fd: 0}
    sel = selectors.DefaultSelector()
    for f in (proc.stdout, proc.stderr):
        sel.register(f, selectors.EVENT_READ)
    deadline = start + timeout
    timed_out = reaped = False
    while sel.get_map():
        now = time.monotonic()
        if now >= deadline and not timed_out:
            timed_out = True
            _kill_group(proc.pid)
            deadline = now + _DRAIN_AFTER_KILL
        elif timed_out and now >= deadline:
            break
        for key, _ in sel.select(timeout=min(0.05, max(0.0, deadline - now))):
            data = os.read(key.fd, 65536)
            if not data:
                sel.unregister(key.fileobj)
                continue
            # Keep the head, count the rest: memory stays bounded whatever the flood.
            room = cap - len(bufs[key.fd])
            if room > 0:
                bufs[key.fd] += data[:room]
            cut[key.fd] += max(0, len(data) - max(room, 0))
        if not reaped and proc.poll() is not None:
            reaped = True
            _kill_group(proc.pid)  # background children would hold the pipes open
    sel.close()
    try:
        code = proc.wait(timeout=5)
    except subprocess.TimeoutExpired:
        _kill_group(proc.pid)
        code = proc.wait()
    for f in (proc.stdout, proc.stderr):
        f.close()
    return {
        "exit_code": code,
        "stdout": base64.b64encode(bytes(bufs[out_fd])).decode(),
        "stderr": base64.b64encode(bytes(bufs[err_fd])).decode(),
        "duration": time.monotonic() - start,
        "timed_out": timed_out,
        "cut": [cut[out_fd], cut[err_fd]],
    }


def _error(exc: BaseException) -> dict:
    return {"error": type(exc).__name__, "message": str(exc)}


def read_file(req: dict) -> dict:
    """``{"data": base64}``, or ``{"error": ..., "message": ...}``."""
    limit = int(req.get("limit") or 64 * 1024 * 1024)
    try:
        with open(req["path"], "rb") as f:
            data = f.read(limit + 1)
    except OSError as exc:
        return _error(exc)
    if len(data) > limit:
        return {"error": "ValueError", "message": f"{req['path']} is larger than {limit} bytes"}
    return {"data": base64.b64encode(data).decode()}


def write_file(req: dict) -> dict:
    """Write ``data`` (base64) to ``path``, creating its parent directories."""
    try:
        parent = os.path.dirname(req["path"])
        if parent:
            os.makedirs(parent, exist_ok=True)
        with open(req["path"], "wb") as f:
            f.write(base64.b64decode(req["data"]))
    except OSError as exc:
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
            op = _OPS.get(req.get("op"))
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
