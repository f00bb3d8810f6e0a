"""Comparing two states of a world, for ``reference_state`` checks: a structural diff of
JSON-like data that names each difference by its path and leaves out ignored paths."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from sandlot.environments.checklist_checks import values_equal

__all__ = ["DIFF_LIMIT", "compare_states", "path_ignored"]

DIFF_LIMIT = 20  # differences listed as evidence; the count says how many there were


def _pattern(text: str) -> re.Pattern[str]:
    """``tickets.*.created`` as a regular expression over a joined path: ``*`` is any one
    key; a key that holds dots (a file name) is written as it is."""
    parts = ["[^.]+" if part == "*" else re.escape(part) for part in text.split(".")]
    return re.compile(r"\.".join(parts), re.DOTALL)


def path_ignored(path: Sequence[str], ignore: Sequence[re.Pattern[str]]) -> bool:
    """Whether ``path`` (its keys) is, or lies under, a part an ``ignore`` pattern names."""
    prefixes = [".".join(path[:n]) for n in range(1, len(path) + 1)]
    return any(pattern.fullmatch(p) for pattern in ignore for p in prefixes)


def _diff(
    actual: Any,
    expected: Any,
    path: list[str],
    ignore: list[re.Pattern[str]],
    out: list[dict[str, Any]],
) -> None:
    if path and path_ignored(path, ignore):
        return
    if isinstance(actual, dict) and isinstance(expected, dict):
        for key in sorted(set(actual) | set(expected), key=str):
            sub = [*path, str(key)]
            if key not in actual:
                if not path_ignored(sub, ignore):
                    out.append({"path": ".".join(sub), "missing": expected[key]})
            elif key not in expected:
                if not path_ignored(sub, ignore):
                    out.append({"path": ".".join(sub), "unexpected": actual[key]})
            else:
                _diff(actual[key], expected[key], sub, ignore, out)
        return
    if isinstance(actual, list) and isinstance(expected, list) and len(actual) == len(expected):
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            _diff(a, e, [*path, str(i)], ignore, out)
        return
    if not values_equal(actual, expected):
        out.append(
            {"path": ".".join(path) or "(whole state)", "actual": actual, "expected": expected}
        )


def compare_states(actual: Any, expected: Any, ignore: Sequence[str]) -> tuple[bool, Any]:
    """``(equal, evidence)``: the evidence lists the first ``DIFF_LIMIT`` differences,
    each with its dotted path and the actual and expected values (or ``missing``, for a
    key only the expected state has, and ``unexpected``, for one only the actual has)."""
    patterns = [_pattern(p) for p in ignore]
    found: list[dict[str, Any]] = []
    _diff(actual, expected, [], patterns, found)
    evidence: dict[str, Any] = {"differences": len(found), "first": found[:DIFF_LIMIT]}
    if ignore:
        evidence["ignored"] = list(ignore)
    return not found, evidence
