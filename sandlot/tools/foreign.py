"""Tools described by a JSON schema rather than by a Python signature: the tools of an
MCP server or of LangChain, called through a coroutine that takes the arguments."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, create_model

from sandlot.tools.decorator import Tool

__all__ = ["schema_tool"]

# JSON Schema's types, as the args model checks them; anything else is taken as it is.
_TYPES: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "array": list[Any],
    "object": dict[str, Any],
    "null": None,
}


class _Unset:
    """The default of a parameter the model may leave out: never sent on."""

    def __repr__(self) -> str:
        return "<unset>"


UNSET: Any = _Unset()


def schema_tool(
    name: str,
    description: str,
    schema: dict[str, Any],
    call: Callable[[dict[str, Any]], Awaitable[Any]],
) -> Tool:
    """A Tool the model sees with ``schema`` (a JSON Schema object of the parameters)
    exactly as given, whose arguments are checked against the schema's properties
    (their JSON types, the required ones, no others) and passed to ``call`` as one dict
    of the arguments the model sent.

    Args:
        name: The tool's name.
        description: What it does.
        schema: The JSON Schema of its arguments (``{"type": "object", "properties":
            ...}``).
        call: Awaited with the arguments; what it returns is the tool's result.
    """
    properties: dict[str, Any] = dict(schema.get("properties") or {})
    required = set(schema.get("required") or ())
    fields: dict[str, Any] = {}
    for prop, spec in properties.items():
        annotation = _annotation(spec if isinstance(spec, dict) else {})
        fields[prop] = (annotation, ... if prop in required else UNSET)
    args_model: type[BaseModel] = create_model(  # type: ignore[call-overload]
        f"{name}_args",
        __config__=ConfigDict(extra="forbid", protected_namespaces=()),
        **fields,
    )

    async def function(**kwargs: Any) -> Any:
        return await call({k: v for k, v in kwargs.items() if v is not UNSET})

    function.__name__ = function.__qualname__ = name
    function.__doc__ = description
    parameters = {
        prop: str(spec.get("description", "")) if isinstance(spec, dict) else ""
        for prop, spec in properties.items()
    }
    params = {"type": "object", "properties": {}, **schema}
    definition = {"name": name, "description": description, "parameters": params}
    return Tool(
        name=name,
        description=description,
        parameters=parameters,
        args_model=args_model,
        function=function,
        is_async=True,
        strict=False,
        _schema={"type": "function", "function": {**definition, "strict": False}},
    )


def _annotation(spec: dict[str, Any]) -> Any:
    """The Python type that checks one property's JSON type (``Any`` when the schema
    says no single type)."""
    kind = spec.get("type")
    if isinstance(kind, str) and kind in _TYPES:
        return _TYPES[kind]
    if isinstance(kind, list) and kind and all(k in _TYPES for k in kind):
        members = tuple(_TYPES[k] for k in kind)
        return members[0] if len(members) == 1 else _union(members)
    return Any


def _union(members: tuple[Any, ...]) -> Any:
    union = members[0] if members[0] is not None else type(None)
    for member in members[1:]:
        union = union | (member if member is not None else type(None))
    return union
