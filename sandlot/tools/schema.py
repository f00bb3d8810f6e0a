"""The JSON schema a model sees, and the way back from what the model sends.

OpenAI's strict function calling accepts a subset of JSON Schema: every object lists
all of its properties as ``required`` and sets ``additionalProperties: false``, and
several keywords are refused. :func:`strict_schema` turns pydantic's schema of a tool's
arguments into that subset:

- a property with a default becomes nullable: a ``null`` means "use the default";
- a map (``dict[str, V]``) becomes a list of ``{"key", "value"}`` pairs, because an
  object with free-form keys cannot be strict;
- a ``$ref`` with siblings (a description) is inlined, since the API refuses
  ``{"$ref": ..., "description": ...}``; plain ``$ref`` and ``$defs`` stay (recursion);
- ``title``, ``default`` and keywords strict mode refuses are dropped (pydantic still
  enforces them when it validates the arguments); ``oneOf`` becomes ``anyOf``, ``const``
  a one-value ``enum``.

:func:`compile_decoder` builds the inverse for one tool, once: it turns the JSON the
model sent into the input the tool's pydantic model validates (nulls for optional keys
dropped, pair lists made dicts again).
"""

from __future__ import annotations

import copy
import re
from collections.abc import Callable
from typing import Any

__all__ = ["Decoder", "compile_decoder", "strict_schema"]

Decoder = Callable[[Any], Any]

# Keywords OpenAI's strict mode accepts (the structural ones are handled separately).
_KEEP = (
    "enum",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
)
_FORMATS = {"date-time", "time", "date", "duration", "email", "hostname", "ipv4", "ipv6", "uuid"}
_SCALARS = {"string", "integer", "number", "boolean"}
_PAIRS_NOTE = 'Given as a list of {"key": ..., "value": ...} pairs.'
_STRICT_HINT = "give it a concrete type, or use @tool(strict=False)"


def _ref_name(node: dict[str, Any]) -> str:
    return str(node["$ref"]).rsplit("/", 1)[-1]


def _is_map(node: dict[str, Any]) -> bool:
    """A dict with free-form keys: pydantic writes ``additionalProperties`` as its values."""
    if node.get("type") != "object" or "properties" in node:
        return False
    return node.get("additionalProperties", True) is not False


def _allows_null(node: dict[str, Any]) -> bool:
    kind = node.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    return any(_allows_null(b) for b in node.get("anyOf", ()))


def _nullable(node: dict[str, Any]) -> dict[str, Any]:
    """``node`` or null (strict mode's way of saying "optional")."""
    if _allows_null(node):
        return node
    kind = node.get("type")
    if kind in _SCALARS and "enum" not in node:
        return {**node, "type": [kind, "null"]}
    inner = dict(node)
    description = inner.pop("description", None)
    out: dict[str, Any] = {"anyOf": [inner, {"type": "null"}]}
    if description:
        out["description"] = description
    return out


class _Converter:
    """One pass over a pydantic JSON schema; ``problems`` collects what strict mode refuses."""

    def __init__(self, defs: dict[str, Any], strict: bool) -> None:
        self.defs = defs
        self.strict = strict
        self.problems: list[str] = []
        self.used: set[str] = set()  # $defs still referenced by the output
        self._inlining: list[str] = []  # refs being inlined, so recursion stays a $ref
        self.params: set[str] = set()  # the tool's parameters, to name them in problems

    def problem(self, where: str, what: str) -> None:
        if not self.strict:
            return
        top = re.split(r"[.\[]", where, maxsplit=1)[0]
        if top in self.params:
            where = f"parameter {top!r}" + (f" at {where}" if where != top else "")
        self.problems.append(f"{where}: {what}")  # else a model in $defs, by its name

    def convert(self, node: dict[str, Any], where: str) -> dict[str, Any]:
        if "$ref" in node:
            return self._ref(node, where)
        if len(node.get("allOf", ())) == 1:  # pydantic's wrapper for a ref with siblings
            rest = {k: v for k, v in node.items() if k != "allOf"}
            return self.convert({**node["allOf"][0], **rest}, where)
        out: dict[str, Any] = {}
        union = node.get("anyOf") or node.get("oneOf")
        if union:
            out["anyOf"] = [self.convert(b, where) for b in union]
        elif _is_map(node):
            out = self._map(node, where)
        elif node.get("type") == "object":
            out = self._object(node, where)
        elif node.get("type") == "array":
            out = self._array(node, where)
        elif "const" in node:
            out["enum"] = [node["const"]]
        elif "type" not in node and "enum" not in node:
            self.problem(
                where, f"a value of any type cannot be described in strict mode; {_STRICT_HINT}"
            )
        if "type" in node and "type" not in out and "anyOf" not in out:
            out["type"] = node["type"]
        for key in _KEEP:
            if key in node and key not in out:
                out[key] = node[key]
        if node.get("format") in _FORMATS:
            out["format"] = node["format"]
        if node.get("description") and "description" not in out:
            out["description"] = node["description"]
        if not self.strict and "default" in node:  # strict mode refuses defaults
            out["default"] = node["default"]
        return out

    def _ref(self, node: dict[str, Any], where: str) -> dict[str, Any]:
        name = _ref_name(node)
        siblings = {k: v for k, v in node.items() if k not in ("$ref", "title", "default")}
        if not siblings or name in self._inlining or name not in self.defs:
            self.used.add(name)
            return {"$ref": node["$ref"]}
        self._inlining.append(name)
        try:
            return self.convert({**self.defs[name], **siblings}, where)
        finally:
            self._inlining.pop()

    def _object(self, node: dict[str, Any], where: str) -> dict[str, Any]:
        props = node.get("properties", {})
        required = set(node.get("required", ()))
        out_props: dict[str, Any] = {}
        for key, prop in props.items():
            converted = self.convert(prop, f"{where}.{key}" if where else key)
            if self.strict and key not in required:
                converted = _nullable(converted)
            out_props[key] = converted
        out: dict[str, Any] = {"type": "object", "properties": out_props}
        if self.strict:
            out["required"] = list(out_props)
            out["additionalProperties"] = False
        else:
            out["required"] = [k for k in out_props if k in required]
            if node.get("additionalProperties") is False:
                out["additionalProperties"] = False
        return out

    def _map(self, node: dict[str, Any], where: str) -> dict[str, Any]:
        values = node.get("additionalProperties", True)
        if isinstance(values, dict) and values:
            value_schema = self.convert(values, f"{where}[value]")
        else:
            self.problem(where, f"a dict of values of any type cannot be strict; {_STRICT_HINT}")
            value_schema = {}
        if not self.strict:
            return {"type": "object", "additionalProperties": value_schema or True}
        keys = node.get("propertyNames", {"type": "string"})
        pair = {
            "type": "object",
            "properties": {"key": self.convert(keys, f"{where}[key]"), "value": value_schema},
            "required": ["key", "value"],
            "additionalProperties": False,
        }
        description = (
            f"{node['description']} {_PAIRS_NOTE}" if node.get("description") else _PAIRS_NOTE
        )
        return {"type": "array", "items": pair, "description": description}

    def _array(self, node: dict[str, Any], where: str) -> dict[str, Any]:
        out: dict[str, Any] = {"type": "array"}
        if "prefixItems" in node:
            self.problem(
                where, "a tuple cannot be described in strict mode; use list[...] or a model"
            )
            out["prefixItems"] = [
                self.convert(i, f"{where}[{n}]") for n, i in enumerate(node["prefixItems"])
            ]
        if isinstance(node.get("items"), dict):
            out["items"] = self.convert(node["items"], f"{where}[]")
        elif "prefixItems" not in node:
            self.problem(where, f"a list of values of any type cannot be strict; {_STRICT_HINT}")
        return out


def strict_schema(
    schema: dict[str, Any], descriptions: dict[str, str], *, strict: bool = True
) -> tuple[dict[str, Any], list[str]]:
    """The parameters schema a model sees, and what strict mode cannot express.

    Args:
        schema: The tool's pydantic arguments model's JSON schema (not modified).
        descriptions: Per-parameter descriptions from the docstring.
        strict: Make the schema strict-compatible (else keep pydantic's shape, cleaned).

    Returns:
        The parameters schema, and the problems found (empty when ``strict`` is False).
    """
    root = copy.deepcopy(schema)
    defs = root.pop("$defs", {})
    for name, prop in root.get("properties", {}).items():
        if descriptions.get(name):
            prop["description"] = descriptions[name]
    converter = _Converter(defs, strict)
    converter.params = set(root.get("properties", {}))
    out = converter.convert(root, "")
    out.pop("description", None)  # the tool's description says it; no duplicate
    done: dict[str, Any] = {}
    while pending := sorted(converter.used - set(done)):  # defs may reference more defs
        for name in pending:
            done[name] = converter.convert(defs[name], name) if name in defs else {}
    if done:
        out["$defs"] = {name: done[name] for name in sorted(done)}
    return out, converter.problems


def compile_decoder(schema: dict[str, Any], *, pairs: bool = True) -> Decoder | None:
    """A function from the model's JSON arguments to the args model's input, or None
    when the JSON can be validated as it is (no optional keys, no maps).

    Args:
        schema: The pydantic JSON schema the model's schema was made from.
        pairs: Whether maps were sent as ``{"key", "value"}`` pair lists (strict mode).
    """
    defs = schema.get("$defs", {})
    memo: dict[str, Decoder | None] = {}

    def resolve(node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node and _ref_name(node) in defs:
            node = defs[_ref_name(node)]
        if len(node.get("allOf", ())) == 1:
            return resolve(node["allOf"][0])
        return node

    def kind(node: dict[str, Any]) -> str:
        node = resolve(node)
        if _is_map(node):
            return "map"
        return str(node.get("type", ""))

    def plan(node: dict[str, Any]) -> Decoder | None:
        if "$ref" in node:
            name = _ref_name(node)
            if name not in memo:
                # A placeholder first, so a recursive model refers to its own decoder.
                cell: list[Decoder | None] = [None]
                memo[name] = lambda v: cell[0](v) if cell[0] is not None else v
                cell[0] = plan(defs.get(name, {}))
                if cell[0] is None:
                    memo[name] = None
            return memo[name]
        node = resolve(node)
        union = node.get("anyOf") or node.get("oneOf")
        if union:
            return _union([(kind(b), plan(b)) for b in union], pairs)
        if _is_map(node):
            values = node.get("additionalProperties")
            return _map(plan(values) if isinstance(values, dict) else None, pairs)
        if node.get("type") == "object":
            props = node.get("properties", {})
            subs = {k: p for k, p in ((k, plan(v)) for k, v in props.items()) if p is not None}
            # A null for a key left out of "required" means "use the default" - unless
            # the key's own type takes null (``limit: int | None = 10``): then it is None.
            optional = frozenset(
                k
                for k in props
                if k not in set(node.get("required", ())) and not _allows_null(resolve(props[k]))
            )
            return _object(subs, optional) if subs or optional else None
        if node.get("type") == "array" and isinstance(node.get("items"), dict):
            item = plan(node["items"])
            return (lambda v: [item(x) for x in v] if isinstance(v, list) else v) if item else None
        return None

    return plan(schema)


def _object(subs: dict[str, Decoder], optional: frozenset[str]) -> Decoder:
    def decode(value: Any) -> Any:
        if not isinstance(value, dict):
            return value
        out = {}
        for key, item in value.items():
            if item is None:
                if key in optional:
                    continue  # null means "use the default"
            elif key in subs:
                item = subs[key](item)
            out[key] = item
        return out

    return decode


def _is_pairs(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(p, dict)
        and p.keys() == {"key", "value"}
        and isinstance(p["key"], str | int | float | bool)  # a key must be hashable
        for p in value
    )


def _map(values: Decoder | None, pairs: bool) -> Decoder | None:
    if not pairs and values is None:
        return None

    def decode(value: Any) -> Any:
        if pairs and _is_pairs(value):
            value = {p["key"]: p["value"] for p in value}
        if values is not None and isinstance(value, dict):
            return {k: values(v) if v is not None else v for k, v in value.items()}
        return value

    return decode


def _union(branches: list[tuple[str, Decoder | None]], pairs: bool) -> Decoder | None:
    if all(p is None for _, p in branches):
        return None

    def decode(value: Any) -> Any:
        # Pick the branch the value's JSON shape belongs to; validation checks the rest.
        if isinstance(value, list):
            # [] is an empty pair list when there is no array branch to take it
            arrays = any(kind == "array" for kind, _ in branches)
            as_map = pairs and _is_pairs(value) and (bool(value) or not arrays)
            wanted: tuple[str, ...] = ("map",) if as_map else ("array",)
        elif isinstance(value, dict):
            wanted = ("object", "map")
        else:
            return value
        for kind, branch in branches:
            if kind in wanted and branch is not None:
                return branch(value)
        return value

    return decode
