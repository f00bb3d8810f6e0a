"""A checkpoint serializer that keeps secrets out of the checkpoint file.

LangGraph's serializer encodes a checkpoint (or a pending write) as msgpack; objects it
knows (dataclasses such as the episode's records, pydantic models, ``Send``) become
msgpack extensions whose payload is msgpack again, and an exception becomes its
``repr``. :class:`RedactingSerializer` looks for the known secrets in what was encoded,
and only when one may be there decodes the msgpack as plain data (extensions kept as
they are, their payloads redacted the same way), replaces the secrets in every string
and string key, and encodes it again: every other byte stays as it was, so what it reads
back is the same objects with ``[REDACTED]`` where a secret was.
"""

from __future__ import annotations

from typing import Any

import ormsgpack
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from sandlot.traces.redact import Redactor

__all__ = ["RedactingSerializer", "redact_msgpack"]

# LangGraph's extension types whose payload is msgpack (constructor and method calls,
# pydantic models, delta snapshots); the numpy one (6) holds raw array bytes.
_NESTED_EXTENSIONS = frozenset({0, 1, 2, 3, 4, 5, 7})
_OPTIONS = ormsgpack.OPT_NON_STR_KEYS


class RedactingSerializer(JsonPlusSerializer):
    """LangGraph's serializer, with the known secrets of ``redactor`` (in all their
    forms) replaced in what it writes. Reading is LangGraph's own.

    Args:
        redactor: the trace store's redactor (it learns the run's secrets as they are
            added), or one of its own.
        **options: JsonPlusSerializer's options (``allowed_msgpack_modules``, ...).
    """

    def __init__(self, redactor: Redactor, **options: Any) -> None:
        super().__init__(**options)
        self.redactor = redactor

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        kind, data = super().dumps_typed(obj)
        if kind == "msgpack":
            data = redact_msgpack(data, self.redactor)
        return kind, data


def redact_msgpack(data: bytes, redactor: Redactor) -> bytes:
    """``data`` (msgpack) with the known secrets replaced in its strings and string keys,
    inside extensions too; ``data`` itself when it holds none."""
    if not redactor.finds(data):
        return data

    def extension(code: int, payload: bytes) -> ormsgpack.Ext:
        if code in _NESTED_EXTENSIONS:
            payload = redact_msgpack(payload, redactor)
        return ormsgpack.Ext(code, payload)

    plain = ormsgpack.unpackb(data, ext_hook=extension, option=_OPTIONS)
    return ormsgpack.packb(redactor.strings(plain), option=_OPTIONS)
