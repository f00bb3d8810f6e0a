"""What the local backend can do about what its commands reach, and about what they
leave running.

Run as root, a local sandbox is *confined*: it gets a user id of its own (no passwd
entry, no groups; picked at random from a range no account uses) and, unless its limits
allow the network, a network namespace of its own with only a loopback interface, which
all its commands share. Commands and file operations run as that user in that
namespace (through :data:`WRAPPER`, a small Python program that enters them, then
executes the command or does the file operation), so the kernel's own checks keep them
out of root's files, this process's ``/proc`` entries and the Docker socket, and keep
their packets off the host's network; ``no_new_privs`` makes setuid files grant
nothing. ``RLIMIT_NPROC`` counts that user's processes
only, so the process limit is exact. Closing kills every process of that user
(``kill(-1)`` sent as that user reaches all of them, whatever session or parent they
have). What every user may read, that user may read too; what every user may write
(``/tmp``, ``/dev/shm``), it may write.

Not as root, none of this is possible: commands run as this user, and closing kills
the processes that carry the sandbox's marker in their environment (best effort: a
process that replaced its environment is not found).
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import os
import secrets
import signal
import socket
import stat
import struct
import subprocess
import sys
import threading
import warnings
from pathlib import Path
from typing import Any

from sandlot.environments.sandbox.base import SandboxError

__all__ = ["UID_RANGE", "WRAPPER", "Confinement", "kill_marked", "processes_of"]

UID_RANGE = (2_000_000_000, 2_100_000_000)  # far above any account's, below 2**31
_CLONE_NEWNET = 0x40000000
_SIOCGIFFLAGS, _SIOCSIFFLAGS = 0x8913, 0x8914  # get and set an interface's flags (IFF_UP: 1)

# argv: uid, nproc, netns path ("" for none), mode, then
#   mode "exec":  the command's argv (looked up on PATH as that user, as a shell does);
#   mode "read":  a path, and the most bytes to read: the file's bytes on stdout;
#   mode "write": a path: stdin's bytes become the file (its directories are made).
# Files are opened as the command server opens them (agent.read_regular/write_regular):
# without blocking, and only regular files. A file operation that fails exits 1 with
# the exception's name and message on stderr, one line each.
WRAPPER = r"""
import os, sys
uid, nproc, netns, mode = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
rest = sys.argv[5:]
def fail(what, exc):
    sys.stderr.write("sandlot: cannot %s: %s\n" % (what, exc))
    os._exit(126)
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS: setuid files grant nothing
    fail("set no_new_privs", os.strerror(ctypes.get_errno()))
if netns:
    try:
        fd = os.open(netns, os.O_RDONLY)
    except OSError as exc:
        fail("open the sandbox's network namespace", exc)
    if libc.setns(fd, 0x40000000) != 0:
        fail("enter the sandbox's network namespace", os.strerror(ctypes.get_errno()))
    os.close(fd)
import errno, signal, stat  # while this user may still read the standard library
if nproc:
    import resource
    resource.setrlimit(resource.RLIMIT_NPROC, (nproc, nproc))
try:
    os.setgroups([])
    os.setresgid(uid, uid, uid)
    os.setresuid(uid, uid, uid)
except OSError as exc:
    fail("switch to the sandbox's user %d" % uid, exc)
NOT_REGULAR = "%s is not a regular file (a FIFO, socket or device)"
def read(path, limit):
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        mode = os.fstat(fd).st_mode
        if stat.S_ISDIR(mode):
            raise IsADirectoryError(errno.EISDIR, os.strerror(errno.EISDIR), path)
        if not stat.S_ISREG(mode):
            raise ValueError(NOT_REGULAR % path)
        with open(fd, "rb", closefd=False) as f:
            data = f.read(limit + 1)
    finally:
        os.close(fd)
    if len(data) > limit:
        raise ValueError("%s is larger than %d bytes" % (path, limit))
    sys.stdout.buffer.write(data)
def write(path):
    parent = os.path.dirname(path)
    if parent:
        os.makedirs(parent, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC, 0o666)
    except OSError as exc:
        if exc.errno == errno.ENXIO:  # a FIFO nobody reads
            raise ValueError(NOT_REGULAR % path) from None
        raise
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise ValueError(NOT_REGULAR % path)
        os.ftruncate(fd, 0)
        with open(fd, "wb", closefd=False) as f:
            f.write(sys.stdin.buffer.read())
    finally:
        os.close(fd)
if mode in ("read", "write"):
    try:
        read(rest[0], int(rest[1])) if mode == "read" else write(rest[0])
    except (OSError, ValueError) as exc:
        sys.stderr.write("%s\n%s" % (type(exc).__name__, exc))
        sys.exit(1)
    sys.exit(0)
for sig in (signal.SIGPIPE, signal.SIGXFSZ):  # Python ignores them; the command must not
    signal.signal(sig, signal.SIG_DFL)
def find(name):
    if "/" in name:
        return name
    for folder in os.environ.get("PATH", os.defpath).split(os.pathsep):
        path = os.path.join(folder or ".", name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None
try:
    path = find(rest[0]) if rest else None
    if path is None:
        raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT))
    os.execv(path, rest)
except OSError as exc:
    sys.stderr.write("cannot start %s: %s\n" % (rest[0] if rest else "''", exc))
    os._exit(127 if isinstance(exc, FileNotFoundError) else 126)
"""

# Run as root: become the user, then SIGKILL every process it may signal — all of
# that user's processes, and only those.
_KILL_ALL = r"""
import os, signal, sys
uid = int(sys.argv[1])
os.setgroups([])
os.setresgid(uid, uid, uid)
os.setresuid(uid, uid, uid)
try:
    os.kill(-1, signal.SIGKILL)
except ProcessLookupError:
    pass
"""

_PYTHON = [sys.executable, "-I", "-S", "-c"]


def _live(pid_dir: Path) -> bool:
    """Is this /proc entry a process that is not a zombie?"""
    try:
        return (pid_dir / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def processes_of(uid: int) -> list[int]:
    """The live processes whose real user id is ``uid``."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:  # not /proc/PID's owner: a process that is not dumpable shows root's
            status = (entry / "status").read_text()
        except OSError:
            continue
        real = next((line.split()[1] for line in status.splitlines() if line[:4] == "Uid:"), "")
        if real == str(uid) and _live(entry):
            found.append(int(entry.name))
    return found


def kill_marked(marker: bytes, rounds: int = 10) -> int:
    """SIGKILL every process (of this user) whose environment holds ``marker`` (a whole
    ``NAME=value`` entry), until none is left or ``rounds`` passes; how many were
    killed."""
    killed = 0
    me = os.getpid()
    for _ in range(rounds):
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit() or int(entry.name) == me:
                continue
            try:
                environ = (entry / "environ").read_bytes()
            except OSError:
                continue
            if marker in environ.split(b"\0") and _live(entry):
                found.append(int(entry.name))
        if not found:
            return killed
        for pid in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
                killed += 1
    return killed


def _pick_uid() -> int:
    low, high = UID_RANGE
    while True:
        uid = low + secrets.randbelow(high - low)
        if not processes_of(uid):
            return uid


class Confinement:
    """One sandbox's user and network namespace (see the module's docstring).

    Args:
        root: the sandbox's directory; it is given to the user.
        network: keep the host's network (``SandboxLimits.network``) instead of a
            namespace of its own.
    """

    def __init__(self, root: Path, *, network: bool = False) -> None:
        blocked = [p for p in root.parents if not os.stat(p).st_mode & stat.S_IXOTH]
        if blocked:
            raise SandboxError(
                f"the confined sandbox's user cannot enter {blocked[0]} to reach its "
                f"directory {root}: set TMPDIR to a directory every user can enter (/tmp)"
            )
        self.uid = _pick_uid()
        os.chown(root, self.uid, self.uid)
        self._netns_fd: int | None = None
        why = None
        if not network:
            self._netns_fd, why = _make_netns()
        if why:
            warnings.warn(
                f"the local sandbox could not get a network namespace of its own ({why}): "
                "its commands can reach this machine's network",
                RuntimeWarning,
                stacklevel=3,
            )
        #: Do commands run in a network namespace of their own?
        self.network_isolated = self._netns_fd is not None
        self._netns = "" if self._netns_fd is None else f"/proc/{os.getpid()}/fd/{self._netns_fd}"

    def wrap(self, argv: list[str], *, nproc: int = 0) -> list[str]:
        """The command line that runs ``argv`` confined (with at most ``nproc``
        processes of the sandbox's user, when given)."""
        return [*_PYTHON, WRAPPER, str(self.uid), str(nproc), self._netns, "exec", *argv]

    def read(self, path: str, limit: int) -> list[str]:
        """The command line that writes file ``path`` (at most ``limit`` bytes of it) to
        its stdout, as the sandbox's user."""
        return [*_PYTHON, WRAPPER, str(self.uid), "0", self._netns, "read", path, str(limit)]

    def write(self, path: str) -> list[str]:
        """The command line that writes its stdin to file ``path``, as the sandbox's
        user."""
        return [*_PYTHON, WRAPPER, str(self.uid), "0", self._netns, "write", path]

    def kill_all(self, rounds: int = 5) -> None:
        """SIGKILL every process of the sandbox's user, until none is left."""
        for _ in range(rounds):
            if not processes_of(self.uid):
                return
            subprocess.run(
                [*_PYTHON, _KILL_ALL, str(self.uid)],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                timeout=30,
                check=False,
            )

    def close(self) -> None:
        """Kill the user's processes and let go of the network namespace."""
        self.kill_all()
        fd, self._netns_fd = self._netns_fd, None
        if fd is not None:
            os.close(fd)


def _make_netns() -> tuple[int | None, str | None]:
    """A new network namespace with loopback up, held open by a descriptor of this
    process; or None and why it could not be made.

    A thread of its own enters the namespace (a network namespace belongs to a thread,
    not to the whole process), brings loopback up, opens the namespace and ends; the
    descriptor keeps the namespace alive."""
    made: dict[str, Any] = {}

    def make() -> None:
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.unshare(_CLONE_NEWNET) != 0:
            made["error"] = os.strerror(ctypes.get_errno())
            return
        try:
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
                ifr = struct.pack("16sH14x", b"lo", 0)
                flags = struct.unpack("16sH14x", fcntl.ioctl(sock, _SIOCGIFFLAGS, ifr))[1]
                fcntl.ioctl(sock, _SIOCSIFFLAGS, struct.pack("16sH14x", b"lo", flags | 1))
            made["fd"] = os.open("/proc/thread-self/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        except OSError as exc:
            made["error"] = str(exc)

    thread = threading.Thread(target=make, name="sandlot-netns")
    thread.start()
    thread.join()
    return made.get("fd"), made.get("error", None if "fd" in made else "no namespace")
