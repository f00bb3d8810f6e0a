"""Where a trace can be written, and how a trace that cannot be written is read.

A trace is an SQLite file in WAL mode: while it is open, SQLite keeps ``FILE-wal`` and
``FILE-shm`` beside it. Writing therefore needs the file *and* its folder writable; the
writing commands check both first and say "read-only" (and what to do) instead of
SQLite's own words. Reading needs no write to the file, but a WAL reader needs the
``-shm`` file, which a read-only folder (read-only media) cannot get: there the file is
opened ``immutable`` — read as it is, with no lock and no file created beside it, which
is right where nothing can be writing it.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

from sandlot.errors import TraceFileError

__all__ = ["check_writable", "open_error", "read_only_uri"]

_READ_ONLY_CODES = {sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM}
_READERS = "`sandlot view`, `sandlot export` and `sandlot score --dry-run` only read it"


def _writable(path: Path) -> bool:
    return os.access(path, os.W_OK | (os.X_OK if path.is_dir() else 0))


def check_writable(path: str | Path) -> None:
    """Raise when a trace cannot be written at ``path``: the file, its folder (or, for a
    new trace, the nearest folder that exists) is read-only.

    Raises:
        TraceFileError: saying which is read-only and what to do.
    """
    path = Path(path)
    try:
        exists = path.exists()
    except OSError as exc:
        raise TraceFileError(f"cannot reach the trace {path} ({exc.strerror or exc})") from exc
    if exists:
        if path.is_dir():
            raise TraceFileError(f"{path} is a folder, not a trace file; give a file path")
        if not _writable(path):
            raise TraceFileError(
                f"{path} is read-only: commands that run episodes or re-score write to "
                f"their trace; make it writable or copy it somewhere writable ({_READERS})"
            )
        if not _writable(path.parent):
            raise TraceFileError(
                f"{path} is in a read-only folder ({path.parent}): SQLite writes "
                f"{path.name}-wal and {path.name}-shm beside a trace it writes; copy it to a "
                f"writable folder ({_READERS})"
            )
        return
    folder = path.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not _writable(folder):
        raise TraceFileError(
            f"cannot create the trace {path}: the folder {folder} is read-only; "
            "give a trace path (--db) in a writable folder"
        )


def open_error(path: str | Path, exc: sqlite3.Error) -> TraceFileError | None:
    """The read-only error for an SQLite error that says the file cannot be written or
    opened, else None (the caller says what it says for other errors)."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None or code & 0xFF not in _READ_ONLY_CODES:
        return None
    return TraceFileError(
        f"cannot open the trace {path} for writing (SQLite says: {exc}): it or its folder "
        f"is read-only, or out of reach; make both writable or copy the trace somewhere "
        f"writable ({_READERS})"
    )


def read_only_uri(path: str | Path) -> str:
    """The SQLite URI that opens ``path`` for reading only (``mode=ro``), adding
    ``immutable=1`` when its folder is read-only and the WAL files a reader needs are not
    there: nothing can be writing such a file, and SQLite could not open it otherwise."""
    path = Path(path).resolve()
    # as_uri() percent-encodes, so paths with '?', '#' or '%' open the right file
    uri = path.as_uri() + "?mode=ro"
    beside = all(Path(f"{path}{suffix}").exists() for suffix in ("-wal", "-shm"))
    if not beside and not _writable(path.parent):
        uri += "&immutable=1"
    return uri
