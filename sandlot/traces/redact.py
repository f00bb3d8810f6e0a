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
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus

import orjson

__all__ = [
    "MIN_LENGTH",
    "REDACTED",
    "Redactor",
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
    library for what orjson refuses (integers beyond 64 bits); a description of the value
    when neither can encode it (a cycle), so that a bad payload never ends an episode.
    """
    try:
        return orjson.dumps(value, default=_default, option=_ORJSON_OPTIONS)
    except (TypeError, orjson.JSONEncodeError):
        pass
    try:
        # ensure_ascii: a lone surrogate (half an emoji) becomes a valid \udXXX escape
        return json.dumps(_acyclic(value), default=_default, ensure_ascii=True).encode()
    except (TypeError, ValueError, RecursionError) as exc:
        log.warning("a trace payload could not be encoded as JSON: %s", exc)
        return orjson.dumps({"unencodable": repr(value)[:10_000], "error": str(exc)})


def _acyclic(value: Any, _path: frozenset[int] = frozenset()) -> Any:
    """``value`` with every reference back to an enclosing dict or list replaced by
    "<cycle>", so that it encodes (and its keys are still walked for secrets)."""
    if not isinstance(value, dict | list | tuple):
        return value
    if id(value) in _path:
        return "<cycle>"
    inner = _path | {id(value)}
    if isinstance(value, dict):
        return {k: _acyclic(v, inner) for k, v in value.items()}
    return [_acyclic(v, inner) for v in value]


def loads(text: str | bytes | None) -> Any:
    """Decode a stored JSON column (``None`` for NULL)."""
    if text is None or text == "":
        return None
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:  # NaN / Infinity written by the json fallback
        return json.loads(text)


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
        """``text`` with every known secret replaced."""
        for s in self._secrets:
            if s in text:
                text = text.replace(s, REDACTED)
        return text

    def data(self, value: Any) -> Any:
        """A copy of ``value`` with secret-named keys' values and known secrets replaced."""
        if isinstance(value, dict):
            return {
                k: REDACTED if is_secret_key(k) and _worth_hiding(v) else self.data(v)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        if isinstance(value, str):
            return self._string(value)
        return value

    def _string(self, text: str) -> str:
        # A string that holds a JSON object or list (tool-call arguments as the model
        # sent them) gets rule 2 as well: re-encoded only when something was hidden.
        if text.lstrip()[:1] in ("{", "["):
            try:
                inner = json.loads(text)
            except ValueError:
                inner = None
            if isinstance(inner, dict | list):
                hidden = self.data(inner)
                if hidden != inner:
                    return json.dumps(hidden, ensure_ascii=False)
        return self.text(text)

    def json(self, value: Any) -> str:
        """``value`` as JSON text with both rules applied: what the store writes."""
        raw = dumps(value)
        if _MAYBE_SECRET_KEY_REVERSED.search(raw[::-1].lower()):
            # Walk the decoded form, not ``value``: it is plain dicts and lists whatever
            # ``value`` held (pydantic models, dataclasses).
            # json.loads, not orjson: integers beyond 64 bits stay integers
            raw = dumps(self.data(json.loads(raw)))
        text = raw.decode()
        out = self.text(text)
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
                self.text(k) if isinstance(k, str) else k: self._keys_and_strings(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self._keys_and_strings(v) for v in value]
        return self.text(value) if isinstance(value, str) else value


def _worth_hiding(value: Any) -> bool:
    # Flags ("is_secret": true) and empty values reveal nothing and help debugging.
    return value is not None and value != "" and not isinstance(value, bool)
