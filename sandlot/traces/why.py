"""Why an episode did not pass, in one short phrase, from its outcome, error and checks;
and a check's stored evidence as a sentence.

``failed: refund-made, says-sorry`` (the required checks that failed), ``gave up: <the
failed step's reason>``, ``budget: model calls 20 of 20``, the error message's first
line. The command line's run summary and the viewer's episode list show it; a passed
(or still running) episode has none.
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "WHY_LIMIT",
    "evidence_sentence",
    "failed_checks",
    "first_line",
    "linked_calls",
    "state_links",
    "why",
]

WHY_LIMIT = 120  # characters of a phrase; longer ones end with an ellipsis
_MAX_IDS = 3  # failed checks named; more are counted

_BUDGET = re.compile(r"^(model|tool)-call budget spent: (\d+) of (\d+)")
_GAVE_UP = "step failed and re-plans ran out: "


def _get(check: Any, key: str) -> Any:
    return check.get(key) if isinstance(check, Mapping) else getattr(check, key, None)


def first_line(text: str | None, limit: int = WHY_LIMIT) -> str:
    """The first non-empty line of ``text``, cut to ``limit`` characters."""
    for line in (text or "").splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1].rstrip() + "…"
    return ""


def failed_checks(checks: Iterable[Any]) -> list[str]:
    """The ids of the checks that failed (not skipped): the required ones, or when no
    required one failed, every failed one. Checks are rows (dicts) or verdicts."""
    failed = [c for c in checks if _get(c, "passed") is not None and not _get(c, "passed")]
    required = [c for c in failed if _get(c, "required") not in (0, False)]
    return [str(_get(c, "item_id")) for c in (required or failed)]


def _named(ids: list[str]) -> str:
    text = ", ".join(ids[:_MAX_IDS])
    if len(ids) > _MAX_IDS:
        text += f" +{len(ids) - _MAX_IDS} more"
    return text


def why(outcome: str | None, error: str | None = None, checks: Iterable[Any] = ()) -> str:
    """One short phrase saying why an episode with ``outcome`` did not pass ("" when it
    passed or is still running).

    Args:
        outcome: the episode's outcome (passed, failed, gave_up, budget, error,
            interrupted).
        error: the episode's error message, if any (only its first line is used).
        checks: its checklist verdicts, as trace rows or ``Verdict`` objects.
    """
    if outcome in (None, "passed"):
        return ""
    line = first_line(error)
    if outcome == "failed":
        ids = failed_checks(checks)
        return f"failed: {_named(ids)}" if ids else (line or "failed")
    if outcome == "gave_up":
        reason = line.removeprefix(_GAVE_UP)
        return f"gave up: {reason}" if reason else "gave up"
    if outcome == "budget":
        match = _BUDGET.match(line)
        if match:
            return f"budget: {match[1]} calls {match[2]} of {match[3]}"
        return f"budget: {line}" if line else "budget"
    if outcome == "interrupted":
        return f"interrupted: {line}" if line and line != "interrupted" else "interrupted"
    return line or outcome


# --- check evidence as a sentence -----------------------------------------------------

_VALUE_LIMIT = 60  # characters of one value quoted in a sentence


def _show(value: Any, limit: int = _VALUE_LIMIT) -> str:
    """A value as a sentence quotes it: numbers bare, text in quotes, the rest as JSON."""
    if value is None:
        text = "nothing"
    elif isinstance(value, bool | int | float):
        text = json.dumps(value)
    elif isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    else:
        text = json.dumps(value, ensure_ascii=False, default=str, separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _times(n: Any, what: str, plural: str | None = None) -> str:
    return f"{n} " + (what if n == 1 else plural or what + "s")


def _call(call: Any) -> str:
    if not isinstance(call, Mapping):
        return _show(call)
    args = call.get("arguments") or {}
    shown = (
        ", ".join(f"{k}={_show(v, 30)}" for k, v in args.items())
        if isinstance(args, Mapping)
        else ""
    )
    return f"{call.get('tool')}({shown})"


def _state(ev: Mapping[str, Any]) -> list[str]:
    """query / file / command checks: each expectation against what was found."""
    if "rows" in ev:
        rows = ev["rows"] or []
        found: Any = rows[0][0] if rows and rows[0] else None
    elif "command" in ev:
        found = ev.get("stdout")
    else:
        found = ev.get("content")
    parts = []
    if "expected_exit_code" in ev:
        parts.append(f"expected exit code {ev['expected_exit_code']}, found {ev.get('exit_code')}")
    if "expected_exists" in ev:
        what = "a file" if "file" in ev else "a row"
        want = what if ev["expected_exists"] else f"no {what.split()[-1]}"
        if "file" in ev:
            got = "it exists" if ev.get("exists") else "it does not exist"
        else:
            got = _times(len(ev.get("rows") or []), "row")
        parts.append(f"expected {want}, found {got}")
    if "expected_rows" in ev:
        parts.append(f"expected rows {_show(ev['expected_rows'])}, found {_show(ev.get('rows'))}")
    if "expected" in ev and "error" not in ev:
        parts.append(f"expected {_show(ev['expected'])}, found {_show(found)}")
    if "expected_contains" in ev:
        parts.append(
            f"expected a value containing {_show(ev['expected_contains'])}, found {_show(found)}"
        )
    if "expected_regex" in ev:
        parts.append(
            f"expected a value matching {_show(ev['expected_regex'])}, found {_show(found)}"
        )
    if not parts and "rows" in ev:
        parts.append(f"found rows {_show(ev['rows'])}")
    return parts


def _changed(ev: Mapping[str, Any]) -> list[str]:
    parts = []
    for table, t in (ev.get("tables") or {}).items():
        if not isinstance(t, Mapping):
            continue
        if t.get("passed"):
            parts.append(f"{table}: changed as expected")
            continue
        if t.get("not_found"):
            parts.append(f"{table}: expected change {_show(t['not_found'])} not made")
        if t.get("unexpected"):
            parts.append(f"{table}: unexpected change {_show(t['unexpected'])}")
        if t.get("deleted"):
            parts.append(f"{table}: {_times(len(t['deleted']), 'row')} deleted")
    return parts


def _answer(ev: Mapping[str, Any]) -> list[str]:
    where = "a reply" if ev.get("scope") == "any_reply" else "the answer"
    parts = []
    if ev.get("missing"):
        parts.append(f"{where} lacks {', '.join(_show(v) for v in ev['missing'])}")
    if ev.get("present"):
        parts.append(
            f"{where} holds {', '.join(_show(v) for v in ev['present'])}, which it must not"
        )
    if "number" in ev:
        tol = ev.get("tolerance")
        plus = f" (±{tol})" if tol else ""
        parts.append(f"expected {_show(ev.get('expected'))}{plus}, found {_show(ev['number'])}")
    if "matched" in ev:
        parts.append(f"matched {_show(ev['matched'])}" if ev["matched"] else "no match")
    if ev.get("scope") == "any_reply" and "reply_index" in ev and ev["reply_index"] is None:
        parts.append(f"none of {_times(ev.get('replies'), 'reply', 'replies')} matched")
    if not parts and "answer" in ev:
        parts.append(f"the answer was {_show(ev['answer'])}")
    return parts


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _expected_count(min_times: Any, max_times: Any) -> str | None:
    """A ``called`` check's expected count of matching calls, in words (``at least 1
    matching call``, ``exactly 2 matching calls``, ``between 1 and 3 matching calls``);
    None when the evidence does not say."""
    low, high = _count(min_times), _count(max_times)
    if low is None:
        return None
    if high is None:
        return f"at least {_times(low, 'matching call')}"
    if low == high:
        return f"exactly {_times(low, 'matching call')}"
    if low <= 0:
        return f"at most {_times(high, 'matching call')}"
    return f"between {low} and {_times(high, 'matching call')}"


def evidence_sentence(kind: str | None, evidence: Any, passed: bool | None = None) -> str:
    """A stored check's evidence as a sentence (``expected 0, found 1``) for the built-in
    check kinds (state, called, not_called, order, max_steps, answer, judge); evidence of
    another shape comes back as compact JSON. ``passed`` says how to word a call count."""
    if evidence is None:
        return ""
    if not isinstance(evidence, Mapping):
        return _show(evidence, 300)
    if "no_credit" in evidence:
        inner = evidence_sentence(kind, evidence.get("as_checked"), passed)
        return f"{evidence['no_credit']}" + (f" (as checked: {inner})" if inner else "")
    parts: list[str] = []
    if "why" in evidence:
        parts.append(str(evidence["why"]))
    if "error" in evidence:
        parts.append(f"could not check: {first_line(str(evidence['error']))}")
    if kind == "called" and "matching_calls" in evidence:
        calls = evidence.get("calls") or []
        tool = evidence.get("tool")
        if not tool and calls and isinstance(calls[0], Mapping):
            tool = calls[0].get("tool")
        of = f" of {tool}" if tool else ""
        expected = _expected_count(evidence.get("min_times"), evidence.get("max_times"))
        if expected is None:  # evidence from before the counts were recorded
            text = f"found {_times(evidence['matching_calls'], 'matching call')}{of}"
        else:
            text = f"expected {expected}{of}, found {evidence['matching_calls']}"
        if evidence.get("calls_of_tool", 0) != evidence["matching_calls"]:
            text += f" ({_times(evidence.get('calls_of_tool'), 'call')} of the tool in all)"
        parts.append(text)
    elif kind == "not_called" and "matching_calls" in evidence:
        calls = evidence.get("calls") or []
        if calls:
            shown = "; ".join(_call(c) for c in calls[:3])
            parts.append(f"expected no such call, found {len(calls)}: {shown}")
        else:
            parts.append("no such call")
    elif kind == "order" and "first_successful_call" in evidence:
        firsts = evidence["first_successful_call"] or {}
        if evidence.get("missing"):
            parts.append(f"never called successfully: {', '.join(map(str, evidence['missing']))}")
        placed = [f"{tool} at call {pos + 1}" for tool, pos in firsts.items() if pos is not None]
        if placed:
            parts.append("first successful calls: " + ", ".join(placed))
    elif kind == "max_steps" and "limits" in evidence:
        limits = evidence.get("limits") or {}
        for key, label in (("tool_calls", "tool call"), ("model_calls", "model call")):
            if key in evidence:
                limit = limits.get(key)
                text = _times(evidence[key], label)
                parts.append(text + (f" (at most {limit})" if limit is not None else ""))
    elif kind == "judge" and "reason" in evidence:
        parts.append(f"the judge: {first_line(str(evidence['reason']), 300)}")
    elif "expected_changed" in evidence:
        parts += _changed(evidence)
    elif kind == "answer" or "answer" in evidence:
        parts += [] if "why" in evidence and evidence.get("answer") is None else _answer(evidence)
    else:
        parts += _state(evidence)
    parts = [p for p in dict.fromkeys(parts) if p]
    return "; ".join(parts) if parts else _show(evidence, 300)


# --- the tool calls a check's verdict rests on ------------------------------------------


def linked_calls(kind: str | None, evidence: Any, calls: Iterable[Mapping[str, Any]]) -> list[int]:
    """The seqs of the tool_call events a check's verdict rests on: for ``called``,
    ``not_called`` or ``order``, the calls its evidence names (the calls it matched, the
    near misses, or each tool's first successful call), in the evidence's order; for
    ``state``, the calls that changed what it looked at (:func:`state_links`); empty for
    other kinds and shapes.

    Args:
        kind: the check's kind.
        evidence: its decoded evidence.
        calls: the episode's tool calls in order, each ``{"seq", "name", "arguments",
            "ok"}`` and, for state checks, ``"changed"`` (what the call changed, as its
            tool_call event records it).
    """
    if not isinstance(evidence, Mapping):
        return []
    calls = list(calls)
    if kind == "state":
        return state_links(evidence, calls)
    seqs: list[int] = []
    if kind in ("called", "not_called") and isinstance(evidence.get("calls"), list):
        for want in evidence["calls"]:
            if not isinstance(want, Mapping):
                continue
            hit = next(
                (
                    c["seq"]
                    for c in calls
                    if c["seq"] not in seqs
                    and c["name"] == want.get("tool")
                    and c.get("arguments") == want.get("arguments")
                ),
                None,
            )
            if hit is not None:
                seqs.append(hit)
    elif kind == "order" and isinstance(evidence.get("first_successful_call"), Mapping):
        for tool, pos in evidence["first_successful_call"].items():
            if pos is None:
                continue
            hit = next((c["seq"] for c in calls if c["name"] == tool and c.get("ok")), None)
            if hit is not None and hit not in seqs:
                seqs.append(hit)
    return seqs


def _rows_changed(call: Mapping[str, Any]) -> Mapping[str, Any]:
    changed = call.get("changed")
    rows = changed.get("rows") if isinstance(changed, Mapping) else None
    return rows if isinstance(rows, Mapping) else {}


def _files_changed(call: Mapping[str, Any]) -> list[Any]:
    changed = call.get("changed")
    files = changed.get("files") if isinstance(changed, Mapping) else None
    return files if isinstance(files, list) else []


def _row_key(row: Any, key: Any) -> Any:
    if not isinstance(row, Mapping):
        return None
    if isinstance(key, str) and key in row:
        return row[key]
    return next(iter(row.values()), None)  # a store row's first column is its key


def _changed_links(evidence: Mapping[str, Any], calls: list[Mapping[str, Any]]) -> list[int]:
    """A ``changed`` check: the calls that changed its unexpected or deleted rows, or a
    row it expected changed (a change not made: any call that changed the table, when
    the expected row names no key)."""
    wanted: dict[str, list[Any] | None] = {}  # table -> keys; None: any row of it
    for table, t in (evidence.get("tables") or {}).items():
        if not isinstance(t, Mapping) or t.get("passed"):
            continue
        key = t.get("key")
        keys = [_row_key(r, key) for r in t.get("unexpected") or []]
        keys += list(t.get("deleted") or [])
        whole = False
        for want in t.get("not_found") or []:
            if isinstance(want, Mapping) and isinstance(key, str) and key in want:
                keys.append(want[key])
            else:
                whole = True
        wanted[str(table)] = None if whole else [k for k in keys if k is not None]
    seqs = []
    for call in calls:
        rows = _rows_changed(call)
        for table, which in wanted.items():
            made = rows.get(table)
            if isinstance(made, list) and made and (which is None or any(k in which for k in made)):
                seqs.append(call["seq"])
                break
    return seqs


def _workspace_path(path: str) -> str:
    if path == "/work" or path.startswith("/work/"):
        path = path[len("/work") :].lstrip("/") or "."
    return posixpath.normpath(path)


def state_links(evidence: Mapping[str, Any], calls: Iterable[Mapping[str, Any]]) -> list[int]:
    """The seqs of the tool calls a state check's verdict rests on, in order, from what
    each call recorded it changed: for a ``changed`` check, the calls that changed its
    unexpected or deleted rows or the rows it expected changed; for a ``query``, the
    calls that changed a table the query names; for a ``file`` check, the calls that
    wrote that file. Empty when the calls recorded no changes (older traces)."""
    calls = list(calls)
    if "expected_changed" in evidence:
        return _changed_links(evidence, calls)
    query = evidence.get("query")
    if isinstance(query, str):
        named = {
            w.lower() for w in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", query)
        }  # the tables it names, among other words
        return [c["seq"] for c in calls if any(str(t).lower() in named for t in _rows_changed(c))]
    path = evidence.get("file")
    if isinstance(path, str):
        want = _workspace_path(path)
        return [
            c["seq"]
            for c in calls
            if any(isinstance(f, str) and _workspace_path(f) == want for f in _files_changed(c))
        ]
    return []
