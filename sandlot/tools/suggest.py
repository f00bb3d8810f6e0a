"""Suggestions for a name or a path that was mistyped: the closest that exists."""

from __future__ import annotations

import difflib
from pathlib import Path

__all__ = ["close_path"]


def close_path(path: str | Path) -> Path | None:
    """An existing path close to ``path``, which does not exist (a typo: ``tasks/stor``
    for ``tasks/store``), or None. Each missing part is replaced by the closest name in
    the folder above it (:func:`difflib.get_close_matches`); the result is given only
    when it exists."""
    path = Path(path)
    parts = path.parts
    found = Path(parts[0]) if path.is_absolute() else Path()
    for part in parts[1:] if path.is_absolute() else parts:
        if (found / part).exists() or part in (".", ".."):
            found = found / part
            continue
        try:
            names = [p.name for p in found.iterdir()]
        except OSError:
            return None
        close = difflib.get_close_matches(part, names, n=1)
        if not close:
            return None
        found = found / close[0]
    return found if found.exists() and found != path else None
