"""Model-call messages stored once per episode and referenced by number.

An executor sends the system prompt and the whole conversation on every call, so a trace
that kept each call's message list would grow with the square of the conversation. The
store keeps each distinct message of an episode once, in the ``messages`` table, under a
number (0, 1, ... within the episode), and a ``model_call`` event carries
``message_refs``: the numbers of the messages it sent, in order, with runs of
consecutive numbers written as ``[first, last]`` (the conversation is append-only, so an
executor call's reference is a few ranges whatever its length).

A long string (:data:`LONG_STRING` characters or more) that an earlier event of the
episode already holds — a tool's output in its ``tool_call`` event, the model's reply in
its ``model_call`` response — is not stored again: the message row leaves it out and its
``refs`` column says where it is (``[path in the message, event seq, path in that
event's payload]``). Resolving puts it back, so a model call's messages read back exactly
as the model was sent them (redacted like every payload).

:class:`MessageLog` is the writing side (one per episode recorder);
:func:`load_messages` and :func:`resolve_refs` the reading side, shared by
:class:`~sandlot.traces.query.TraceReader` and the viewer.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from sandlot.traces.redact import Redactor, dumps, is_secret_key, loads

__all__ = [
    "LONG_STRING",
    "MAX_REFS",
    "MESSAGE_REFS",
    "MessageLog",
    "Rows",
    "decode_ranges",
    "encode_ranges",
    "load_messages",
    "resolve_payload_messages",
    "resolve_refs",
]

MAX_REFS = 1_000_000  # messages one reference may name (a damaged trace must not hang a reader)
LONG_STRING = 1024  # characters from which a string an event holds is referenced, not copied
MESSAGE_REFS = "message_refs"  # the model_call payload key holding the reference

Rows = Callable[[str, Sequence[Any]], list[dict[str, Any]]]  # run a query, get dict rows
Path = tuple[str | int, ...]

_INSERT = (
    "INSERT OR IGNORE INTO messages (episode_id, n, hash, message, refs) VALUES (?, ?, ?, ?, ?)"
)


def encode_ranges(numbers: Iterable[int]) -> list[int | list[int]]:
    """``[0, 1, 2, 3, 7, 5, 6]`` → ``[[0, 3], 7, [5, 6]]``: runs of consecutive numbers as
    ``[first, last]``, others as they are; the order is kept."""
    out: list[int | list[int]] = []
    start: int | None = None  # None until the first number; then both are set
    prev = 0
    for n in numbers:
        if start is not None and n == prev + 1:
            prev = n
            continue
        if start is not None:
            out.append(start if start == prev else [start, prev])
        start = prev = n
    if start is not None:
        out.append(start if start == prev else [start, prev])
    return out


def decode_ranges(refs: Iterable[Any]) -> list[int]:
    """The numbers :func:`encode_ranges` encoded, in order.

    Raises:
        ValueError: ``refs`` is not a list of numbers and ``[first, last]`` pairs, or
            names more than :data:`MAX_REFS` messages.
    """
    numbers: list[int] = []
    for item in refs:
        if isinstance(item, int) and not isinstance(item, bool):
            numbers.append(item)
        elif (
            isinstance(item, list | tuple)
            and len(item) == 2
            and all(isinstance(x, int) and not isinstance(x, bool) for x in item)
            and item[0] <= item[1]
        ):
            if len(numbers) + item[1] - item[0] >= MAX_REFS:
                raise ValueError(f"a message reference names more than {MAX_REFS:,} messages")
            numbers.extend(range(item[0], item[1] + 1))
        else:
            raise ValueError(f"not a message reference: {item!r} (a number or [first, last])")
    return numbers


def _digest(data: bytes) -> bytes:
    return hashlib.blake2b(data, digest_size=16).digest()


class MessageLog:
    """The messages one episode has stored, and the long strings its events hold.

    Args:
        episode_id: the episode.
        redactor: the store's redactor (messages are redacted like payloads).
        queue: puts one statement on the store's writer queue: ``queue(sql, params)``.
        rows: runs a read on the trace (used once, to continue a resumed episode).
        resumed: the episode may already have stored messages (a resume): their
            numbers are read before the first new one is given.
    """

    def __init__(
        self,
        episode_id: str,
        redactor: Redactor,
        queue: Callable[[str, tuple[Any, ...]], None],
        rows: Rows,
        *,
        resumed: bool = False,
    ) -> None:
        self.episode_id = episode_id
        self._redactor = redactor
        self._queue = queue
        self._rows = rows
        self._loaded = not resumed
        self._next = 0
        self._by_raw: dict[bytes, int] = {}  # digest of the message as given → number
        # id of a message object seen → (the object, kept so the id is not reused; number)
        self._by_id: dict[int, tuple[Mapping[str, Any], int]] = {}
        self._by_stored: dict[bytes, int] = {}  # digest of the message as stored → number
        self._long: dict[str, tuple[int, Path]] = {}  # long string → (event seq, path)

    # --- events: where long strings already are ------------------------------------------

    def note_event(self, seq: int, kind: str, payload: Mapping[str, Any]) -> None:
        """Remember the long strings of a ``tool_call`` or ``model_call`` payload (the
        tool's output, the model's reply and call arguments) so that a message repeating
        one refers to the event instead of holding a second copy."""
        if kind == "tool_call":
            self._note(payload.get("content"), seq, ("content",))
            self._note(payload.get("arguments_raw"), seq, ("arguments_raw",))
        elif kind == "model_call":
            response = payload.get("response")
            if isinstance(response, Mapping):
                self._note(response.get("content"), seq, ("response", "content"))
                calls = response.get("tool_calls")
                if isinstance(calls, list):
                    for i, call in enumerate(calls):
                        if isinstance(call, Mapping):
                            path = ("response", "tool_calls", i, "arguments")
                            self._note(call.get("arguments"), seq, path)

    def _note(self, value: Any, seq: int, path: Path) -> None:
        if isinstance(value, str) and len(value) >= LONG_STRING:
            self._long.setdefault(value, (seq, path))

    # --- messages ----------------------------------------------------------------------

    def refs(self, messages: Iterable[Mapping[str, Any]]) -> list[int | list[int]]:
        """Store the messages not yet stored for this episode; their reference, in order."""
        numbers = []
        for message in messages:
            # The executor sends the same conversation objects call after call: knowing
            # them by identity spares encoding the whole conversation again each time.
            seen = self._by_id.get(id(message))
            if seen is not None and seen[0] is message:
                numbers.append(seen[1])
                continue
            key = _digest(dumps(message))
            n = self._by_raw.get(key)
            if n is None:
                n = self._by_raw[key] = self._store(message)
            self._by_id[id(message)] = (message, n)
            numbers.append(n)
        return encode_ranges(numbers)

    def _store(self, message: Mapping[str, Any]) -> int:
        if not self._loaded:
            self._load()
        text = self._redactor.json(message)
        key = _digest(text.encode())
        n = self._by_stored.get(key)
        if n is not None:  # the same message as stored, e.g. before a resume
            return n
        n = self._next
        self._next += 1
        self._by_stored[key] = n
        refs: list[list[Any]] = []
        stripped = self._strip(message, (), refs)
        if refs:
            text = self._redactor.json(stripped)
        self._queue(
            _INSERT, (self.episode_id, n, key, text, dumps(refs).decode() if refs else None)
        )
        return n

    def _strip(self, value: Any, path: Path, refs: list[list[Any]]) -> Any:
        """``value`` with every long string an event holds replaced by None (and its
        place noted in ``refs``); containers are copied only when something changed."""
        if isinstance(value, str):
            if len(value) >= LONG_STRING and value in self._long:
                seq, where = self._long[value]
                refs.append([list(path), seq, list(where)])
                return None
            return value
        if isinstance(value, Mapping):
            # a value under a secret-named key stays, to be redacted as such
            out = {
                k: v if is_secret_key(k) else self._strip(v, (*path, k), refs)
                for k, v in value.items()
            }
            return out if any(out[k] is not value[k] for k in out) else value
        if isinstance(value, list | tuple):
            items = [self._strip(v, (*path, i), refs) for i, v in enumerate(value)]
            return items if any(a is not b for a, b in zip(items, value, strict=True)) else value
        return value

    def _load(self) -> None:
        """A resumed episode: continue after the messages it has stored already."""
        self._loaded = True
        for row in self._rows(
            "SELECT n, hash FROM messages WHERE episode_id = ? ORDER BY n", (self.episode_id,)
        ):
            if row["hash"] is not None:
                self._by_stored.setdefault(bytes(row["hash"]), row["n"])
            self._next = max(self._next, row["n"] + 1)


# --- reading ---------------------------------------------------------------------------


def load_messages(
    rows: Rows, episode_id: str, numbers: Iterable[int] | None = None
) -> dict[int, dict[str, Any]]:
    """The stored messages of an episode by number (all, or those in ``numbers``), with
    the long strings that live in events put back."""
    sql = "SELECT n, message, refs FROM messages WHERE episode_id = ?"
    params: list[Any] = [episode_id]
    wanted = None if numbers is None else set(numbers)
    if wanted is not None:
        if not wanted:
            return {}
        sql += " AND n BETWEEN ? AND ?"
        params += [min(wanted), max(wanted)]
    found = {}
    pending: list[tuple[dict[str, Any], list[Any]]] = []
    for row in rows(sql, params):
        if wanted is not None and row["n"] not in wanted:
            continue
        message = loads(row["message"])
        found[row["n"]] = message
        if row["refs"]:
            pending.append((message, loads(row["refs"])))
    if pending:
        _put_back(rows, episode_id, pending)
    return found


def _put_back(rows: Rows, episode_id: str, pending: list[tuple[dict[str, Any], list[Any]]]) -> None:
    seqs = sorted({seq for _, refs in pending for _, seq, _ in refs})
    payloads = {}
    for i in range(0, len(seqs), 500):
        chunk = seqs[i : i + 500]
        for row in rows(
            f"SELECT seq, payload FROM events WHERE episode_id = ? AND seq IN ({', '.join('?' * len(chunk))})",
            [episode_id, *chunk],
        ):
            payloads[row["seq"]] = loads(row["payload"])
    for message, refs in pending:
        for path, seq, where in refs:
            value: Any = payloads.get(seq)
            try:
                for key in where:
                    value = value[key]
            except (KeyError, IndexError, TypeError):
                value = f"[not in the trace: event {seq} holds no {'.'.join(map(str, where))}]"
            _set(message, path, value)


def _set(target: Any, path: Sequence[Any], value: Any) -> None:
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value


def resolve_refs(refs: Any, messages: Mapping[int, dict[str, Any]]) -> list[dict[str, Any]]:
    """The message list a ``message_refs`` value names, from ``messages`` (as
    :func:`load_messages` returns them; shared, not copied). A number with no stored
    message (a trace cut short) reads as a placeholder message."""
    out = []
    for n in decode_ranges(refs):
        message = messages.get(n)
        out.append(
            message
            if message is not None
            else {"role": "?", "content": f"[message {n} is not in the trace]"}
        )
    return out


def resolve_payload_messages(
    rows: Rows, episode_id: str, payload: Mapping[str, Any]
) -> list[dict[str, Any]] | None:
    """The messages one ``model_call`` payload sent: its own ``messages`` list (traces
    written before messages were stored once, or by a recorder that keeps them inline),
    else its ``message_refs`` resolved; None when it has neither."""
    inline = payload.get("messages")
    if isinstance(inline, list):
        return inline
    refs = payload.get(MESSAGE_REFS)
    if not isinstance(refs, list):
        return None
    numbers = decode_ranges(refs)
    return resolve_refs(refs, load_messages(rows, episode_id, numbers))
