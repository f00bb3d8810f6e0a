"""Keeping secrets out of the trace file.

Two rules, applied to everything the store writes:

1. **Known values.** Every occurrence of a secret value (at least :data:`MIN_LENGTH`
   characters) is replaced by ``[REDACTED]``: the values given to the store, the model's
   key, ``OPENAI_API_KEY`` and every environment variable whose name ends in
   ``_API_KEY``, ``_TOKEN``, ``_SECRET`` or ``_PASSWORD``. The replacement runs on the
   encoded JSON text, so a key hidden anywhere (a URL, an error message, a dict key) goes.
2. **Secret-named keys.** In JSON payloads and the run config, the value under a key
   named like ``api_key``, ``authorization``, ``password``, ``token`` or ``secret``
   (case-insensitive, any prefix: ``x-api-key``, ``accessToken``) is replaced, whatever
   it is. Counters such as ``prompt_tokens`` or ``max_tokens`` are not secret-named.

Bad values never fail a write: text that cannot be encoded as UTF-8 (a lone surrogate,
half of an emoji) is cleaned (:func:`clean_text`: U+FFFD), integers beyond 64 bits stay
exact in JSON, and a payload nested deeper than :data:`MAX_DEPTH` levels that orjson
cannot encode has its deeper parts replaced by :data:`TOO_DEEP`.
"""

from __future__ import annotations

import json
import logging
import os
import re
import reprlib
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

import orjson

__all__ = [
    "MAX_DEPTH",
    "MIN_LENGTH",
    "REDACTED",
    "TOO_DEEP",
    "Redactor",
    "clean_text",
    "dumps",
    "is_secret_key",
    "loads",
    "secrets_from_environment",
]

log = logging.getLogger(__name__)

REDACTED = "[REDACTED]"
MIN_LENGTH = 8  # shorter values would redact ordinary words

# A key is secret-named when its last word(s) name a credential: "token", "access_token",
# "X-Api-Key", "apiKey" — but not "prompt_tokens" or "token_count".
_SECRET_KEY = re.compile(
    r"(?:^|_)(?:api_?key|(?:secret|private|access)_key|authorization|passw(?:or)?d|"
    r"secret|token|credentials?)$"
)
_CAMEL = re.compile(r"([a-z0-9])([A-Z])")
_SEPARATORS = re.compile(r"[^a-z0-9]+")
# A cheap pre-filter over encoded JSON: could any object key be secret-named? Only then
# is the payload walked (most events have no such key, and walking costs microseconds).
# It runs on the reversed text, so that the pattern starts with a literal ('":' reversed)
# that the regex engine finds fast: scanning forward for the words costs ~30 us on a
# 500-byte payload, this ~1 us. Its suffixes cover every ending _SECRET_KEY accepts.
# The optional backslash covers keys of JSON held in a string (tool-call arguments as
# the model sent them: "{\"password\": ...}").
_MAYBE_SECRET_KEY_REVERSED = re.compile(rb':"\\?(?:ye|noitaz|dro|dws|ter|nek|s?lait)')
_SECRET_ENV = re.compile(r"(?:_API_KEY|_TOKEN|_SECRET|_PASSWORD)$")
_ORJSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
# orjson encodes at most 254 levels; what it refuses is encoded by the standard library
# with anything deeper than this cut, so that every later walk of it (rule 2, the viewer)
# stays far from Python's recursion limit.
MAX_DEPTH = 100
TOO_DEEP = f"<nested too deeply: cut at {MAX_DEPTH} levels>"
# The walk of rule 2 replaces what is nested deeper than this by TOO_DEEP too (orjson's
# output goes to 254 levels; walking all of them could meet the recursion limit).
_WALK_DEPTH = MAX_DEPTH
_DEEP_JSON_STRING = "[REDACTED: JSON nested too deeply to check for secrets]"
_SURROGATE = re.compile("[\ud800-\udfff]")
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring, _REPR.maxother = 12, 2_000, 2_000
_REPR.maxlist = _REPR.maxdict = _REPR.maxtuple = _REPR.maxset = 100


def clean_text(text: str) -> str:
    """``text`` with every lone surrogate (half of a UTF-16 pair: it cannot be encoded as
    UTF-8, so SQLite, JSON and HTML writers refuse it) replaced by U+FFFD; a complete
    pair held as two code points becomes its character. Text without any comes back as
    is, at the cost of one regex search."""
    if _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def is_secret_key(key: object) -> bool:
    """Whether a dict key names a credential (see the module docs)."""
    if not isinstance(key, str):
        return False
    words = _SEPARATORS.sub("_", _CAMEL.sub(r"\1_\2", key).lower()).strip("_")
    return bool(_SECRET_KEY.search(words))


def secrets_from_environment(environ: Mapping[str, str] | None = None) -> list[str]:
    """Values of environment variables that hold keys (OPENAI_API_KEY, *_TOKEN, ...)."""
    env = os.environ if environ is None else environ
    return [v for k, v in env.items() if _SECRET_ENV.search(k.upper()) and len(v) >= MIN_LENGTH]


def _default(value: Any) -> Any:
    # pydantic models (tasks, tool calls) as their JSON form; sets as lists; else str().
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return dump(mode="json")
    if isinstance(value, set | frozenset):
        return list(value)
    return str(value)


def dumps(value: Any) -> bytes:
    """JSON-encode anything a trace may hold; never raises.

    orjson first (it is most of an event's cost on the producer side); the standard
    library for what orjson refuses (integers beyond 64 bits, lone surrogates, more than
    254 levels), with lone surrogates replaced by U+FFFD and levels past
    :data:`MAX_DEPTH` by :data:`TOO_DEEP`; a description of the value when neither can
    encode it (a ``__str__`` that raises), so that a bad payload never ends an episode.
    """
    try:
        return orjson.dumps(value, default=_default, option=_ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError is a TypeError
        pass
    try:
        text = json.dumps(_acyclic(value), default=_default, ensure_ascii=False)
        return clean_text(text).encode()
    except Exception as exc:  # RecursionError, a failing __str__: never the episode's end
        log.warning("a trace payload could not be encoded as JSON: %s", exc)
        return orjson.dumps(_unencodable(value, exc))


def _unencodable(value: Any, exc: BaseException) -> dict[str, str]:
    """What is stored for a value that cannot be encoded: its (depth-limited) repr."""
    try:
        shown = _REPR.repr(value)
    except Exception as inner:  # a __repr__ that raises too
        shown = f"<{type(value).__name__}: repr failed with {type(inner).__name__}>"
    return {"unencodable": clean_text(shown[:10_000]), "error": clean_text(str(exc))}


def _acyclic(value: Any, _path: frozenset[int] = frozenset(), _depth: int = 0) -> Any:
    """``value`` with every reference back to an enclosing dict or list replaced by
    "<cycle>", keys JSON cannot have made strings, and what is nested deeper than
    :data:`MAX_DEPTH` replaced by :data:`TOO_DEEP`, so that it encodes (and its keys
    are still walked for secrets)."""
    if not isinstance(value, dict | list | tuple):
        return value
    if id(value) in _path:
        return "<cycle>"
    if _depth >= MAX_DEPTH:
        return TOO_DEEP
    inner = _path | {id(value)}
    depth = _depth + 1
    if isinstance(value, dict):
        return {_key(k): _acyclic(v, inner, depth) for k, v in value.items()}
    return [_acyclic(v, inner, depth) for v in value]


def _key(key: Any) -> Any:
    return key if key is None or isinstance(key, str | int | float | bool) else str(key)


def loads(text: str | bytes | None) -> Any:
    """Decode a stored JSON column (``None`` for NULL); never raises.

    JSON that no decoder reads (nested deeper than the standard library can go, or not
    JSON at all) comes back as ``{"undecodable": the text's start, "error": why}``; lone
    surrogate escapes written by older versions come back as U+FFFD.
    """
    if text is None or text == "":
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # NaN / Infinity written by the json fallback
        pass
    try:
        value = json.loads(text)
        return _clean_decoded(value) if _SURROGATE_ESCAPE.search(_as_str(text)) else value
    except (ValueError, RecursionError) as exc:
        return {"undecodable": clean_text(_as_str(text)[:10_000]), "error": str(exc)}


def _as_str(text: str | bytes) -> str:
    return text if isinstance(text, str) else text.decode("utf-8", "replace")


def _clean_decoded(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, list):
        return [_clean_decoded(v) for v in value]
    if isinstance(value, dict):
        return {clean_text(k): _clean_decoded(v) for k, v in value.items()}
    return value


class Redactor:
    """Replaces secret values in text, and values under secret-named keys in data.

    Args:
        secrets: values to redact wherever they appear (shorter than 8 are ignored).
        from_environment: also redact the values of ``*_API_KEY``, ``*_TOKEN``,
            ``*_SECRET`` and ``*_PASSWORD`` environment variables.
    """

    def __init__(self, secrets: Iterable[str] = (), *, from_environment: bool = True) -> None:
        self._secrets: list[str] = []
        for s in [*secrets, *(secrets_from_environment() if from_environment else [])]:
            self.add(s)

    @property
    def secrets(self) -> tuple[str, ...]:
        """The forms being replaced (each value, and how JSON escapes it)."""
        return tuple(self._secrets)

    def add(self, secret: str | None) -> None:
        """Redact ``secret`` from now on (ignored when empty or shorter than 8)."""
        if not secret or len(secret) < MIN_LENGTH:
            return
        secret = clean_text(secret)  # as the text it is looked for in is cleaned
        # JSON escapes quotes, backslashes and control characters (and the standard
        # library non-ASCII): the escaped form is what appears in encoded payloads. A
        # URL carries it percent-encoded ("p%40ss" for "p@ss").
        forms = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
        forms |= {quote(secret, safe=""), quote_plus(secret), quote(secret)}
        new = [f for f in forms if f not in self._secrets]
        if new:
            # Longest first, so that a secret containing another leaves no fragment.
            # A new list is swapped in whole: producers on other threads iterate it.
            self._secrets = sorted([*self._secrets, *new], key=len, reverse=True)

    def text(self, text: str) -> str:
        """``text`` with lone surrogates replaced by U+FFFD (:func:`clean_text`) and every
        known secret replaced: what the store writes in a text column. Never raises."""
        if not isinstance(text, str):  # a caller's mistake must not lose the row
            text = str(text)
        return self._replace(clean_text(text))

    def _replace(self, text: str) -> str:
        for s in self._secrets:
            if s in text:
                text = text.replace(s, REDACTED)
        return text

    def data(self, value: Any, _depth: int = 0) -> Any:
        """A copy of ``value`` with secret-named keys' values and known secrets replaced
        (what is nested deeper than the walk goes is replaced by :data:`TOO_DEEP`)."""
        if isinstance(value, dict | list | tuple) and _depth >= _WALK_DEPTH:
            return TOO_DEEP
        if isinstance(value, dict):
            return {
                k: REDACTED if is_secret_key(k) and _worth_hiding(v) else self.data(v, _depth + 1)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.data(v, _depth + 1) for v in value]
        if isinstance(value, str):
            return self._string(value)
        return value

    def _string(self, text: str) -> str:
        # A string that holds a JSON object or list (tool-call arguments as the model
        # sent them) gets rule 2 as well: re-encoded only when something was hidden.
        text = clean_text(text)
        if text.lstrip()[:1] in ("{", "["):
            try:
                inner = json.loads(text)
                if isinstance(inner, dict | list):
                    hidden = self.data(inner)
                    if hidden != inner:
                        return json.dumps(hidden, ensure_ascii=False)
            except ValueError:
                pass
            except RecursionError:
                # Too deep to walk: hidden whole when a secret-named key may be in it.
                if _MAYBE_SECRET_KEY_REVERSED.search(text[::-1].lower().encode()):
                    return _DEEP_JSON_STRING
        return self._replace(text)

    def json(self, value: Any) -> str:
        """``value`` as JSON text with both rules applied: what the store writes.

        Never raises: a value too deep to walk for secret-named keys is stored as
        ``{"unencodable": ..., "error": ...}`` (rule 1 applied to its description).
        """
        try:
            return self._json(value)
        except RecursionError as exc:
            log.warning("a trace payload is nested too deeply to check for secrets: %s", exc)
            return self._replace(dumps(_unencodable(value, exc)).decode())

    def _json(self, value: Any) -> str:
        raw = dumps(value)
        if _MAYBE_SECRET_KEY_REVERSED.search(raw[::-1].lower()):
            # Walk the decoded form, not ``value``: it is plain dicts and lists whatever
            # ``value`` held (pydantic models, dataclasses).
            # json.loads, not orjson: integers beyond 64 bits stay integers
            raw = dumps(self.data(json.loads(raw)))
        text = raw.decode()
        out = self._replace(text)
        if out != text:
            try:
                orjson.loads(out)
            except orjson.JSONDecodeError:
                # A secret made of digits matched inside a number: replace in strings and
                # keys only, walking the data, so the stored JSON stays valid.
                out = dumps(self._keys_and_strings(json.loads(raw))).decode()
        return out

    def _keys_and_strings(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {
                self._replace(k) if isinstance(k, str) else k: self._keys_and_strings(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self._keys_and_strings(v) for v in value]
        return self._replace(value) if isinstance(value, str) else value


def _worth_hiding(value: Any) -> bool:
    # Flags ("is_secret": true) and empty values reveal nothing and help debugging.
    return value is not None and value != "" and not isinstance(value, bool)
