"""Answer checks: the final answer, or every reply, against a value, as users write them.

``scope: final`` reads the final answer; ``scope: conversation`` every message the agent
sent a task's simulated user, then the final answer; ``scope: any_reply`` reads every text the agent
wrote to the user (:attr:`Trajectory.replies`, the final answer included) and passes when
one reply matches — for ``contains`` with a list, each value may be in a different reply;
for ``not_contains``, no reply may hold any value. ``normalize`` rewrites both sides before
they are compared (see :func:`normalize_text`). The evidence names the reply that matched.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from typing import Any

from sandlot.environments.checklist_checks import EVIDENCE_ANSWER, answer_number, as_number
from sandlot.environments.tasks import NORMALIZATIONS, AnswerCheck

__all__ = ["answer_texts", "check_answer", "normalize_text"]

# How many replies a failing any_reply item lists, and how much of each.
EVIDENCE_REPLIES = 20
EVIDENCE_REPLY = 200

# 1,234 / 12,345,678 — commas between groups of three digits, not "1,2" nor "5, 6" nor
# the middle of "1,2345".
_THOUSANDS = re.compile(r"(?<![\d.])(?<!\d,)\d{1,3}(?:,\d{3})+(?!\d|,\d)")
# The zeros that end a decimal part: 15.00 -> 15, 15.50 -> 15.5 (15.05 is kept, and so
# are dotted versions and addresses: 1.10.0, 10.0.0.1).
_TRAILING_ZEROS = re.compile(r"(?<![\d.])(\d+)\.(\d*?)0+(?!\d|\.\d)")


def _decimal(found: re.Match[str]) -> str:
    whole, kept = found.group(1), found.group(2)
    return f"{whole}.{kept}" if kept else whole


def _numbers(text: str) -> str:
    text = _THOUSANDS.sub(lambda m: m.group().replace(",", ""), text)
    return _TRAILING_ZEROS.sub(_decimal, text)


def _punctuation(text: str) -> str:
    """Drop punctuation (Unicode category P). Numbers stay numbers: a ``.`` or ``,``
    between two digits, a minus sign and the point of ``.5`` are kept, and other punctuation between two
    digits becomes a space (3-4 -> 3 4, 10:30 -> 10 30, not 34 and 1030)."""
    out = []
    for i, char in enumerate(text):
        if unicodedata.category(char).startswith("P"):
            before = text[i - 1] if i else ""
            after = text[i + 1] if i + 1 < len(text) else ""
            digits = before.isdigit() and after.isdigit()
            if char in ".," and digits:
                out.append(char)
            elif char in "-." and after.isdigit() and not before.isalnum():
                out.append(char)  # a minus sign, or the point of .5
            elif digits:
                out.append(" ")
            continue
        out.append(char)
    return "".join(out)


_STEPS = {
    "numbers": _numbers,
    "punctuation": _punctuation,
    "case": str.casefold,
    "whitespace": lambda text: " ".join(text.split()),
}


def normalize_text(text: str, steps: Iterable[str]) -> str:
    """``text`` rewritten by the named steps, always in this order whatever the order
    given: ``numbers`` (drop thousands commas, drop the zeros ending a decimal part),
    ``punctuation`` (drop it, keeping the points and commas inside numbers and minus
    signs), ``case`` (case-fold), ``whitespace`` (collapse runs to one space, strip)."""
    wanted = set(steps)
    for name in NORMALIZATIONS:
        if name in wanted:
            text = _STEPS[name](text)
    return text


def answer_texts(check: AnswerCheck, answer: str | None, replies: Sequence[str] = ()) -> list[str]:
    """The texts an answer check reads: the final answer (``scope: final``), or every reply
    and then the final answer when it is not one of them (``scope: any_reply``)."""
    if check.scope == "final":
        return [] if answer is None else [answer]
    texts = list(replies)
    if answer is not None and answer not in texts:
        texts.append(answer)
    return texts


def _values(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


class _Matcher:
    """One answer check, its value(s) normalised once, applied to one text at a time."""

    def __init__(self, check: AnswerCheck) -> None:
        self.check = check
        self.fold = (lambda s: s) if check.case_sensitive else str.casefold
        self.values = [self.prepare(v) for v in _values(check.value)]

    def prepare(self, text: str) -> str:
        return self.fold(normalize_text(text, self.check.normalize))

    def found(self, text: str) -> list[bool]:
        """For contains/not_contains: which values the (prepared) text holds."""
        return [v in text for v in self.values]

    def one(self, text: str) -> tuple[bool, dict[str, Any]]:
        """exact, regex or number against one prepared text."""
        check = self.check
        if check.match == "exact":
            return text.strip() == self.values[0].strip(), {}
        if check.match == "regex":
            flags = 0 if check.case_sensitive else re.IGNORECASE
            found = re.search(str(check.value), text, flags)
            return found is not None, {"matched": found.group() if found else None}
        number = answer_number(text)
        if number is None:
            return False, {"why": "no number in the answer"}
        expected = as_number(check.value)
        return abs(number - expected) <= check.tolerance, {
            "number": number,
            "expected": expected,
            "tolerance": check.tolerance,
        }


def _final(matcher: _Matcher, answer: str) -> tuple[bool, Any]:
    check = matcher.check
    text = matcher.prepare(answer)
    evidence: dict[str, Any] = {"answer": answer[:EVIDENCE_ANSWER]}
    if check.normalize:
        evidence["normalized"] = text[:EVIDENCE_ANSWER]
    names = _values(check.value)
    if check.match == "contains":
        missing = [n for n, hit in zip(names, matcher.found(text), strict=True) if not hit]
        return not missing, {**evidence, "missing": missing}
    if check.match == "not_contains":
        present = [n for n, hit in zip(names, matcher.found(text), strict=True) if hit]
        return not present, {**evidence, "present": present}
    passed, details = matcher.one(text)
    return passed, {**evidence, **details}


def _excerpt(texts: Sequence[str], index: int) -> dict[str, Any]:
    return {"reply_index": index, "text": texts[index][:EVIDENCE_ANSWER]}


def _any_reply(matcher: _Matcher, texts: Sequence[str]) -> tuple[bool, Any]:
    check = matcher.check
    prepared = [matcher.prepare(t) for t in texts]
    names = _values(check.value)
    evidence: dict[str, Any] = {"scope": check.scope, "replies": len(texts)}
    if check.match in ("contains", "not_contains"):
        # value -> the first reply holding it
        where: dict[str, int] = {}
        for index, text in enumerate(prepared):
            for name, hit in zip(names, matcher.found(text), strict=True):
                if hit:
                    where.setdefault(name, index)
        if check.match == "contains":
            missing = [n for n in names if n not in where]
            evidence["found"] = {n: _excerpt(texts, i) for n, i in where.items()}
            if missing:
                evidence["replies_seen"] = _seen(texts)
            return not missing, {**evidence, "missing": missing}
        present = {n: _excerpt(texts, i) for n, i in where.items()}
        return not present, {**evidence, "present": present}
    for index, text in enumerate(prepared):
        passed, details = matcher.one(text)
        if passed:
            return True, {**evidence, **_excerpt(texts, index), **details}
    return False, {**evidence, "reply_index": None, "replies_seen": _seen(texts)}


def _seen(texts: Sequence[str]) -> list[str]:
    return [t[:EVIDENCE_REPLY] for t in texts[:EVIDENCE_REPLIES]]


def check_answer(
    check: AnswerCheck, answer: str | None, replies: Sequence[str] = ()
) -> tuple[bool, Any]:
    """Whether the answer (``scope: final``) or some reply (``scope: any_reply``) matches;
    with nothing to read, every match fails.

    Args:
        check: The answer check.
        answer: The episode's final answer, or None.
        replies: Every text the agent wrote to the user, in order
            (:attr:`Trajectory.replies`); read only with ``scope: any_reply``.
    """
    matcher = _Matcher(check)
    if check.scope == "final":
        if answer is None:
            return False, {"answer": None, "why": "the episode gave no final answer"}
        return _final(matcher, answer)
    texts = answer_texts(check, answer, replies)
    if not texts:
        return False, {
            "scope": "any_reply",
            "replies": 0,
            "answer": None,
            "why": "the agent wrote no reply and gave no final answer",
        }
    return _any_reply(matcher, texts)
