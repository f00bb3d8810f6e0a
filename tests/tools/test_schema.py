"""The exact schema a model sees, and that every schema is OpenAI strict-mode compatible."""

from __future__ import annotations

from enum import Enum
from typing import Annotated, Any, Literal, NotRequired

import pytest
from pydantic import BaseModel, Field
from typing_extensions import TypedDict

from sandlot.tools import Tool, ToolContext, Toolset, tool
from sandlot.tools.schema import compile_decoder, strict_schema

# Keywords strict mode accepts; anything else in a schema is a bug.
STRICT_KEYWORDS = {
    "type",
    "description",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "anyOf",
    "$ref",
    "$defs",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "multipleOf",
    "minItems",
    "maxItems",
}


class Priority(Enum):
    LOW = "low"
    HIGH = "high"


class Line(BaseModel):
    """One line of an order."""

    sku: str = Field(description="The product code.")
    quantity: int = Field(default=1, ge=1)


class Window(TypedDict):
    start: str
    end: NotRequired[str]


class Node(BaseModel):
    label: str
    children: list[Node] = []


@tool
def search(
    ctx: ToolContext, query: str, limit: int = 10, sort: Literal["new", "old"] | None = None
) -> list[str]:
    """Search the catalogue.

    Args:
        query: Words to look for.
        limit: How many results at most.
        sort: Order of the results.
    """
    return []


@tool
def order(
    lines: list[Line],
    priority: Priority = Priority.LOW,
    window: Window | None = None,
    tags: dict[str, int] | None = None,
) -> dict:
    """Place an order.

    Args:
        lines: What to order.
        priority: How urgent.
        window: When to deliver.
        tags: Counters by tag.
    """
    return {"lines": lines, "priority": priority, "window": window, "tags": tags}


@tool
def tree(root: Node) -> int:
    """Count a tree's nodes.

    Args:
        root: The tree.
    """
    return 1 + sum(tree.function(child) for child in root.children)


@tool
def constrained(
    code: Annotated[str, Field(pattern=r"^[A-Z]{3}$", min_length=3)],
    when: Literal["now"],
    ids: set[int],
) -> None:
    """Use constrained values.

    Args:
        code: A three-letter code.
        when: Only now.
        ids: Distinct ids.
    """


NULL = {"type": "null"}
LINE_DEF = {
    "type": "object",
    "description": "One line of an order.",
    "properties": {
        "sku": {"type": "string", "description": "The product code."},
        "quantity": {"type": ["integer", "null"], "minimum": 1},
    },
    "required": ["sku", "quantity"],
    "additionalProperties": False,
}
NODE_PROPERTIES = {
    "label": {"type": "string"},
    "children": {"anyOf": [{"type": "array", "items": {"$ref": "#/$defs/Node"}}, NULL]},
}


def test_snapshot_of_scalars_with_defaults_and_a_hidden_context():
    assert search.schema() == {
        "type": "function",
        "function": {
            "name": "search",
            "description": "Search the catalogue.",
            "parameters": {
                "type": "object",
                "properties": {
                    "query": {"type": "string", "description": "Words to look for."},
                    "limit": {
                        "type": ["integer", "null"],
                        "description": "How many results at most.",
                    },
                    "sort": {
                        "anyOf": [{"type": "string", "enum": ["new", "old"]}, NULL],
                        "description": "Order of the results.",
                    },
                },
                "required": ["query", "limit", "sort"],
                "additionalProperties": False,
            },
            "strict": True,
        },
    }


def test_snapshot_of_models_enums_typed_dicts_and_maps():
    assert order.schema()["function"]["parameters"] == {
        "type": "object",
        "properties": {
            "lines": {
                "type": "array",
                "items": {"$ref": "#/$defs/Line"},
                "description": "What to order.",
            },
            "priority": {
                "anyOf": [{"type": "string", "enum": ["low", "high"]}, NULL],
                "description": "How urgent.",
            },
            "window": {
                "anyOf": [{"$ref": "#/$defs/Window"}, NULL],
                "description": "When to deliver.",
            },
            "tags": {
                "anyOf": [
                    {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "properties": {
                                "key": {"type": "string"},
                                "value": {"type": "integer"},
                            },
                            "required": ["key", "value"],
                            "additionalProperties": False,
                        },
                        "description": 'Given as a list of {"key": ..., "value": ...} pairs.',
                    },
                    NULL,
                ],
                "description": "Counters by tag.",
            },
        },
        "required": ["lines", "priority", "window", "tags"],
        "additionalProperties": False,
        "$defs": {
            "Line": LINE_DEF,
            "Window": {
                "type": "object",
                "properties": {"start": {"type": "string"}, "end": {"type": ["string", "null"]}},
                "required": ["start", "end"],
                "additionalProperties": False,
            },
        },
    }


def test_snapshot_of_a_recursive_model_inlines_the_described_ref_and_keeps_the_rest():
    assert tree.schema()["function"]["parameters"] == {
        "type": "object",
        "properties": {
            "root": {
                "type": "object",
                "description": "The tree.",
                "properties": NODE_PROPERTIES,
                "required": ["label", "children"],
                "additionalProperties": False,
            }
        },
        "required": ["root"],
        "additionalProperties": False,
        "$defs": {
            "Node": {
                "type": "object",
                "properties": NODE_PROPERTIES,
                "required": ["label", "children"],
                "additionalProperties": False,
            }
        },
    }


def test_keywords_strict_mode_refuses_are_dropped_and_const_becomes_enum():
    props = constrained.schema()["function"]["parameters"]["properties"]
    assert props["code"] == {
        "type": "string",
        "pattern": "^[A-Z]{3}$",
        "description": "A three-letter code.",
    }
    assert props["when"] == {"type": "string", "enum": ["now"], "description": "Only now."}
    assert props["ids"] == {
        "type": "array",
        "items": {"type": "integer"},
        "description": "Distinct ids.",
    }


def test_a_non_strict_tool_keeps_pydantics_shape_with_defaults():
    @tool(strict=False)
    def loose(value: Any, meta: dict[str, Any], n: int = 1) -> str:
        """Loose.

        Args:
            value: Anything.
            meta: Free-form.
            n: Count.
        """
        return ""

    assert loose.schema()["function"] == {
        "name": "loose",
        "description": "Loose.",
        "parameters": {
            "type": "object",
            "properties": {
                "value": {"description": "Anything."},
                "meta": {
                    "type": "object",
                    "additionalProperties": True,
                    "description": "Free-form.",
                },
                "n": {"type": "integer", "description": "Count.", "default": 1},
            },
            "required": ["value", "meta"],
            "additionalProperties": False,
        },
        "strict": False,
    }


def _nodes(schema: Any) -> list[dict[str, Any]]:
    """Every schema node: the root, properties, items, union branches and $defs."""
    out = [schema]
    for prop in schema.get("properties", {}).values():
        out += _nodes(prop)
    if isinstance(schema.get("items"), dict):
        out += _nodes(schema["items"])
    for branch in schema.get("anyOf", ()):
        out += _nodes(branch)
    for definition in schema.get("$defs", {}).values():
        out += _nodes(definition)
    return out


def assert_strict(tool_obj: Tool) -> None:
    """What OpenAI's strict mode requires of a function's parameters schema."""
    function = tool_obj.schema()["function"]
    assert function["strict"] is True
    params = function["parameters"]
    defs = params.get("$defs", {})
    for node in _nodes(params):
        assert set(node) <= STRICT_KEYWORDS, (tool_obj.name, node)
        assert {"type", "anyOf", "$ref", "enum"} & set(node), (tool_obj.name, node)
        if "$ref" in node:
            assert set(node) == {"$ref"}, (tool_obj.name, node)
            assert node["$ref"].removeprefix("#/$defs/") in defs, (tool_obj.name, node)
        if node.get("type") == "object":
            assert node["additionalProperties"] is False, (tool_obj.name, node)
            assert node["required"] == list(node["properties"]), (tool_obj.name, node)


@pytest.mark.parametrize("tool_obj", [search, order, tree, constrained], ids=lambda t: t.name)
def test_every_object_in_the_schema_is_strict(tool_obj):
    assert_strict(tool_obj)


def _world_tools() -> list[Tool]:
    modules = [
        "sandlot.environments.worlds.store.tools_lookup",
        "sandlot.environments.worlds.store.tools_orders",
        "sandlot.environments.worlds.store.tools_service",
        "sandlot.environments.worlds.workspace.tools",
    ]
    return [t for m in modules for t in Toolset.from_module(m)]


def test_every_tool_of_the_built_in_worlds_is_strict():
    tools = _world_tools()
    assert len(tools) > 20
    for tool_obj in tools:
        assert_strict(tool_obj)


def test_the_schema_is_built_once():
    assert search.schema() is search.schema()


def test_strict_schema_does_not_modify_its_input():
    raw = order.args_model.model_json_schema()
    before = repr(raw)
    strict_schema(raw, {"lines": "x"})
    assert repr(raw) == before


def test_a_tool_without_optional_keys_or_maps_needs_no_decoder():
    assert compile_decoder(tree.args_model.model_json_schema()) is not None  # children
    assert compile_decoder(constrained.args_model.model_json_schema()) is None


def test_a_hand_made_tool_builds_its_schema_on_first_use():
    made = Tool(
        name="hand",
        description="Made by hand.",
        parameters={"limit": "How many."},
        args_model=search.args_model,
        function=lambda query, limit=10, sort=None: query,
        is_async=False,
    )
    props = made.schema()["function"]["parameters"]["properties"]
    assert props["limit"] == {"type": ["integer", "null"], "description": "How many."}
    assert made.decode({"query": "q", "limit": None}) == {"query": "q"}
