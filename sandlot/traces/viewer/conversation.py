"""An episode read as a conversation: the turns of the viewer's Conversation tab.

The turns are built from the events, a page at a time, so the first screen of a
50,000-event episode costs what a short one does. A page is a window of the episode's
conversational events (``episode``, ``model_call``, ``tool_call``, ``plan``, ``answer``,
``error``) in seq order; the tool results that follow a page's last model call join it,
so a result is shown under its call.

Turns, each a dict with ``type`` and ``seq``:

- ``system`` / ``user``: a system prompt or a user message a model call sent for the
  first time (``to``: the role it was sent to); ``user`` with ``source: "instruction"``
  is the task's instruction, from the episode event; ``user`` with ``source:
  "simulated_user"`` is a turn of a task's simulated user (``turn``, ``stop``: it ended
  the conversation), from its user_turn event (the same text sent on to the agent is not
  shown again).
- ``assistant``: one model call: ``role`` (planner, executor, judge), its reply
  (``content``), ``tool_calls`` each with its ``result`` when the page holds it, tokens,
  ``cost_usd`` (None when the trace recorded no price), latency, model and ``error``.
- ``tool``: a tool result whose call is not on the page.
- ``plan``, ``answer``, ``error``: the plan made, the answer given, an episode error.

Long strings are cut at :data:`TEXT_LIMIT` characters (``cut`` gives the full length);
the event itself holds all of it.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

from sandlot.traces.messages import MESSAGE_REFS, Rows, load_messages
from sandlot.traces.viewer.summaries import STEP_FAILED_PREFIX, loads

__all__ = ["CONVERSATION_KINDS", "ROLES", "TEXT_LIMIT", "conversation"]

CONVERSATION_KINDS = (
    "episode",
    "model_call",
    "tool_call",
    "plan",
    "answer",
    "error",
    "user_turn",
)
ROLES = {"plan": "planner", "execute": "executor", "judge": "judge"}  # purpose → who spoke
TEXT_LIMIT = 4000  # characters of one message or tool result on a page
_TAIL = 64  # tool results after a page's last model call that may join the page


def _cut(value: Any) -> tuple[Any, int]:
    """``value`` as text cut at TEXT_LIMIT characters, and its full length when cut (else 0)."""
    if value is None:
        return None, 0
    text = value if isinstance(value, str) else _text(value)
    if len(text) <= TEXT_LIMIT:
        return text, 0
    return text[:TEXT_LIMIT], len(text)


def _text(value: Any) -> str:
    """A message's content as text: a list of parts joined, anything else as JSON."""
    if isinstance(value, list):
        parts = [p.get("text") if isinstance(p, dict) and "text" in p else p for p in value]
        return "\n".join(p if isinstance(p, str) else json.dumps(p) for p in parts)
    return json.dumps(value, ensure_ascii=False, default=str)


def _arguments(value: Any) -> Any:
    """Tool call arguments as the model wrote them, parsed when they are JSON."""
    if isinstance(value, str):
        parsed = loads(value)
        return parsed if not isinstance(parsed, str) else value
    return value


def _ranges(refs: Any) -> Iterator[tuple[int, int]]:
    """``message_refs`` as (first, last) runs; anything malformed is skipped."""
    if not isinstance(refs, list):
        return
    for item in refs:
        if isinstance(item, int) and not isinstance(item, bool):
            yield item, item
        elif (
            isinstance(item, list)
            and len(item) == 2
            and all(isinstance(x, int) and not isinstance(x, bool) for x in item)
            and item[0] <= item[1]
        ):
            yield item[0], item[1]


def _new_numbers(refs: Any, first_new: int) -> list[int]:
    """The message numbers of ``refs`` from ``first_new`` on: those no earlier call sent
    (the store numbers messages as they are first sent)."""
    out: list[int] = []
    for a, b in _ranges(refs):
        if b >= first_new:
            out.extend(range(max(a, first_new), min(b, max(a, first_new) + 1000) + 1))
    return out


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _role(purpose: Any) -> str:
    return ROLES.get(str(purpose), str(purpose or "model"))


class _Builder:
    """Turns from one page of events, in order."""

    def __init__(self, instruction: str | None) -> None:
        self.turns: list[dict[str, Any]] = []
        self.instruction = instruction
        self.pending: dict[str, dict[str, Any]] = {}  # call id → a tool call shown, no result yet
        self.seen_inline: set[str] = set()  # inline messages (older traces) already shown
        self.user_said: set[str] = set()  # simulated user turns shown on this page

    def message(self, seq: int, message: Any, to: str) -> None:
        if not isinstance(message, dict) or message.get("role") not in ("system", "user"):
            return  # replies and tool results are shown from their own events
        content, cut = _cut(message.get("content"))
        if message["role"] == "user" and (content == self.instruction or content in self.user_said):
            return
        self.turns.append(
            {"type": message["role"], "seq": seq, "to": to, "content": content, "cut": cut}
        )

    def inline_messages(self, seq: int, messages: list[Any], to: str) -> None:
        for message in messages:
            key = json.dumps(message, sort_keys=True, default=str)
            if key not in self.seen_inline:
                self.seen_inline.add(key)
                self.message(seq, message, to)

    def model_call(self, row: dict[str, Any], p: dict[str, Any]) -> None:
        response = _mapping(p.get("response"))
        usage = _mapping(p.get("usage"))
        content, cut = _cut(response.get("content"))
        calls = []
        for c in response.get("tool_calls") or []:
            if not isinstance(c, dict):
                continue
            call = {"id": c.get("id"), "name": c.get("name"), "result": None}
            call["arguments"] = _arguments(c.get("arguments"))
            if isinstance(call["id"], str):
                self.pending[call["id"]] = call
            calls.append(call)
        error = p.get("error")
        status = "error" if error else None
        if isinstance(content, str) and content.lstrip().startswith(STEP_FAILED_PREFIX):
            status = "failed"
        cost = p.get("cost_usd")
        self.turns.append(
            {
                "type": "assistant",
                "seq": row["seq"],
                "role": _role(p.get("purpose") or row["name"]),
                "purpose": p.get("purpose") or row["name"],
                "step": p.get("step_index"),
                "content": content,
                "cut": cut,
                "tool_calls": calls,
                "prompt_tokens": usage.get("prompt_tokens"),
                "completion_tokens": usage.get("completion_tokens"),
                "cost_usd": cost if isinstance(cost, int | float) else None,
                "latency": p.get("latency", row["duration"]),
                "model": p.get("model"),
                "error": str(error) if error else None,
                "status": status,
            }
        )

    def tool_call(self, row: dict[str, Any], p: dict[str, Any]) -> None:
        content, cut = _cut(p.get("content"))
        result = {
            "seq": row["seq"],
            "name": row["name"],
            "ok": bool(p.get("ok")),
            "error_kind": p.get("error_kind"),
            "content": content,
            "cut": cut,
            "duration": row["duration"],
        }
        call = self.pending.pop(str(p.get("call_id")), None)
        if call is not None and call["name"] == row["name"]:
            call["result"] = result
            return
        arguments = p.get("arguments")
        if arguments is None and p.get("arguments_raw") is not None:
            arguments = p.get("arguments_raw")
        self.turns.append(
            result | {"type": "tool", "call_id": p.get("call_id"), "arguments": arguments}
        )

    def other(self, row: dict[str, Any], p: dict[str, Any]) -> None:
        seq, kind = row["seq"], row["kind"]
        if kind == "episode" and isinstance(p.get("instruction"), str):
            content, cut = _cut(p["instruction"])
            turn = {"type": "user", "seq": seq, "source": "instruction"}
            self.turns.append(turn | {"content": content, "cut": cut})
        elif kind == "plan" and isinstance(p.get("steps"), list):
            steps = [s if isinstance(s, str) else _text(s) for s in p["steps"]]
            turn = {"type": "plan", "seq": seq, "steps": steps, "replan": bool(p.get("replan"))}
            self.turns.append(turn | {"reason": p.get("reason")})
        elif kind == "user_turn":
            content, cut = _cut(p.get("text"))
            if isinstance(content, str):
                self.user_said.add(content)
            turn = {"type": "user", "seq": seq, "source": "simulated_user"}
            extra = {"turn": p.get("turn"), "stop": bool(p.get("stop"))}
            self.turns.append(turn | {"content": content, "cut": cut} | extra)
        elif kind == "answer":
            content, cut = _cut(p.get("answer"))
            self.turns.append({"type": "answer", "seq": seq, "content": content, "cut": cut})
        elif kind == "error":
            message, cut = _cut(p.get("message") if "message" in p else p or row["name"])
            self.turns.append({"type": "error", "seq": seq, "content": message, "cut": cut})


def conversation(
    rows: Rows,
    episode_id: str,
    *,
    offset: int = 0,
    limit: int | None = 100,
    live: str = "",
) -> dict[str, Any] | None:
    """A page of an episode's conversation (see the module's docstring).

    Args:
        rows: runs a read on the trace.
        offset: conversational events to skip (a page's ``next_offset``).
        limit: conversational events on the page (None: all of them), plus the tool
            results that follow its last one.
        live: an extra SQL condition on events (leave out those a resume replaced).

    Returns:
        ``{"total", "offset", "next_offset", "turns"}`` (``total`` counts conversational
        events; ``next_offset`` is None on the last page), or None when there is no
        such episode.
    """
    if not rows("SELECT 1 FROM episodes WHERE id = ?", (episode_id,)):
        return None
    marks = ", ".join("?" for _ in CONVERSATION_KINDS)
    where = f"episode_id = ? AND kind IN ({marks}){live}"
    params = (episode_id, *CONVERSATION_KINDS)
    total = rows(f"SELECT count(*) AS n FROM events WHERE {where}", params)[0]["n"]
    window = -1 if limit is None else limit + _TAIL
    found = rows(
        f"SELECT seq, kind, name, duration, payload FROM events WHERE {where} "
        "ORDER BY seq LIMIT ? OFFSET ?",
        (*params, window, offset),
    )
    page = found if limit is None else found[:limit]
    for row in found[len(page) :]:
        if row["kind"] != "tool_call":
            break
        page.append(row)
    instruction = rows(
        "SELECT payload FROM events WHERE episode_id = ? AND kind = 'episode' ORDER BY seq LIMIT 1",
        (episode_id,),
    )
    root = loads(instruction[0]["payload"]) if instruction else None
    built = _Builder(root.get("instruction") if isinstance(root, dict) else None)
    payloads = [(row, loads(row["payload"])) for row in page]
    messages = _stored_messages(rows, episode_id, payloads, _first_new(rows, episode_id, page))
    for row, p in payloads:
        p = p if isinstance(p, dict) else {}
        if row["kind"] == "model_call":
            to = _role(p.get("purpose") or row["name"])
            if isinstance(p.get("messages"), list):
                built.inline_messages(row["seq"], p["messages"], to)
            for n in messages.get(row["seq"], ()):
                built.message(row["seq"], messages[None].get(n), to)
            built.model_call(row, p)
        elif row["kind"] == "tool_call":
            built.tool_call(row, p)
        else:
            built.other(row, p)
    end = offset + len(page)
    return {
        "total": total,
        "offset": offset,
        "next_offset": end if end < total and page else None,
        "turns": built.turns,
    }


def _first_new(rows: Rows, episode_id: str, page: list[dict[str, Any]]) -> int:
    """The first message number that no model call before the page sent."""
    if not page:
        return 0
    try:
        found = rows(
            "SELECT max(CASE WHEN j.type = 'array' THEN json_extract(j.value, '$[1]') "
            "ELSE j.value END) AS n FROM events, json_each(events.payload, '$.message_refs') j "
            "WHERE episode_id = ? AND kind = 'model_call' AND seq < ? AND json_valid(payload)",
            (episode_id, page[0]["seq"]),
        )
    except sqlite3.Error:
        return 0
    n = found[0]["n"] if found else None
    return n + 1 if isinstance(n, int) else 0


def _stored_messages(
    rows: Rows, episode_id: str, payloads: list[tuple[dict[str, Any], Any]], first_new: int
) -> dict[Any, Any]:
    """For each model call of the page, the numbers of the messages it sent first
    (by seq), and under None every such message, read in one query."""
    out: dict[Any, Any] = {}
    wanted: list[int] = []
    for row, p in payloads:
        if row["kind"] != "model_call" or not isinstance(p, dict) or MESSAGE_REFS not in p:
            continue
        numbers = _new_numbers(p[MESSAGE_REFS], first_new)
        if numbers:
            out[row["seq"]] = numbers
            wanted.extend(numbers)
            first_new = max(numbers) + 1
    try:
        out[None] = load_messages(rows, episode_id, wanted) if wanted else {}
    except (sqlite3.Error, ValueError):  # a trace from before the messages table
        out[None] = {}
    return out
