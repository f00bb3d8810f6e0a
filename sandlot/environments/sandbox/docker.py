"""The Docker backend: one hardened container per episode, commands through a
long-lived command server inside it (no ``docker exec`` per command)."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import os
import posixpath
import socket
import threading
import time
from typing import Any

from sandlot.environments.sandbox.base import ExecResult, Sandbox, SandboxError, SandboxLimits
from sandlot.environments.sandbox.image import IMAGE, SANDBOX_UID, docker_client
from sandlot.environments.sandbox.launch import AGENT_SOURCE, kill_user_processes, server_argv
from sandlot.environments.sandbox.output import to_exec_result
from sandlot.environments.sandbox.protocol import (
    MAX_FRAME,
    AgentConnection,
    AgentGone,
    exec_frame_limit,
)
from sandlot.environments.sandbox.threads import run_blocking, run_blocking_owned
from sandlot.errors import UserError

__all__ = ["AGENT_SOURCE", "IDLE_USER", "LABEL", "DockerSandbox", "container_options"]

LABEL = "sandlot"
# The container's init and idle main process run as "nobody": not root, and not the
# sandbox user either, so the model's `kill -9 -1` cannot take the container down.
IDLE_USER = "65534:65534"
_BASE_ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/work",
    "LANG": "C.UTF-8",
    "PYTHONDONTWRITEBYTECODE": "1",
    "SANDLOT_WORKDIR": "/work",  # the same variable points at the local backend's dir
}
_CONNECT_TIMEOUT = 30.0  # python3 starting on a loaded 2-core machine
_SMALL_FRAME = 64 * 1024  # a ping's or a write's answer
_SHM_MB = 64  # /dev/shm, Docker's default size
# The command server's file errors that callers handle as the built-in exceptions.
_FILE_ERRORS: dict[str, type[OSError]] = {
    e.__name__: e for e in (FileNotFoundError, IsADirectoryError, NotADirectoryError)
}


def container_options(limits: SandboxLimits, run_id: str, image: str) -> dict[str, Any]:
    """Everything the container is created with: the hardening is here, in one place.

    ``limits.extra["tmp_mb"]`` sizes /tmp (default 64). Every writable place holds at
    most ``limits.inodes`` files: their size limits count bytes, and empty files cost
    memory too.

    Raises:
        UserError: ``limits.inodes`` is below 1 (tmpfs reads 0 as "no limit").
    """
    if limits.inodes < 1:
        raise UserError(
            f"SandboxLimits.inodes must be at least 1 (got {limits.inodes}); it is the "
            "most files each writable place may hold, e.g. 32768"
        )
    tmp_mb = int(limits.extra.get("tmp_mb", 64))
    owned = f"nr_inodes={limits.inodes},uid={SANDBOX_UID},gid={SANDBOX_UID}"
    return dict(
        image=image,
        command=["sleep", "infinity"],
        detach=True,
        init=True,  # reaps zombies and forwards signals
        user=IDLE_USER,  # commands run as SANDBOX_UID through the command server
        working_dir="/work",
        network_mode="bridge" if limits.network else "none",
        mem_limit=f"{limits.memory_mb}m",
        memswap_limit=f"{limits.memory_mb}m",  # no swap beyond the memory limit
        nano_cpus=int(limits.cpus * 1e9),
        pids_limit=limits.pids,
        cap_drop=["ALL"],
        security_opt=["no-new-privileges"],
        read_only=True,
        tmpfs={
            "/work": f"size={limits.workdir_mb}m,{owned},mode=0755,exec",
            "/tmp": f"size={tmp_mb}m,{owned},mode=1777,exec",
            # in place of Docker's own /dev/shm, which limits bytes only
            "/dev/shm": f"size={_SHM_MB}m,nr_inodes={limits.inodes},mode=1777,noexec",
        },
        environment=_BASE_ENV,
        labels={
            LABEL: "1",
            f"{LABEL}.run": run_id or "",
            f"{LABEL}.pid": str(os.getpid()),
            f"{LABEL}.host": socket.gethostname(),
            f"{LABEL}.created": str(int(time.time())),
        },
    )


class DockerSandbox(Sandbox):
    """A started container with its command server. Use :meth:`start` (or a pool).

    Attributes:
        container: the docker-py Container.
        limits: the SandboxLimits it was created with.
        answer_grace: seconds the host waits beyond a command's own timeout before it
            counts the command server as hung (the server needs a little to kill and
            drain; a stopped server never answers).
        file_timeout: seconds a read_file/write_file may take.
    """

    backend = "docker"
    workdir = "/work"
    isolated = True
    answer_grace = 10.0
    file_timeout = 120.0

    def __init__(self, container: Any, client: Any, limits: SandboxLimits) -> None:
        self.container = container
        self.client = client
        self.limits = limits
        self._conn: AgentConnection | None = None
        self._lock = threading.Lock()  # one request at a time on the socket
        self._closed = False
        # Has a command run since every process of the sandbox user was last killed
        # (or since the container started)? ``quiesce`` has nothing to do when not.
        self._ran = False

    @classmethod
    def start_sync(
        cls,
        limits: SandboxLimits | None = None,
        *,
        run_id: str = "",
        image: str = IMAGE,
        client: Any = None,
    ) -> DockerSandbox:
        """Create and start the container and its command server (blocking).

        Raises:
            SandboxError: the container or its server could not be started.
        """
        limits = limits or SandboxLimits()
        client = client or docker_client()
        options = container_options(limits, run_id, image)
        try:
            container = client.containers.run(**options)
        except Exception as exc:
            raise SandboxError(
                f"cannot start a sandbox container from {image}: {exc}; "
                "run `sandlot sandbox doctor`"
            ) from exc
        sandbox = cls(container, client, limits)
        try:
            sandbox._connect()
        except Exception as exc:
            sandbox.close_sync()
            raise SandboxError(f"the sandbox's command server did not start: {exc}") from exc
        return sandbox

    @classmethod
    async def start(
        cls, limits: SandboxLimits | None = None, *, run_id: str = "", image: str = IMAGE
    ) -> DockerSandbox:
        """Create and start a sandbox (see :meth:`start_sync`). Cancelled, it removes the
        container its worker thread goes on to start."""
        return await run_blocking_owned(
            cls.start_sync, cls.close_sync, limits, run_id=run_id, image=image
        )

    # --- the command server ------------------------------------------------------------

    def _fresh_server(self) -> None:
        """A new command server, started when no other process of the sandbox user is
        alive, so none can reach it."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        kill_user_processes(self.container, f"{SANDBOX_UID}:{SANDBOX_UID}")
        self._connect()
        self._ran = False

    def _connect(self) -> None:
        file_size = str(self.limits.file_size_mb * 1024 * 1024)
        exec_id = self.client.api.exec_create(
            self.container.id,
            server_argv(file_size),
            stdin=True,
            stdout=True,
            stderr=True,
            user=f"{SANDBOX_UID}:{SANDBOX_UID}",
            workdir="/work",
        )["Id"]
        self._conn = AgentConnection(self.client.api.exec_start(exec_id, socket=True))
        reply = self._conn.request({"op": "ping"}, _CONNECT_TIMEOUT, _SMALL_FRAME)
        if not reply.get("ok"):
            raise SandboxError(f"the sandbox command server did not answer a ping: {reply}")

    def _container_alive(self) -> bool:
        try:
            self.container.reload()
        except Exception:
            return False
        return self.container.status == "running"

    def _restart(self, cause: AgentGone) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
        if self._closed:
            raise SandboxError(f"the sandbox was closed during the call ({cause})") from cause
        if not self._container_alive():
            raise SandboxError(
                "the sandbox container is gone (killed, or out of memory); the episode's "
                f"sandbox cannot be used any more ({cause})"
            ) from cause
        try:
            # Start clean: a hung or stopped old server, and whatever the failed command
            # left running, go before the new server starts.
            self._fresh_server()
        except Exception as again:
            raise SandboxError(
                f"the sandbox's command server failed ({cause}) and could not be restarted: "
                f"{again}; the sandbox cannot be used any more (if it ran out of memory: "
                "files in /work and /tmp count against its memory limit)"
            ) from again

    def _request(
        self, request: dict[str, Any], timeout: float, limit: int = _SMALL_FRAME
    ) -> tuple[dict[str, Any] | None, str | None]:
        """(response, None), or (None, why) when the server failed (it is restarted).
        An answer longer than ``limit`` bytes counts as a failed server."""
        with self._lock:
            if self._closed:
                raise SandboxError("the sandbox is closed")
            if self._conn is None:  # an earlier restart failed half-way: try once more
                self._restart(AgentGone("the command server was not running"))
            assert self._conn is not None
            if request["op"] == "exec":
                self._ran = True
            try:
                return self._conn.request(request, timeout, limit), None
            except AgentGone as exc:
                detail = self._conn.stderr.decode(errors="replace")[-500:] if self._conn else ""
                self._restart(exc)
                return None, f"{exc}{': ' + detail.strip() if detail.strip() else ''}"

    def _exec_sync(self, request: dict[str, Any]) -> ExecResult:
        t0 = time.perf_counter()
        reply, died = self._request(
            request,
            float(request["timeout"]) + self.answer_grace,
            exec_frame_limit(int(request["cap"])),
        )
        if reply is None:
            return ExecResult(
                exit_code=-1,
                stdout="",
                stderr=f"the sandbox's command server died during this command and "
                f"was restarted ({died}); the processes it had started were killed; "
                "run the command again if needed",
                duration=time.perf_counter() - t0,
            )
        if "error" in reply:
            raise SandboxError(f"the sandbox could not run the command: {reply.get('message')}")
        return to_exec_result(reply, cap=int(request["cap"]))

    def _path(self, path: str) -> str:
        return path if path.startswith("/") else posixpath.join(self.workdir, path)

    def ping_sync(self) -> bool:
        """Is the command server answering? (restarts it when it is not)"""
        try:
            self._request({"op": "ping"}, _CONNECT_TIMEOUT)
        except SandboxError:
            return False
        return True

    async def ping(self) -> bool:
        """Is the sandbox usable? False when its container is gone or it is closed."""
        return await run_blocking(self.ping_sync)

    def quiesce_sync(self) -> None:
        """:meth:`quiesce`, blocking."""
        with self._lock:
            if self._closed:
                raise SandboxError("the sandbox is closed")
            if not self._ran and self._conn is not None:
                return  # nothing ran since the last sweep: only the server is alive
            if not self._container_alive():
                raise SandboxError(
                    "the sandbox container is gone (killed, or out of memory); its state "
                    "cannot be read"
                )
            try:
                self._fresh_server()
            except Exception as exc:
                raise SandboxError(
                    f"the sandbox could not be quiesced for its state to be read: {exc}"
                ) from exc

    async def quiesce(self) -> None:
        """Kill every process of the sandbox user (whatever the commands left running,
        detached or not, and the command server) and start a fresh command server, which
        then answers alone: no process the model started can reach it. Call it before
        reading the final state (the workspace does, before its checks and its snapshot).

        Raises:
            SandboxError: the container is gone, or the processes could not be killed.
        """
        await run_blocking(self.quiesce_sync)

    # --- the Sandbox interface ---------------------------------------------------------

    def exec_sync(
        self,
        cmd: str | list[str],
        timeout: float | None = None,
        stdin: str | bytes | None = None,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
    ) -> ExecResult:
        """:meth:`exec`, blocking (for sync callers such as ``doctor``)."""
        data = stdin.encode() if isinstance(stdin, str) else stdin
        request = {
            "op": "exec",
            "cmd": cmd,
            "timeout": timeout or self.limits.timeout,
            "cap": self.limits.output_bytes,
            "env": env or {},
            "base_env": _BASE_ENV,
            "cwd": self._path(cwd) if cwd else self.workdir,
            "stdin": base64.b64encode(data).decode() if data else None,
        }
        return self._exec_sync(request)

    async def exec(
        self,
        cmd: str | list[str],
        timeout: float | None = None,
        stdin: str | bytes | None = None,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
    ) -> ExecResult:
        """Run ``cmd`` in the container as the sandbox user (see :class:`Sandbox`).

        Raises:
            SandboxError: the sandbox is closed or its container is gone.

        Cancelling the call stops the command: the command server is restarted, which
        kills what the command started, and the next call waits only for that.
        """
        try:
            return await run_blocking(self.exec_sync, cmd, timeout, stdin, env, cwd)
        except asyncio.CancelledError:
            conn = self._conn
            if conn is not None:
                conn.abort()
            raise

    def _file_sync(self, request: dict[str, Any]) -> dict[str, Any]:
        limit = MAX_FRAME if request["op"] == "read" else _SMALL_FRAME
        reply, died = self._request(request, self.file_timeout, limit)
        if reply is None:
            raise SandboxError(
                f"{request['op']} {request['path']}: the sandbox's command server died "
                f"({died}); it was restarted, try again"
            )
        error = reply.get("error")
        if error in _FILE_ERRORS:
            raise _FILE_ERRORS[error](f"{request['path']} in the sandbox: {reply.get('message')}")
        if error:
            raise SandboxError(
                f"{request['op']} {request['path']}: {error}: {reply.get('message')}"
            )
        return reply

    async def read_file(self, path: str, *, binary: bool = False) -> str | bytes:
        """Read a file in the container (text with invalid UTF-8 replaced, or bytes).

        Raises:
            FileNotFoundError: no such file. SandboxError: any other failure.
        """
        reply = await run_blocking(self._file_sync, {"op": "read", "path": self._path(path)})
        data = base64.b64decode(reply["data"])
        return data if binary else data.decode("utf-8", errors="replace")

    async def write_file(self, path: str, content: str | bytes) -> None:
        """Write through the command server, so the file lands on the tmpfs the
        processes see (``put_archive`` would write beneath the tmpfs mount)."""
        data = content.encode() if isinstance(content, str) else content
        await run_blocking(
            self._file_sync,
            {"op": "write", "path": self._path(path), "data": base64.b64encode(data).decode()},
        )

    def close_sync(self) -> None:
        """Remove the container (blocking); safe to call twice."""
        # Without the lock: closing while a command runs must not wait for it. Removing
        # the container ends the server's stream and the running call raises.
        if self._closed:
            return
        self._closed = True
        if self._conn is not None:
            self._conn.close()
        with contextlib.suppress(Exception):  # already gone: nothing is left to leak
            self.container.remove(force=True)

    async def close(self) -> None:
        """Remove the container; safe to call twice."""
        await run_blocking(self.close_sync)
