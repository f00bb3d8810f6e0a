"""The local backend: a subprocess in a temporary directory, with rlimits. It does not
isolate anything — it exists for machines without Docker, and says so."""

from __future__ import annotations

import asyncio
import base64
import os
import posixpath
import shutil
import tempfile
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sandlot.environments.sandbox.agent import (
    kill_group,
    read_regular,
    run_command,
    write_regular,
)
from sandlot.environments.sandbox.base import ExecResult, Sandbox, SandboxError, SandboxLimits
from sandlot.environments.sandbox.output import to_exec_result
from sandlot.environments.sandbox.threads import run_blocking

__all__ = ["LocalSandbox", "NotIsolatedWarning"]


class NotIsolatedWarning(UserWarning):
    """The local sandbox runs commands as the current user on this machine."""


_warned = False
_T = TypeVar("_T")


class LocalSandbox(Sandbox):
    """Commands run in a private temporary directory, in their own session, with CPU,
    memory, process and file-size limits; timeouts kill the whole process group.

    Paths: relative paths and paths under ``/work`` map into the temporary directory, so
    the same tasks run on both backends. Other absolute paths are the host's own.
    """

    backend = "local"
    isolated = False

    def __init__(self, limits: SandboxLimits | None = None) -> None:
        global _warned
        if not _warned:
            _warned = True
            warnings.warn(
                "the local sandbox does not isolate: commands run as this user on this "
                "machine; use the docker backend for untrusted code",
                NotIsolatedWarning,
                stacklevel=2,
            )
        self.limits = limits or SandboxLimits()
        self.root = Path(tempfile.mkdtemp(prefix="sandlot-local-"))
        self.workdir = str(self.root)
        self._closed = False

    def _check_open(self) -> None:
        if self._closed:
            raise SandboxError("the sandbox is closed")

    def _path(self, path: str) -> str:
        """``/work`` and paths under it, and relative paths, map into the temporary
        directory (the docker backend's work dir is ``/work``).

        Raises:
            SandboxError: the path holds a NUL byte, or ``..`` leads out of /work.
        """
        if "\0" in path:
            raise SandboxError(f"{path!r}: a path cannot contain a NUL byte")
        if path == "/work" or path.startswith("/work/"):
            rel = path[len("/work") :].lstrip("/") or "."
        elif os.path.isabs(path):
            return path
        else:
            rel = path
        rel = posixpath.normpath(rel)
        if rel == ".." or rel.startswith("../"):
            raise SandboxError(f"{path!r} leads out of the work directory /work")
        return str(self.root / rel)

    def _shown(self, text: str) -> str:
        """``text`` with the temporary directory named as the sandbox names it: /work."""
        return text.replace(str(self.root), "/work")

    def _as_sandbox_error(self, exc: Exception) -> Exception:
        """An OSError with /work in its file names; anything else as a SandboxError."""
        if not isinstance(exc, OSError):
            return SandboxError(self._shown(str(exc)))
        if exc.errno is None or not isinstance(exc.filename, str):
            return exc
        names = [self._shown(n) for n in (exc.filename, exc.filename2) if isinstance(n, str)]
        return type(exc)(exc.errno, exc.strerror, *names[:1], None, *names[1:])

    async def _file_op(self, fn: Callable[..., _T], *args: object) -> _T:
        try:
            return await run_blocking(fn, *args)
        except (OSError, ValueError, TypeError) as exc:
            raise self._as_sandbox_error(exc) from exc

    async def exec(
        self,
        cmd: str | list[str],
        timeout: float | None = None,
        stdin: str | bytes | None = None,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
    ) -> ExecResult:
        """Run ``cmd`` in the temporary directory (see :class:`Sandbox`)."""
        self._check_open()
        data = stdin.encode() if isinstance(stdin, str) else stdin
        limits = self.limits
        base_env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.root),
            "LANG": "C.UTF-8",
            "TMPDIR": str(self.root),
            "SANDLOT_WORKDIR": str(self.root),
        }
        request = {
            "cmd": cmd,
            "timeout": timeout or limits.timeout,
            "cap": limits.output_bytes,
            "env": env or {},
            "base_env": base_env,
            "cwd": self._path(cwd) if cwd else str(self.root),
            "stdin": base64.b64encode(data).decode() if data else None,
            "file_size": limits.file_size_mb * 1024 * 1024,
            "cpu_seconds": int(timeout or limits.timeout) + 1,
            "memory": limits.memory_mb * 1024 * 1024,
            # RLIMIT_NPROC counts every process of the user, so it is only a loose guard.
            "nproc": 0 if os.geteuid() == 0 else limits.pids + len(os.listdir("/proc")),
        }
        running = _Running()
        try:
            reply = await run_blocking(run_command, request, running.started)
        except asyncio.CancelledError:
            running.cancel()  # the caller gave up: the command goes too
            raise
        except Exception as exc:  # a bad request (NUL byte, non-text env): as docker says it
            raise SandboxError(f"the sandbox could not run the command: {exc}") from exc
        return to_exec_result(reply)

    async def read_file(self, path: str, *, binary: bool = False) -> str | bytes:
        """Read a regular file (see :meth:`_path` for where).

        Raises:
            FileNotFoundError: no such file. SandboxError: not a regular file (a FIFO is
                refused at once, not waited on), or a bad path.
        """
        self._check_open()
        data = await self._file_op(read_regular, self._path(path))
        return data if binary else data.decode("utf-8", errors="replace")

    async def write_file(self, path: str, content: str | bytes) -> None:
        """Write a file, creating its parent directories."""
        self._check_open()
        data = content.encode() if isinstance(content, str) else content
        await self._file_op(write_regular, self._path(path), data)

    async def close(self) -> None:
        """Delete the temporary directory; safe to call twice."""
        if not self._closed:
            self._closed = True
            await run_blocking(shutil.rmtree, self.root, True)


class _Running:
    """The process group of one command run on a worker thread, so that cancelling the
    awaiting task kills it (whether it has started yet or not)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid: int | None = None
        self._cancelled = False

    def started(self, pid: int) -> None:
        with self._lock:
            self._pid = pid
            cancelled = self._cancelled
        if cancelled:
            kill_group(pid)

    def cancel(self) -> None:
        with self._lock:
            self._cancelled = True
            pid = self._pid
        if pid is not None:
            kill_group(pid)
