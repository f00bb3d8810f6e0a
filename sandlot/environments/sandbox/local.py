"""The local backend: a subprocess in a temporary directory, with rlimits. It does not
isolate — it exists for machines without Docker, is used only when asked for by name,
and says so. Commands get a minimal environment (none of this process's variables but
PATH), and closing kills what they left running. Run as root, it also confines them:
a user of their own and no network (see ``confine.py``)."""

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
from typing import Any, TypeVar

from sandlot.environments.sandbox.agent import (
    kill_group,
    read_regular,
    run_command,
    write_regular,
)
from sandlot.environments.sandbox.base import ExecResult, Sandbox, SandboxError, SandboxLimits
from sandlot.environments.sandbox.confine import Confinement, kill_marked
from sandlot.environments.sandbox.output import to_exec_result
from sandlot.environments.sandbox.threads import run_blocking

__all__ = ["LocalSandbox", "NotIsolatedWarning"]


class NotIsolatedWarning(UserWarning):
    """The local sandbox runs commands on this machine: as the current user, or (run as
    root) as a user of their own without network; either way without isolation."""


_warned = False
_T = TypeVar("_T")
_FILE_TIMEOUT = 60.0  # seconds for one confined file operation
_READ_LIMIT = 64 * 1024 * 1024  # bytes a confined read returns at most (as docker's)
# The file errors that callers handle as the built-in exceptions.
_FILE_ERRORS: dict[str, type[OSError]] = {
    e.__name__: e
    for e in (
        FileNotFoundError,
        FileExistsError,
        IsADirectoryError,
        NotADirectoryError,
        PermissionError,
    )
}


class LocalSandbox(Sandbox):
    """Commands run in a private temporary directory, in their own session, with CPU,
    memory, process and file-size limits and a minimal environment; timeouts kill the
    whole process group, and closing kills whatever the sandbox's commands left running.

    Paths: relative paths and paths under ``/work`` map into the temporary directory, so
    the same tasks run on both backends. Other absolute paths are the host's own (when
    confined, with the rights of the sandbox's user).

    Args:
        limits: resource limits (``network`` only matters when confined).
        confine: run commands and file operations as a user of their own, in a network
            namespace of their own (see ``confine.py``). Needs root; the default is to
            confine when this process runs as root.

    Raises:
        SandboxError: ``confine=True`` without root.
    """

    backend = "local"
    isolated = False

    def __init__(self, limits: SandboxLimits | None = None, *, confine: bool | None = None) -> None:
        root_user = os.geteuid() == 0
        if confine and not root_user:
            raise SandboxError("a confined local sandbox needs root (it switches users)")
        self.confined = root_user if confine is None else confine
        global _warned
        if not _warned:
            _warned = True
            how = (
                "as a user of their own, without network, but can read what any user can"
                if self.confined
                else "as this user, with its files and network"
            )
            warnings.warn(
                f"the local sandbox does not isolate: commands run on this machine {how}; "
                "use the docker backend for untrusted code",
                NotIsolatedWarning,
                stacklevel=2,
            )
        self.limits = limits or SandboxLimits()
        self.root = Path(tempfile.mkdtemp(prefix="sandlot-local-"))
        self.workdir = str(self.root)
        self._closed = False
        self._confinement: Confinement | None = None
        if self.confined:
            try:
                self._confinement = Confinement(self.root, network=self.limits.network)
            except BaseException:
                shutil.rmtree(self.root, ignore_errors=True)
                raise

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
        request = {
            "cmd": cmd,
            "timeout": timeout or limits.timeout,
            "cap": limits.output_bytes,
            "env": env or {},
            "base_env": self._base_env(),
            "cwd": self._path(cwd) if cwd else str(self.root),
            "stdin": base64.b64encode(data).decode() if data else None,
            "file_size": limits.file_size_mb * 1024 * 1024,
            "cpu_seconds": int(timeout or limits.timeout) + 1,
            "memory": limits.memory_mb * 1024 * 1024,
            # Unconfined, RLIMIT_NPROC counts every process of this user: a loose guard.
            # Confined, the wrapper sets it for the sandbox's own user: an exact one.
            "nproc": 0 if os.geteuid() == 0 else limits.pids + len(os.listdir("/proc")),
        }
        running = _Running()
        try:
            reply = await run_blocking(self._run, request, running.started)
        except asyncio.CancelledError:
            running.cancel()  # the caller gave up: the command goes too
            raise
        except Exception as exc:  # a bad request (NUL byte, non-text env): as docker says it
            raise SandboxError(f"the sandbox could not run the command: {exc}") from exc
        return to_exec_result(reply)

    def _run(self, request: dict[str, Any], on_start: Callable[[int], None]) -> dict[str, Any]:
        """Run one command (on a worker thread), confined when the sandbox is."""
        if self._confinement is not None:
            cmd = request["cmd"]
            argv = cmd if isinstance(cmd, list) else ["/bin/sh", "-c", cmd]
            if not argv:
                raise ValueError("an empty command")
            request["cmd"] = self._confinement.wrap(argv, nproc=self.limits.pids)
        return run_command(request, on_start)

    def _confined_file_op(self, op: str, path: str, data: bytes = b"") -> bytes:
        """Read (``op`` "read": the bytes) or write (``data``) a file as the sandbox's
        user (on a worker thread), so a file operation has exactly the rights the
        sandbox's commands have.

        Raises:
            FileNotFoundError, FileExistsError, IsADirectoryError, NotADirectoryError,
            PermissionError: as the operation raised them. SandboxError: anything else
                (not a regular file, too large, or the operation did not finish).
        """
        assert self._confinement is not None
        confinement = self._confinement
        argv = confinement.read(path, _READ_LIMIT) if op == "read" else confinement.write(path)
        raw = run_command(
            {
                "cmd": argv,
                "timeout": _FILE_TIMEOUT,
                "cap": _READ_LIMIT,
                "base_env": self._base_env(),
                "cwd": str(self.root),
                "stdin": base64.b64encode(data).decode() if data else None,
            }
        )
        if raw["exit_code"] == 0 and not raw.get("timed_out"):
            return base64.b64decode(raw["stdout"])
        stderr = base64.b64decode(raw.get("stderr") or "").decode(errors="replace")
        name, _, message = stderr.partition("\n")
        if raw["exit_code"] == 1 and message:
            raise _FILE_ERRORS.get(name, SandboxError)(self._shown(message))
        why = "timed out" if raw.get("timed_out") else f"exit code {raw['exit_code']}"
        raise SandboxError(
            f"{op} {self._shown(path)} failed ({why}): {self._shown(stderr.strip()[-300:])}"
        )

    def _base_env(self) -> dict[str, str]:
        """What commands start with: none of this process's variables but PATH, so no
        key, token or password it holds. SANDLOT_WORKDIR also marks the processes that
        closing the sandbox kills."""
        return {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(self.root),
            "LANG": "C.UTF-8",
            "TMPDIR": str(self.root),
            "SANDLOT_WORKDIR": str(self.root),
        }

    async def read_file(self, path: str, *, binary: bool = False) -> str | bytes:
        """Read a regular file (see :meth:`_path` for where); confined, as the sandbox's
        user.

        Raises:
            FileNotFoundError: no such file. PermissionError: confined, a file the
                sandbox's user may not read. SandboxError: not a regular file (a FIFO is
                refused at once, not waited on), or a bad path.
        """
        self._check_open()
        if self._confinement is not None:
            data = await run_blocking(self._confined_file_op, "read", self._path(path))
        else:
            data = await self._file_op(read_regular, self._path(path))
        return data if binary else data.decode("utf-8", errors="replace")

    async def write_file(self, path: str, content: str | bytes) -> None:
        """Write a file, creating its parent directories; confined, as the sandbox's
        user (a link the sandbox's commands planted leads nowhere they could not write)."""
        self._check_open()
        data = content.encode() if isinstance(content, str) else content
        if self._confinement is not None:
            await run_blocking(self._confined_file_op, "write", self._path(path), data)
        else:
            await self._file_op(write_regular, self._path(path), data)

    async def quiesce(self) -> None:
        """Kill every process the sandbox's commands left running (see :meth:`close`);
        the sandbox stays open."""
        self._check_open()
        await run_blocking(self._end_leftovers)

    async def close(self) -> None:
        """Kill every process the sandbox's commands left running, detached ones too
        (confined: every process of its user; otherwise those that carry its
        ``SANDLOT_WORKDIR`` in their environment), then delete the temporary directory;
        safe to call twice."""
        if not self._closed:
            self._closed = True
            await run_blocking(self._close_sync)

    def _end_leftovers(self) -> None:
        if self._confinement is not None:
            self._confinement.kill_all()
        else:
            kill_marked(f"SANDLOT_WORKDIR={self.root}".encode())

    def _close_sync(self) -> None:
        try:
            self._end_leftovers()
            if self._confinement is not None:
                self._confinement.close()
        finally:
            shutil.rmtree(self.root, True)


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
