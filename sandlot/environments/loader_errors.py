"""TaskFileError, and pydantic validation errors said the way a task author reads them.

A pydantic error location such as ``('checklist', 2, 'check', 'called', 'tol')`` becomes
the field path ``checklist[2].check.tol`` (the discriminator tag ``called`` is pydantic's
bookkeeping, not something the author wrote), and its message says what to write
instead: the check types that exist, the fields a mapping takes, the value that was seen.
"""

from __future__ import annotations

import difflib
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from sandlot.environments.tasks import Task
from sandlot.errors import TaskFileError

__all__ = ["TaskFileError", "describe_validation_error", "field_path"]


_TAGGED = "check"  # the one discriminated union of the task models


def field_path(loc: Sequence[Any]) -> str:
    """``('checklist', 2, 'check', 'called', 'tol')`` -> ``checklist[2].check.tol``."""
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"[{part}]"
        elif i > 0 and loc[i - 1] == _TAGGED:
            continue  # the discriminator tag pydantic inserts after 'check'
        else:
            out += f".{part}" if out else str(part)
    return out


def _members(annotation: Any) -> list[Any]:
    """The types an annotation may hold, unwrapping Annotated, unions and Optional."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _members(typing.get_args(annotation)[0])
    if origin is typing.Union or origin is types.UnionType:
        return [m for arg in typing.get_args(annotation) for m in _members(arg)]
    return [annotation]


def _model_at(loc: Sequence[Any], root: type[BaseModel] = Task) -> type[BaseModel] | None:
    """The model class a location points into (pydantic's raw loc, tags included)."""
    current: Any = root
    for part in loc:
        candidates = _members(current)
        models = [m for m in candidates if isinstance(m, type) and issubclass(m, BaseModel)]
        if isinstance(part, int):
            lists = [m for m in candidates if typing.get_origin(m) in (list, tuple)]
            if not lists:
                return None
            current = typing.get_args(lists[0])[0]
            continue
        tagged = [m for m in models if getattr(m.model_fields.get("type"), "default", None) == part]
        if tagged:  # a discriminator tag: the union member it selects
            current = tagged[0]
            continue
        owners = [m for m in models if part in m.model_fields]
        if not owners:
            return None
        current = owners[0].model_fields[part].annotation
    models = [m for m in _members(current) if isinstance(m, type) and issubclass(m, BaseModel)]
    return models[0] if len(models) == 1 else None


def _allowed(model: type[BaseModel]) -> list[str]:
    return [name for name in model.model_fields if name != "source"]


def _seen(value: Any) -> str:
    if isinstance(value, str | int | float | bool) or value is None:
        shown = repr(value)
        return f" (got {shown})" if len(shown) <= 60 else f" (got {shown[:57]}...)"
    return f" (got a {type(value).__name__})"


def describe_validation_error(
    err: Mapping[str, Any], *, root: type[BaseModel] = Task, prefix: str = ""
) -> tuple[str, str]:
    """``(field path, message)`` for one entry of ``ValidationError.errors()``.

    Args:
        err: The error, as ``ValidationError.errors()`` lists it.
        root: The model that was validated (a world's initial-state or state-check
            model; a Task by default).
        prefix: Where that model sits in the task (``checklist[2].check``), put before
            the error's own path.
    """
    loc = tuple(err.get("loc", ()))
    kind = err.get("type", "")
    own = field_path(loc)
    path = ".".join(p for p in (prefix, own) if p).replace(".[", "[") or "(task)"
    if kind in ("union_tag_invalid", "union_tag_not_found"):
        tags = err.get("ctx", {}).get("expected_tags") or ", ".join(repr(t) for t in _check_tags())
        if kind == "union_tag_invalid":
            tag = err.get("ctx", {}).get("tag")
            return f"{path}.type", f"unknown check type {tag!r}; use one of {tags}"
        return f"{path}.type", f"the check has no type; set type to one of {tags}"
    if kind == "extra_forbidden":
        name = str(loc[-1]) if loc else "?"
        model = _model_at(loc[:-1], root)
        if model is None:
            return path, f"unknown field {name!r}"
        allowed = _allowed(model)
        close = difflib.get_close_matches(name, allowed, n=1)
        hint = f"did you mean {close[0]!r}? " if close else ""
        return path, f"unknown field {name!r}; {hint}allowed: {', '.join(allowed)}"
    if kind == "missing":
        return path, "required field is missing"
    if kind == "value_error":  # a validator's own message: it already says what to do
        return path, str(err.get("ctx", {}).get("error") or err.get("msg", "invalid value"))
    return path, f"{err.get('msg', 'invalid value')}{_seen(err.get('input'))}"


def _check_tags() -> list[str]:
    model = _model_at(("checklist", 0))
    annotation: Any = model.model_fields["check"].annotation if model else None
    return [
        m.model_fields["type"].default
        for m in _members(annotation)
        if isinstance(m, type) and issubclass(m, BaseModel)
    ]
