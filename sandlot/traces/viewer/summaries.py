"""One-line summaries of events for list views, and cutting huge payloads.

Lists (timeline, span tree) carry a summary and a status instead of the payload, so a
page of rows stays small however big the model calls and tool outputs are; the full
payload is fetched when one event is opened. Summaries are computed here, once, for the
server and for the standalone export alike.

Nothing in a payload may fail a page: JSON nested deeper than the decoders go comes back
as its text, what is nested deeper than :data:`DEPTH_LIMIT` levels is shown as
:data:`TOO_DEEP`, and text that cannot be encoded (a lone surrogate) is cleaned where
the page is written (:func:`dumps_for_page`).
"""

from __future__ import annotations

import json
from typing import Any

import orjson

from sandlot.environments.trajectory import STEP_FAILED
from sandlot.traces.redact import clean_text

__all__ = [
    "DEPTH_LIMIT",
    "PAYLOAD_LIMIT",
    "STEP_FAILED_PREFIX",
    "SUMMARY_LIMIT",
    "TOO_DEEP",
    "cap_depth",
    "cut_long_strings",
    "dumps_for_page",
    "loads",
    "summarize",
]

PAYLOAD_LIMIT = 20_000  # characters of one string value sent before "show all"
SUMMARY_LIMIT = 200
DEPTH_LIMIT = 100  # levels of lists and objects shown; deeper ones become TOO_DEEP
TOO_DEEP = f"… [nested deeper than {DEPTH_LIMIT} levels: not shown]"

# The executor's convention for a step the model gave up on, defined once with the
# episode record.
STEP_FAILED_PREFIX = STEP_FAILED


def loads(text: Any) -> Any:
    """Parse a JSON column; a value that is not JSON comes back as it is."""
    if not isinstance(text, str | bytes):
        return text
    try:
        return orjson.loads(text)  # several times faster: lists and comparisons parse a lot
    except orjson.JSONDecodeError:
        pass
    try:
        return json.loads(text)  # NaN and Infinity, which orjson refuses
    except (ValueError, RecursionError):  # not JSON, or nested past both decoders
        return text


def cap_depth(value: Any, limit: int = DEPTH_LIMIT) -> Any:
    """A copy of ``value`` with the lists and objects nested deeper than ``limit`` levels
    replaced by :data:`TOO_DEEP`."""
    if not isinstance(value, dict | list):
        return value
    if limit <= 0:
        return TOO_DEEP
    if isinstance(value, dict):
        return {k: cap_depth(v, limit - 1) for k, v in value.items()}
    return [cap_depth(v, limit - 1) for v in value]


def dumps_for_page(value: Any) -> str:
    """JSON text for a page or an API answer: never fails on deep values (cut at
    :data:`DEPTH_LIMIT`) or on lone surrogates (U+FFFD)."""
    try:
        text = json.dumps(value, default=str, ensure_ascii=False)
    except RecursionError:
        text = json.dumps(cap_depth(value), default=str, ensure_ascii=False)
    return clean_text(text)


def _short(value: Any, limit: int = 120) -> str:
    if isinstance(value, str):
        text = value
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, default=str)
        except RecursionError:
            text = json.dumps(cap_depth(value, 8), ensure_ascii=False, default=str)
    text = " ".join(text.split())  # one line
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _call(name: Any, arguments: Any) -> str:
    if isinstance(arguments, str):
        arguments = loads(arguments)
    if isinstance(arguments, dict):
        args = ", ".join(f"{k}={_short(v, 40)}" for k, v in arguments.items())
    else:
        args = _short(arguments if arguments is not None else "", 60)
    return f"{name}({args})"


def _model_call(p: dict[str, Any]) -> tuple[str, str | None]:
    if p.get("error"):
        return f"error: {_short(p['error'])}", "error"
    response = p.get("response") or {}
    calls = response.get("tool_calls") or []
    usage = p.get("usage") or {}
    tokens = (usage.get("prompt_tokens") or 0) + (usage.get("completion_tokens") or 0)
    said = "; ".join(_call(c.get("name"), c.get("arguments")) for c in calls)
    content = response.get("content") or ""
    text = f"→ {said}" if said else _short(content) or "(empty response)"
    # as the executor reads it: case and leading blanks do not matter
    status = "failed" if str(content).strip().upper().startswith(STEP_FAILED_PREFIX) else None
    return f"{p.get('purpose') or 'call'}: {text}" + (f" · {tokens} tok" if tokens else ""), status


def _tool_call(name: str, p: dict[str, Any]) -> tuple[str, str | None]:
    args = p.get("arguments") if p.get("arguments") is not None else p.get("arguments_raw")
    head = _call(name, args)
    if p.get("ok"):
        return f"{head} → {_short(p.get('content') or '', 100)}", "ok"
    kind = p.get("error_kind") or "error"
    return f"{head} → {kind}: {_short(p.get('content') or '', 100)}", "error"


def _retrieval(p: dict[str, Any]) -> tuple[str, str | None]:
    hit = p.get("hit")
    status = None if hit is None else ("ok" if hit else "miss")
    tail = "" if hit is None else (" · hit" if hit else " · miss")
    offered = "nothing matched" if p.get("matched") is False else ", ".join(p.get("offered") or [])
    return f"{_short(p.get('query') or '', 60)} → {offered}{tail}", status


def _plan(p: dict[str, Any]) -> tuple[str, str | None]:
    steps = p.get("steps") or []
    first = f": 1. {_short(steps[0], 80)}" if steps else ""
    if p.get("replan"):
        return f"re-plan, {len(steps)} steps ({_short(p.get('reason') or '', 60)}){first}", "replan"
    return f"{len(steps)} steps{first}", None


def summarize(kind: str, name: str, payload: Any) -> tuple[str, str | None]:
    """A one-line summary of an event, and its status for colouring and the replay.

    Status is "ok", "error", "failed" (the model gave up on its plan step), "miss" (the
    retriever did not offer a needed tool, or a step called a tool it was not offered),
    "replan", or None. A payload of a shape
    the summaries do not expect (the recorder accepts any) gets a generic one-line form:
    one odd event must never fail a whole page of them.
    """
    try:
        return _summarize(kind, name, payload)
    except Exception:
        text = _short(payload) if payload not in (None, {}) else ""
        error = isinstance(payload, dict) and payload.get("error")
        return text[:SUMMARY_LIMIT], "error" if error else None


def _summarize(kind: str, name: str, payload: Any) -> tuple[str, str | None]:
    p = payload if isinstance(payload, dict) else {}
    if kind == "model_call":
        text, status = _model_call(p)
    elif kind == "tool_call":
        text, status = _tool_call(name, p)
    elif kind == "retrieval":
        text, status = _retrieval(p)
    elif kind == "plan":
        text, status = _plan(p)
    elif kind == "check":
        passed: Any = p.get("passed")
        verdict = "skipped" if passed is None else "pass" if passed else "fail"
        text, status = (
            f"{p.get('item_id', name)}: {verdict}",
            {True: "ok", False: "error"}.get(passed),
        )
    elif kind == "answer":
        text, status = _short(p.get("answer") or ""), None
    elif kind == "error":
        text, status = _short(p.get("message") or ""), "error"
    elif kind == "node":
        step = p.get("step_index")
        text, status = ("" if step is None else f"step {step + 1}"), None
        if p.get("step_hit") is False:  # the step called a tool it was not offered
            text += f" · called {', '.join(p.get('not_offered') or ['?'])}, not offered"
            status = "miss"
    elif kind == "episode":
        text, status = _short(p.get("instruction") or ""), None
    elif kind == "replay":
        match = p.get("match")
        text = f"step {p.get('step')} {p.get('tool')}: {'match' if match else 'differs'}"
        status = "ok" if match else "error"
    else:
        text, status = (_short(payload) if payload not in (None, {}) else ""), None
    if p.get("error") and status is None:
        status = "error"
    return text[:SUMMARY_LIMIT], status


def cut_long_strings(
    value: Any, limit: int | None = PAYLOAD_LIMIT, *, depth: int = DEPTH_LIMIT
) -> tuple[Any, int]:
    """Cut every string longer than ``limit`` characters (at any depth; None: none),
    and replace what is nested deeper than ``depth`` levels by :data:`TOO_DEEP`.

    Returns:
        The cut copy and how many strings were cut (0: no string was cut).
    """
    if isinstance(value, str):
        if limit is None or len(value) <= limit:
            return value, 0
        return f"{value[:limit]}… [{len(value) - limit:,} more characters]", 1
    if isinstance(value, dict | list) and depth <= 0:
        return TOO_DEEP, 0
    if isinstance(value, list):
        items = [cut_long_strings(v, limit, depth=depth - 1) for v in value]
        return [v for v, _ in items], sum(n for _, n in items)
    if isinstance(value, dict):
        pairs = {k: cut_long_strings(v, limit, depth=depth - 1) for k, v in value.items()}
        return {k: v for k, (v, _) in pairs.items()}, sum(n for _, n in pairs.values())
    return value, 0
