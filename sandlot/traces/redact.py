"""Keeping secrets out of the trace file.

Two rules, applied to everything the store writes:

1. **Known values.** Every occurrence of a secret value (at least :data:`MIN_LENGTH`
   characters) is replaced by ``[REDACTED]``: the values given to the store, the model's
   key, ``OPENAI_API_KEY`` and every environment variable whose name ends in
   ``_API_KEY``, ``_TOKEN``, ``_SECRET`` or ``_PASSWORD``. The replacement runs on the
   encoded JSON text, so a key hidden anywhere (a URL, an error message, a dict key) goes.
   A value is found in any case (``SK-ABC`` for ``sk-abc``), reversed, in base64 (also
   inside a longer base64 text, such as a Basic authorization header), JSON-escaped,
   percent-encoded, and with any of its characters written as ``\\uXXXX`` escapes (raw
   JSON arguments as a model sent them).
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

import base64
import json
import logging
import os
import re
import reprlib
from collections.abc import Iterable, Mapping
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit, urlunsplit

import orjson

__all__ = [
    "MAX_DEPTH",
    "MIN_LENGTH",
    "REDACTED",
    "TOO_DEEP",
    "Redactor",
    "clean_text",
    "dumps",
    "hide_url_credentials",
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
# A character written as a JSON escape (\uXXXX, \", \/, \\), once or, inside JSON text
# that holds JSON text, with its backslashes escaped again: any run of backslashes.
_CHAR_ESCAPE = re.compile(r'\\+(?:u([0-9a-fA-F]{4})|(["/]))?')
_ESCAPE_HINT = re.compile(r"\\[u/]")  # only text with one of these may hold such a form
_CHAR_ESCAPE_BYTES = re.compile(_CHAR_ESCAPE.pattern.encode())
_ESCAPE_HINT_BYTES = re.compile(_ESCAPE_HINT.pattern.encode())
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


def hide_url_credentials(url: str) -> tuple[str, list[str]]:
    """``url`` with the user and password of its authority replaced by :data:`REDACTED`,
    and the credentials that were there (the password as written and percent-decoded; the
    user too when it comes alone, as a token does), to be redacted wherever else they
    appear. A URL without credentials comes back as it is."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url, []
    userinfo, at, host = parts.netloc.rpartition("@")
    if not at:
        return url, []
    user, colon, password = userinfo.partition(":")
    hidden = f"{REDACTED}:{REDACTED}" if colon else REDACTED
    found = [password, unquote(password)] if colon else [user, unquote(user)]
    shown = urlunsplit(parts._replace(netloc=f"{hidden}@{host}"))
    return shown, [s for s in dict.fromkeys(found) if s]


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
        self._forms = _Forms(())
        for s in [*secrets, *(secrets_from_environment() if from_environment else [])]:
            self.add(s)

    @property
    def secrets(self) -> tuple[str, ...]:
        """The forms being replaced, longest first (each value and its reversal, how JSON
        and URLs escape them, and what base64 text holds of the value), matched in any
        case and with any character written as a ``\\uXXXX`` escape."""
        return self._forms.forms

    def add(self, secret: str | None) -> None:
        """Redact ``secret`` from now on (ignored when empty or shorter than 8)."""
        if not secret or len(secret) < MIN_LENGTH:
            return
        secret = clean_text(secret)  # as the text it is looked for in is cleaned
        known = {f.lower() for f in self._forms.forms}
        new = [f for f in dict.fromkeys(_forms_of(secret)) if f.lower() not in known]
        if new:
            # A new table is swapped in whole: producers on other threads read it.
            self._forms = _Forms((*self._forms.forms, *new))

    def finds(self, text: str | bytes) -> bool:
        """Whether ``text`` holds a known secret in any of its forms. In ``bytes`` (UTF-8
        text, or binary data such as msgpack holding it) only ASCII letters are matched
        in any case."""
        if isinstance(text, bytes):
            return self._forms.found_in_bytes(text)
        return bool(self._forms.found(text))

    def text(self, text: str) -> str:
        """``text`` with lone surrogates replaced by U+FFFD (:func:`clean_text`) and every
        known secret replaced: what the store writes in a text column. Never raises."""
        if not isinstance(text, str):  # a caller's mistake must not lose the row
            text = str(text)
        return self._replace(clean_text(text))

    def _replace(self, text: str) -> str:
        forms = self._forms
        for i in forms.found(text):  # longest first: a secret holding another goes whole
            text = forms.patterns[i].sub(REDACTED, text)
        return text

    def strings(self, value: Any) -> Any:
        """A copy of plain data (dicts, lists, tuples, strings, ...) with known secrets
        replaced in every string and string key (rule 1 only: the shape and every other
        value stay as they are)."""
        if isinstance(value, str):
            return self._replace(value)
        if isinstance(value, dict):
            return {
                self._replace(k) if isinstance(k, str) else k: self.strings(v)
                for k, v in value.items()
            }
        if isinstance(value, list):
            return [self.strings(v) for v in value]
        if isinstance(value, tuple):
            return tuple(self.strings(v) for v in value)
        return value

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
        if not self._forms.found(text):
            return text
        out = self._replace(text)
        try:
            orjson.loads(out)
            if not self._forms.found(out):
                return out
        except orjson.JSONDecodeError:
            pass
        # A secret made of digits matched inside a number, or one written with escapes
        # of two levels mixed (JSON text held in a string) is still there: replace in the
        # decoded strings and keys instead, so that the stored JSON stays valid.
        return dumps(self.strings(json.loads(raw))).decode()


class _Forms:
    """The forms of the known secrets, longest first, with what finds them fast: their
    lower-cased text (a substring search finds most texts clean; text with JSON escapes is
    searched with them read too), and for the texts that hold one, a case-insensitive
    pattern that also takes any character as an escape."""

    __slots__ = ("forms", "lowered", "lowered_bytes", "patterns", "shortest")

    def __init__(self, forms: Iterable[str]) -> None:
        self.forms = tuple(sorted(forms, key=len, reverse=True))
        self.lowered = tuple(f.lower() for f in self.forms)
        self.lowered_bytes = tuple({f.encode().lower() for f in self.forms})
        self.patterns = tuple(_pattern(f) for f in self.forms)
        self.shortest = len(self.forms[-1]) if self.forms else 0

    def found_in_bytes(self, data: bytes) -> bool:
        """Whether ``data`` may hold a form (bytes are searched as they are: a few times
        faster than decoding binary data that is mostly text)."""
        if not self.forms or len(data) < self.shortest:
            return False
        views = [data.lower()]
        if _ESCAPE_HINT_BYTES.search(data):
            views.append(_CHAR_ESCAPE_BYTES.sub(_unescape_bytes, data).lower())
        return any(form in view for view in views for form in self.lowered_bytes)

    def found(self, text: str) -> list[int]:
        """The indexes of the forms ``text`` may hold (a pattern confirms)."""
        if not self.forms or len(text) < self.shortest:
            return []
        lowered = text.lower()
        unescaped = ""
        if _ESCAPE_HINT.search(text):
            unescaped = _CHAR_ESCAPE.sub(_unescape, text).lower()
        return [
            i
            for i, form in enumerate(self.lowered)
            if form in lowered or (unescaped and form in unescaped)
        ]


def _unescape_bytes(match: re.Match[bytes]) -> bytes:
    if match.group(1):
        return chr(int(match.group(1), 16)).encode("utf-8", "surrogatepass")
    return match.group(2) or b"\\"


def _unescape(match: re.Match[str]) -> str:
    if match.group(1):
        return chr(int(match.group(1), 16))
    return match.group(2) or "\\"


def _pattern(form: str) -> re.Pattern[str]:
    """Finds ``form`` in any case, each character as itself or as a JSON escape (at any
    depth: a run of backslashes), as :data:`_CHAR_ESCAPE` reads them. A run is taken
    whole and only from its start, so that a long run costs linear time, not quadratic."""
    run = r"(?<!\\)\\++"
    parts = []
    for char in form:
        alternatives = [re.escape(char)]
        if ord(char) < 0x10000:
            alternatives.append(f"{run}u{ord(char):04x}")
        if char in '"/':
            alternatives.append(f"{run}{re.escape(char)}")
        if char == "\\":
            alternatives.append(run)
        parts.append(f"(?:{'|'.join(alternatives)})")
    return re.compile("".join(parts), re.IGNORECASE)


def _forms_of(secret: str) -> list[str]:
    """The texts that give ``secret`` away: itself and its reversal, each as JSON
    escapes it (quotes, backslashes, control characters; the standard library also
    non-ASCII) and as URLs carry it ("p%40ss" for "p@ss"), and what any base64 text that
    encodes it holds of it, at each of the three byte offsets it may start at (standard
    and URL-safe alphabets). Case is left to the matching. Forms shorter than
    :data:`MIN_LENGTH` are left out."""
    forms = []
    for text in (secret, secret[::-1]):
        forms += [text, json.dumps(text)[1:-1], json.dumps(text, ensure_ascii=False)[1:-1]]
        forms += [quote(text, safe=""), quote_plus(text), quote(text)]
    data = secret.encode("utf-8", "surrogatepass")
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data)
        # the characters made of the secret's bits alone
        core = encoded[-(-8 * offset // 6) : 8 * (offset + len(data)) // 6]
        forms += [core.decode(), core.translate(_URLSAFE).decode()]
    return [f for f in forms if len(f) >= MIN_LENGTH]


_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _worth_hiding(value: Any) -> bool:
    # Flags ("is_secret": true) and empty values reveal nothing and help debugging.
    return value is not None and value != "" and not isinstance(value, bool)
