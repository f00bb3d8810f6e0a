"""The Sandbox interface: the boundary for untrusted work (code the model wrote)."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field

from sandlot.errors import SandboxError

__all__ = ["ExecResult", "Sandbox", "SandboxError", "SandboxLimits"]


@dataclass
class ExecResult:
    """What one command did.

    ``exit_code`` is the process's exit status (-N when killed by signal N; 124 or -9 by
    convention of the backend when ``timed_out``). ``stdout``/``stderr`` are decoded text
    (invalid UTF-8 replaced); when output was capped, the text ends with a marker line
    saying how much was cut, and ``truncated`` is True.
    """

    exit_code: int
    stdout: str = ""
    stderr: str = ""
    duration: float = 0.0
    timed_out: bool = False
    truncated: bool = False

    @property
    def ok(self) -> bool:
        return self.exit_code == 0 and not self.timed_out


@dataclass
class SandboxLimits:
    """Resource limits for one sandbox. Every field can be set per environment.

    Attributes:
        memory_mb: memory limit (container cgroup / RLIMIT_AS for local).
        cpus: CPU quota in cores (docker) .
        pids: maximum number of processes.
        timeout: default per-command timeout in seconds.
        output_bytes: cap on stdout and stderr each; the rest is cut with a marker.
        file_size_mb: largest file a command may write (RLIMIT_FSIZE) .
        workdir_mb: size of the writable work directory (docker tmpfs).
        inodes: most files and directories each writable place (docker: the /work,
            /tmp and /dev/shm tmpfs mounts) may hold; each costs about 1 KB of the
            container's memory, even when empty.
        network: allow network access (off by default).
    """

    memory_mb: int = 512
    cpus: float = 1.0
    pids: int = 128
    timeout: float = 30.0
    output_bytes: int = 1_000_000
    file_size_mb: int = 64
    workdir_mb: int = 256
    inodes: int = 32_768
    network: bool = False
    extra: dict[str, str] = field(default_factory=dict)


class Sandbox(abc.ABC):
    """One small interface, many backends (docker, local, or a third party's).

    All methods are async. ``workdir`` is the directory commands start in and relative
    paths resolve against.
    """

    backend: str = "abstract"
    workdir: str = "/work"

    @abc.abstractmethod
    async def exec(
        self,
        cmd: str | list[str],
        timeout: float | None = None,
        stdin: str | bytes | None = None,
        env: dict[str, str] | None = None,
        cwd: str | None = None,
    ) -> ExecResult:
        """Run ``cmd`` (a shell string, or an argv list) and wait for it."""

    @abc.abstractmethod
    async def read_file(self, path: str, *, binary: bool = False) -> str | bytes:
        """Read a file; raises FileNotFoundError when it does not exist."""

    @abc.abstractmethod
    async def write_file(self, path: str, content: str | bytes) -> None:
        """Write a file (creating parent directories) where the sandbox's processes see it."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release the sandbox; safe to call twice."""

    async def quiesce(self) -> None:
        """End every process the commands left behind, so that what follows (the state
        checks, the snapshot) reads a final state through a channel none of them can
        reach. The Docker and local backends do; this default does nothing."""
        return None

    async def __aenter__(self) -> Sandbox:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()
