"""The trajectory checks of a checklist, and the value helpers the answer checks share
(``checklist_answers``): pure functions over what was seen.

Each ``check_*`` returns ``(passed, evidence)``; the evidence says what was seen (the
matching calls, the answer excerpt, the number found) so that a reader of the trace can
tell why an item passed or failed without re-running anything.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sandlot.environments.tasks import (
    CalledCheck,
    MaxStepsCheck,
    NotCalledCheck,
    OrderCheck,
)

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.environments.trajectory import ToolCallRecord

__all__ = [
    "EVIDENCE_ANSWER",
    "EVIDENCE_CALLS",
    "CheckSkipped",
    "answer_number",
    "as_number",
    "arguments_match",
    "check_called",
    "check_max_steps",
    "check_not_called",
    "check_order",
    "values_equal",
]

# How many calls an evidence record lists; a 500-call episode must not bloat the checks table.
EVIDENCE_CALLS = 20
EVIDENCE_ANSWER = 500


class CheckSkipped(Exception):
    """An item that cannot be checked here (no judge, no state); the message says why."""


def values_equal(actual: Any, expected: Any) -> bool:
    """Equality as a task author means it: 5 == 5.0, strings exactly, True is not 1,
    nested dicts and lists element by element."""
    if isinstance(actual, bool) or isinstance(expected, bool):
        # bool is an int subclass: without this, True would equal 1 (and False 0).
        return isinstance(actual, bool) and isinstance(expected, bool) and actual == expected
    if isinstance(actual, int | float) and isinstance(expected, int | float):
        return math.isclose(actual, expected, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(actual, dict) and isinstance(expected, dict):
        return actual.keys() == expected.keys() and all(
            values_equal(actual[k], expected[k]) for k in actual
        )
    if isinstance(actual, list | tuple) and isinstance(expected, list | tuple):
        return len(actual) == len(expected) and all(
            values_equal(a, e) for a, e in zip(actual, expected, strict=True)
        )
    return actual == expected


def arguments_match(arguments: dict[str, Any] | None, expected: dict[str, Any] | None) -> bool:
    """Every expected key is in ``arguments`` with an equal value (a subset match).
    Arguments that could not be parsed (None) match only when nothing is expected."""
    if not expected:
        return True
    if arguments is None:
        return False
    return all(k in arguments and values_equal(arguments[k], v) for k, v in expected.items())


def _listed(calls: Sequence[ToolCallRecord]) -> list[dict[str, Any]]:
    return [
        {"tool": c.name, "arguments": c.arguments, "ok": c.ok, "error_kind": c.error_kind}
        for c in calls[:EVIDENCE_CALLS]
    ]


def check_called(check: CalledCheck, calls: Sequence[ToolCallRecord]) -> tuple[bool, Any]:
    """``min_times <= count <= max_times`` for calls of the tool with matching arguments
    (successful ones unless ``allow_error``)."""
    same_tool = [c for c in calls if c.name == check.tool]
    hits = [
        c
        for c in same_tool
        if (c.ok or check.allow_error) and arguments_match(c.arguments, check.args)
    ]
    count = len(hits)
    passed = count >= check.min_times and (check.max_times is None or count <= check.max_times)
    evidence: dict[str, Any] = {
        "tool": check.tool,
        "min_times": check.min_times,
        "max_times": check.max_times,
        "matching_calls": count,
        "calls_of_tool": len(same_tool),
    }
    # Show the hits; when there are none, the near misses (same tool) explain the failure.
    evidence["calls"] = _listed(hits) if hits else _listed(same_tool)
    return passed, evidence


def check_not_called(check: NotCalledCheck, calls: Sequence[ToolCallRecord]) -> tuple[bool, Any]:
    """No call of the tool (ok or failing) with matching arguments."""
    hits = [c for c in calls if c.name == check.tool and arguments_match(c.arguments, check.args)]
    return not hits, {"matching_calls": len(hits), "calls": _listed(hits)}


def check_order(check: OrderCheck, calls: Sequence[ToolCallRecord]) -> tuple[bool, Any]:
    """The first successful call of each tool exists, and they come in the given order."""
    first: dict[str, int] = {}
    for index, call in enumerate(calls):
        if call.ok:
            first.setdefault(call.name, index)
    positions = [first.get(tool) for tool in check.tools]
    missing = [tool for tool, pos in zip(check.tools, positions, strict=True) if pos is None]
    found = [pos for pos in positions if pos is not None]
    passed = not missing and all(a < b for a, b in zip(found, found[1:], strict=False))
    return passed, {
        "first_successful_call": dict(zip(check.tools, positions, strict=True)),
        "missing": missing,
    }


def check_max_steps(
    check: MaxStepsCheck, calls: Sequence[ToolCallRecord], model_calls: int
) -> tuple[bool, Any]:
    """At most ``tool_calls`` tool calls (every outcome) and ``model_calls`` model calls."""
    passed = (check.tool_calls is None or len(calls) <= check.tool_calls) and (
        check.model_calls is None or model_calls <= check.model_calls
    )
    return passed, {
        "tool_calls": len(calls),
        "model_calls": model_calls,
        "limits": {"tool_calls": check.tool_calls, "model_calls": check.model_calls},
    }


# A number as people write it: -1,234.5 / 1234 / .5; commas only between groups of three,
# so that "1,2" is two numbers and "5, 6" starts with 5.
_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d+)?|[-+]?\.\d+")


def answer_number(answer: str) -> float | None:
    """The first number in ``answer`` (thousands commas allowed), or None."""
    found = _NUMBER.search(answer)
    return None if found is None else float(found.group().replace(",", ""))


def as_number(value: Any) -> float:
    """A number from an int, a float or a numeric string (thousands commas allowed);
    ValueError/TypeError otherwise. Booleans are not numbers here."""
    if isinstance(value, bool):
        raise TypeError("a boolean is not a number")
    if isinstance(value, str):
        return float(value.strip().replace(",", ""))
    return float(value)
