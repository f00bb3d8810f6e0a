"""The workspace's snapshot: its text files, read inside the sandbox at the end of an
episode and stored with the trace, so that ``file`` checks can be re-scored later.

Format: ``{"files": {path: text}, "truncated": [path, ...], "omitted": {path: reason}}``
with paths relative to /work. A text file longer than ``FILE_LIMIT`` bytes keeps its
start (and is listed in ``truncated``); binary files, symbolic links, FIFOs and other
files that are not regular files, and files past the total budget are only named in
``omitted``, so an ``exists`` check still sees them (past the budget even names are
dropped, and ``more_omitted`` counts them). A name that is not valid UTF-8 is omitted
as "undecodable name", under its name with the bad bytes replaced by U+FFFD.
"""

from __future__ import annotations

import json
from typing import Any

from sandlot.environments.sandbox.base import Sandbox

__all__ = ["FILE_LIMIT", "TOTAL_LIMIT", "capture_snapshot", "snapshot_file"]

FILE_LIMIT = 64_000  # bytes kept of one file
TOTAL_LIMIT = 2_000_000  # bytes of JSON for the whole snapshot, at most
_TIMEOUT = 60.0

# Runs with ``python3 -I``: isolated, so a json.py the model left in /work is not imported.
_SCRIPT = r"""
import json, os, stat, sys
file_limit, budget = int(sys.argv[1]), int(sys.argv[2])
snap = {"files": {}, "truncated": [], "omitted": {}}
used, dropped = 0, 0


def cost(*items):
    return len(json.dumps(items, ensure_ascii=False).encode())


def omit(path, reason):
    global used, dropped
    if used + cost(path, reason) > budget:
        dropped += 1
    else:
        used += cost(path, reason)
        snap["omitted"][path] = reason


def kind(path):
    # Why a file holds no text for the snapshot, or None for a regular file.
    try:
        mode = os.lstat(path).st_mode
    except OSError as exc:
        return "unreadable: %s" % exc.strerror
    if stat.S_ISLNK(mode):
        return "symbolic link"
    return None if stat.S_ISREG(mode) else "not a regular file"


def read(path):
    # Without blocking: a FIFO swapped in after the lstat is refused, not waited on.
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOFOLLOW)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(0, "not a regular file")
        with open(fd, "rb", closefd=False) as f:
            return f.read(file_limit + 1)
    finally:
        os.close(fd)


def add(path):
    global used
    why = kind(path)
    if why is not None:
        return omit(path, why)
    try:
        data = read(path)
    except OSError as exc:
        return omit(path, "unreadable: %s" % exc.strerror)
    cut = len(data) > file_limit
    try:
        text = data[:file_limit].decode("utf-8", "ignore" if cut else "strict")
    except UnicodeDecodeError:
        text = None
    if text is None or "\x00" in text:
        omit(path, "binary")
    elif used + cost(path, text) > budget:
        omit(path, "over the snapshot's size budget")
    else:
        used += cost(path, text)
        snap["files"][path] = text
        if cut:
            snap["truncated"].append(path)


for root, dirs, names in os.walk("."):
    dirs.sort()
    for name in sorted(names):
        path = os.path.normpath(os.path.join(root, name))
        shown = os.fsencode(path).decode("utf-8", "replace")
        if shown != path:  # not UTF-8: no check can name it, and JSON cannot hold it
            omit(shown, "undecodable name")
        else:
            add(path)
if dropped:
    snap["more_omitted"] = dropped
print(json.dumps(snap, ensure_ascii=False))
"""


async def capture_snapshot(sandbox: Sandbox) -> dict[str, Any]:
    """The text files under the sandbox's work directory (see the module's docstring).
    Never raises: when the sandbox cannot answer, the snapshot is empty with an ``error``."""
    output_cap = getattr(getattr(sandbox, "limits", None), "output_bytes", None)
    budget = TOTAL_LIMIT if not output_cap else min(TOTAL_LIMIT, int(output_cap) - 65_536)
    argv = ["python3", "-I", "-c", _SCRIPT, str(FILE_LIMIT), str(max(budget, 0))]
    try:
        result = await sandbox.exec(argv, timeout=_TIMEOUT)
        if not result.ok:
            why = "timed out" if result.timed_out else f"exit code {result.exit_code}"
            return {
                "files": {},
                "error": f"reading the files failed ({why}): {result.stderr[:500]}",
            }
        snap = json.loads(result.stdout)
    except Exception as exc:  # a dead sandbox or garbled output: record it, don't fail
        return {"files": {}, "error": f"the snapshot could not be taken: {exc}"}
    return snap


def snapshot_file(snapshot: dict[str, Any], path: str) -> tuple[str | None, bool, str | None]:
    """(text, exists, note) of ``path`` (relative to /work) in a snapshot. ``text`` is None
    when the snapshot holds no text for it; ``note`` says when it holds only part of the
    text, or only the file's name."""
    files = snapshot.get("files") or {}
    if path in files:
        cut = path in (snapshot.get("truncated") or ())
        note = f"the snapshot kept only the first {FILE_LIMIT} bytes" if cut else None
        return files[path], True, note
    reason = (snapshot.get("omitted") or {}).get(path)
    if reason is not None:
        return None, True, f"the snapshot holds only the name of this file ({reason})"
    return None, False, None
