"""Is the process that owns something still running? A pid alone cannot say: pids are
reused. An owner is recorded with its pid and a time it was already running (its start
time, or when it created the thing), and a process that started after that time is
another process that was given the same pid."""

from __future__ import annotations

import os

__all__ = ["process_alive", "process_started", "this_process_started"]

# Start times are rounded to clock ticks and the boot time to seconds.
_SLACK = 2.0


def process_started(pid: int) -> float | None:
    """When ``pid`` started (unix time), from /proc; None where that cannot be read."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            # The command name (field 2) may hold spaces; fields after it are fixed.
            ticks = int(f.read().rsplit(")", 1)[1].split()[19])
        with open("/proc/stat") as f:
            boot = next(int(line.split()[1]) for line in f if line.startswith("btime"))
    except (OSError, ValueError, IndexError, StopIteration):
        return None
    return boot + ticks / os.sysconf("SC_CLK_TCK")


_STARTED: dict[int, float | None] = {}


def this_process_started() -> float | None:
    """When this process started (read once per pid: a forked child reads its own)."""
    pid = os.getpid()
    if pid not in _STARTED:
        _STARTED[pid] = process_started(pid)
    return _STARTED[pid]


def process_alive(pid: int | None, *, running_at: float | None = None) -> bool:
    """Whether process ``pid`` runs on this machine (a zombie counts as dead) and, when
    ``running_at`` (unix time) is given, had started by then — a process that started
    later only reuses the pid."""
    if not pid or pid < 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: alive
        pass
    try:  # killed but not yet reaped by its parent
        with open(f"/proc/{pid}/stat", "rb") as f:
            if f.read().rsplit(b")", 1)[-1].split()[0] == b"Z":
                return False
    except (OSError, IndexError):
        pass
    if not running_at:
        return True
    started = process_started(pid)
    return started is None or started <= running_at + _SLACK
