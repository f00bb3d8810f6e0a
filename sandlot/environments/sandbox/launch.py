"""Starting the Docker backend's command server so that no process of the model can
reach it.

A new server is open to its own user (dumpable: its ``/proc`` entries, stdin and stdout
included, can be opened by that user) from the moment it is exec'd until its first
instruction makes it non-dumpable. So a server is started only when no other process of
the sandbox user is alive: :func:`kill_user_processes` first (in a ``docker exec`` of its
own), then the ``docker exec`` of :func:`server_argv`. Nothing else can start a process
of that user in between.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandlot.environments.sandbox.base import SandboxError

__all__ = ["AGENT_SOURCE", "kill_user_processes", "server_argv"]

AGENT_SOURCE = (Path(__file__).parent / "agent.py").read_text()
# ``-I``: nothing is imported from the working directory (/work, where the model writes),
# the user's site directory (under HOME=/work) or PYTHON* variables; ``-S`` skips site.
# The bootstrap makes the process non-dumpable before it imports anything else, then
# runs the server's source (argv[1]).
_BOOT = (
    "import sys\n"
    "try:\n"
    "    import ctypes\n"
    "    ctypes.CDLL(None).prctl(4, 0, 0, 0, 0)  # PR_SET_DUMPABLE = 4\n"
    "except Exception:\n"
    "    pass\n"
    "exec(compile(sys.argv.pop(1), 'sandlot-agent', 'exec'), {'__name__': '__main__'})\n"
)
# SIGKILL every other process of the user running it until none is left alive (zombies
# hold nothing), within argv[1] seconds; exit 1 naming the survivors otherwise.
_KILL_ALL = r"""
import os, signal, sys, time
me, uid = os.getpid(), str(os.getuid())


def alive():
    left = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open("/proc/%s/status" % name) as f:
                fields = dict(l.split(":", 1) for l in f.read().splitlines() if ":" in l)
        except OSError:
            continue
        state = fields.get("State", "").strip()
        if fields.get("Uid", "").split()[:1] == [uid] and not state.startswith(("Z", "X")):
            left.append(int(name))
    return left


deadline = time.monotonic() + float(sys.argv[1])
while True:
    try:
        os.kill(-1, signal.SIGKILL)
    except ProcessLookupError:
        pass
    left = alive()
    if not left:
        sys.exit(0)
    if time.monotonic() > deadline:
        print("still alive: %s" % left[:20])
        sys.exit(1)
    time.sleep(0.01)
"""
_KILL_SECONDS = 10.0
_KILL_TRIES = 3  # an exec may fail to start while a fork bomb holds every pid


def server_argv(file_size: str) -> list[str]:
    """The command server's command line (``file_size``: RLIMIT_FSIZE in bytes)."""
    return ["python3", "-I", "-S", "-u", "-c", _BOOT, AGENT_SOURCE, file_size]


def kill_user_processes(container: Any, user: str) -> None:
    """Kill every process of ``user`` ("uid:gid") in the docker-py ``container``, the
    command server included, and return once none is alive.

    Raises:
        SandboxError: some could not be killed, or the killing could not run.
    """
    why = ""
    for _ in range(_KILL_TRIES):
        code, output = container.exec_run(
            ["python3", "-I", "-S", "-c", _KILL_ALL, str(_KILL_SECONDS)], user=user, workdir="/"
        )
        if code == 0:
            return
        why = f"exit code {code}: {output.decode(errors='replace').strip()[:300]}"
    raise SandboxError(f"the sandbox user's processes could not all be killed ({why})")
