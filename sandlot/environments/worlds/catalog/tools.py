"""A catalog tool from a function definition (name, description, JSON schema of its
parameters): it takes the declared parameters and answers with an acknowledgement.

The definitions write types the BFCL way (``dict`` for an object, ``float`` for a
number, ``tuple``, ``any``); the schema a model sees says them in JSON Schema. Arguments
are checked for their names (a required one missing, an unknown one sent) and, loosely,
for the top-level types.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from sandlot.tools import Tool

__all__ = [
    "CatalogTool",
    "accepts",
    "catalog_tool",
    "function_schema",
    "json_schema",
    "unique_names",
]

_VALID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_INVALID_CHAR = re.compile(r"[^A-Za-z0-9_-]")
_TYPE_NAMES = {"dict": "object", "float": "number", "tuple": "array"}
_PYTHON_TYPES: dict[str, Any] = {
    "string": str,
    "integer": int,
    "float": float,
    "number": float,
    "boolean": bool,
    "array": list,
    "tuple": list,
    "dict": dict,
    "object": dict,
}
_CONFIG = ConfigDict(extra="forbid", protected_namespaces=(), populate_by_name=False)


def json_schema(node: Any) -> Any:
    """A BFCL parameter schema in JSON Schema words (``dict`` -> ``object``, ``float`` ->
    ``number``, ``tuple`` -> ``array``, ``any`` -> no type), recursively."""
    if isinstance(node, list):
        return [json_schema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "type" and isinstance(value, str):
            if value != "any":
                out[key] = _TYPE_NAMES.get(value, value)
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: json_schema(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "anyOf", "oneOf", "allOf"):
            out[key] = json_schema(value)
        else:
            out[key] = value
    return out


def unique_names(originals: Iterable[str]) -> dict[str, str]:
    """A valid, unique tool name for each original name (``[A-Za-z0-9_-]{1,64}``): a valid
    name is kept; others get ``_`` for each character a tool name cannot hold, and
    ``_2``, ``_3``... when that name is taken."""
    originals = list(dict.fromkeys(originals))
    names: dict[str, str] = {o: o for o in originals if _VALID.match(o)}
    taken = set(names.values())
    for original in originals:
        if original in names:
            continue
        base = _INVALID_CHAR.sub("_", original)[:64] or "tool"
        name, n = base, 1
        while name in taken:
            n += 1
            suffix = f"_{n}"
            name = base[: 64 - len(suffix)] + suffix
        names[original] = name
        taken.add(name)
    return {o: names[o] for o in originals}


def _annotation(schema: Any) -> Any:
    kind = schema.get("type") if isinstance(schema, dict) else None
    return _PYTHON_TYPES.get(kind, Any) if isinstance(kind, str) else Any


def _args_model(name: str, parameters: dict[str, Any]) -> type[BaseModel]:
    properties = parameters.get("properties") or {}
    required = set(parameters.get("required") or ())
    fields: dict[str, Any] = {}
    for i, (param, schema) in enumerate(properties.items()):
        annotation = _annotation(schema)
        # Field names of our own: a parameter may be called anything ("from", "_id",
        # "model_config"); the model sends the original name (the alias).
        if param in required:
            fields[f"p{i}"] = (annotation, Field(alias=param))
        else:
            fields[f"p{i}"] = (annotation | None, Field(default=None, alias=param))
    model: type[BaseModel] = create_model(  # type: ignore[call-overload]
        f"{name}_args", __config__=_CONFIG, **fields
    )
    return model


def _fits(value: Any, annotation: Any) -> bool:
    """Whether ``value`` is plainly of the type (no conversion needed)."""
    if annotation is Any:
        return True
    if annotation is float:
        return isinstance(value, int | float) and not isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(value, annotation)


def accepts(definition: dict[str, Any], args: dict[str, Any]) -> bool:
    """Whether the tool of ``definition`` takes ``args`` as they are: every required
    parameter given, none unknown, each of its declared type (stricter than the tool's
    own validation, which converts "5" to 5, so it needs no model built)."""
    raw = definition.get("parameters")
    parameters = raw if isinstance(raw, dict) else {}
    properties = parameters.get("properties") or {}
    required = set(parameters.get("required") or ())
    if not required <= set(args) or not set(args) <= set(properties):
        return False
    return all(
        (value is None and name not in required) or _fits(value, _annotation(properties[name]))
        for name, value in args.items()
    )


def _acknowledge(name: str) -> Callable[..., str]:
    def acknowledge(**arguments: Any) -> str:
        given = sum(value is not None for value in arguments.values())
        return f"{name}: request accepted ({given} argument{'s' if given != 1 else ''})."

    acknowledge.__name__ = name
    acknowledge.__doc__ = f"Acknowledge a call of {name}."
    return acknowledge


class CatalogTool(Tool):
    """A tool whose arguments model is built when it is first used: a catalog has
    thousands of tools, and an episode calls one or two of them."""

    definition: dict[str, Any]

    @property  # type: ignore[override]
    def args_model(self) -> type[BaseModel]:
        """The pydantic model of the arguments (built on first use)."""
        model = self.__dict__.get("_args_model")
        if model is None:
            raw = self.definition.get("parameters")
            model = _args_model(self.name, raw if isinstance(raw, dict) else {})
            self.__dict__["_args_model"] = model
        return model

    @args_model.setter
    def args_model(self, value: type[BaseModel] | None) -> None:
        if value is not None and value is not BaseModel:
            self.__dict__["_args_model"] = value


def function_schema(
    name: str, definition: dict[str, Any]
) -> tuple[str, dict[str, str], dict[str, Any]]:
    """A BFCL function definition (``description``, ``parameters`` in BFCL's types) as a
    tool's description, its parameters' docs and its OpenAI tool schema."""
    raw = definition.get("parameters")
    parameters = json_schema(raw) if isinstance(raw, dict) else {}
    parameters.setdefault("type", "object")
    parameters.setdefault("properties", {})
    docs = {
        param: str(schema.get("description", "")) if isinstance(schema, dict) else ""
        for param, schema in parameters["properties"].items()
    }
    description = str(definition.get("description") or "").strip() or name
    schema = {
        "type": "function",
        "function": {
            "name": name,
            "description": description,
            "parameters": parameters,
            "strict": False,
        },
    }
    return description, docs, schema


def catalog_tool(name: str, definition: dict[str, Any]) -> CatalogTool:
    """The tool called ``name`` for a function definition (``description``,
    ``parameters``): it validates the arguments and answers an acknowledgement."""
    description, docs, schema = function_schema(name, definition)
    made = CatalogTool(
        name=name,
        description=description,
        parameters=docs,
        args_model=BaseModel,  # a placeholder: the real one is built on first use
        function=_acknowledge(name),
        is_async=False,
        inline=True,
        strict=False,
        _schema=schema,
    )
    made.definition = definition
    return made
