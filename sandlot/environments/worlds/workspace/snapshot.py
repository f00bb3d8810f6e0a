"""The workspace's snapshot: its text files, read inside the sandbox at the end of an
episode and stored with the trace, so that ``file`` checks can be re-scored later.

Format: ``{"files": {path: text}, "truncated": [path, ...], "omitted": {path: reason}}``
with paths relative to /work. A text file longer than ``FILE_LIMIT`` bytes keeps its
start (and is listed in ``truncated``); binary files, symbolic links, FIFOs and other
files that are not regular files, and files past the total budget are only named in
``omitted``, so an ``exists`` check still sees them (past the budget, and past the
first ``FILES_LIMIT`` files, even names are dropped, and ``more_omitted`` counts them).
A name that is not valid UTF-8 is omitted as "undecodable name", under its name with the
bad bytes replaced by U+FFFD.

The script that reads the files runs inside the sandbox and keeps to these limits; the
host holds what comes back to them again (the answer is data from the sandbox): a
snapshot cut there carries ``cut``, a sentence saying why.
"""

from __future__ import annotations

import json
from typing import Any

from sandlot.environments.sandbox.base import Sandbox
from sandlot.environments.worlds.workspace.bounds import bounded

__all__ = ["FILES_LIMIT", "FILE_LIMIT", "TOTAL_LIMIT", "capture_snapshot", "snapshot_file"]

FILE_LIMIT = 64_000  # bytes kept of one file
TOTAL_LIMIT = 2_000_000  # bytes of JSON for the whole snapshot, at most
FILES_LIMIT = 10_000  # files looked at; the rest are only counted
_TIMEOUT = 60.0
_SLACK = 65_536  # the JSON around the entries the budget charges

# Runs with ``python3 -I``: isolated, so a json.py the model left in /work is not imported.
_SCRIPT = r"""
import json, os, stat, sys
file_limit, budget, files_limit = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
snap = {"files": {}, "truncated": [], "omitted": {}}
used, dropped, seen = 0, 0, 0


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
    elif cut and used + cost(path, text) + cost(path) > budget:
        omit(path, "over the snapshot's size budget")
    else:
        used += cost(path, text)
        snap["files"][path] = text
        if cut:
            used += cost(path)
            snap["truncated"].append(path)


for root, dirs, names in os.walk("."):
    dirs.sort()
    for name in sorted(names):
        seen += 1
        if seen > files_limit:  # counted, not looked at: a bound on the time it takes
            dropped += 1
            continue
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
    budget = max(budget, 0)
    argv = ["python3", "-I", "-c", _SCRIPT, str(FILE_LIMIT), str(budget), str(FILES_LIMIT)]
    try:
        result = await sandbox.exec(argv, timeout=_TIMEOUT)
        if not result.ok:
            why = "timed out" if result.timed_out else f"exit code {result.exit_code}"
            return {
                "files": {},
                "error": f"reading the files failed ({why}): {result.stderr[:500]}",
            }
        size = len(result.stdout.encode())
        if result.truncated or size > 2 * budget + _SLACK:  # not even parsed
            return {
                "files": {},
                "cut": f"the sandbox sent back {size} bytes or more for the snapshot, far "
                f"more than its budget of {budget} bytes; none of it was kept",
            }
        raw = json.loads(result.stdout)
    except Exception as exc:  # a dead sandbox or garbled output: record it, don't fail
        return {"files": {}, "error": f"the snapshot could not be taken: {exc}"}
    return bounded(raw, budget, FILE_LIMIT)


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
