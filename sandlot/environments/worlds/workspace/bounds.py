"""A workspace snapshot as the sandbox sent it back, held on the host to the snapshot's
shape and limits: the answer is data from the sandbox, which a process of the model may
have forged, so its size and shape are checked here whatever the in-sandbox script did.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["bounded", "entry_cost"]

_KEYS = {"files", "truncated", "omitted", "more_omitted"}
_REASON_LIMIT = 200  # characters kept of why a file is only named


def entry_cost(*items: str) -> int:
    """What the budget charges for one entry: its items as JSON, in bytes (the script in
    the sandbox charges the same)."""
    return len(json.dumps(items, ensure_ascii=False).encode())


class _Budget:
    def __init__(self, budget: int) -> None:
        self.budget, self.used = budget, 0
        self.why: list[str] = []

    def take(self, cost: int) -> bool:
        if self.used + cost > self.budget:
            self.why.append(f"more than its budget of {self.budget} bytes")
            return False
        self.used += cost
        return True


def _texts(raw: dict[str, Any], key: str, why: list[str]) -> dict[str, str]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        why.append(f"{key} is not an object")
        return {}
    kept = {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)}
    if len(kept) != len(value):
        why.append(f"{key} holds entries that are not text")
    return kept


def _names(raw: dict[str, Any], why: list[str]) -> set[str]:
    value = raw.get("truncated", [])
    if not isinstance(value, list) or not all(isinstance(p, str) for p in value):
        why.append("truncated is not a list of names")
        return set()
    return set(value)


def _count(raw: dict[str, Any], why: list[str]) -> int:
    value = raw.get("more_omitted", 0)
    if type(value) is not int or value < 0:
        why.append("more_omitted is not a count")
        return 0
    return value


def bounded(raw: Any, budget: int, file_limit: int) -> dict[str, Any]:
    """``raw`` held to the snapshot's shape and limits: entries of the wrong type are
    dropped, a text past ``file_limit`` characters keeps its start, and entries past
    ``budget`` bytes keep only their names while those fit, then are only counted in
    ``more_omitted``. A snapshot that needed any of this carries ``cut``, a sentence
    saying why; one that did not comes back equal to ``raw``."""
    if not isinstance(raw, dict):
        return {"files": {}, "error": f"the snapshot is not a JSON object: {str(raw)[:200]}"}
    why = [f"unknown key {key!r}" for key in raw if key not in _KEYS]
    files, omitted = _texts(raw, "files", why), _texts(raw, "omitted", why)
    truncated, more = _names(raw, why), _count(raw, why)
    budget_left = _Budget(budget)
    snap: dict[str, Any] = {"files": {}, "truncated": [], "omitted": {}}
    for path, text in files.items():
        cut = path in truncated
        if len(text) > file_limit:
            text, cut = text[:file_limit], True
            why.append(f"a file longer than {file_limit} characters")
        if budget_left.take(entry_cost(path, text) + (entry_cost(path) if cut else 0)):
            snap["files"][path] = text
            if cut:
                snap["truncated"].append(path)
        else:
            omitted.setdefault(path, "over the snapshot's size budget")
    for path, reason in omitted.items():
        if path in snap["files"]:
            continue
        reason = reason[:_REASON_LIMIT]
        if budget_left.take(entry_cost(path, reason)):
            snap["omitted"][path] = reason
        else:
            more += 1
    if more:
        snap["more_omitted"] = more
    why += budget_left.why
    if not why and snap != raw:
        why.append("names listed twice or in the wrong place")
    if why:
        snap["cut"] = "the snapshot the sandbox sent back was cut: " + "; ".join(dict.fromkeys(why))
    return snap
