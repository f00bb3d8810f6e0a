"""The bfcl world's tools: one per function BFCL documents for a backend class, with the
schema from its function doc, running the method on the episode's instance.

A call gets exactly what the model sent (no value is converted: the method sees what
BFCL's executor would pass it); a parameter not sent keeps the method's own default. The
result is BFCL's result string (:func:`~sandlot.environments.worlds.bfcl.backends.render`);
a method that raises is a tool error reading ``Error during execution: <message>``.
"""

from __future__ import annotations

import copy
import functools
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from sandlot.environments.worlds.bfcl.backends import ERROR_PREFIX, render
from sandlot.environments.worlds.bfcl.source import CLASS_DOCS, func_docs
from sandlot.environments.worlds.catalog.tools import function_schema
from sandlot.tools import Tool, ToolContext, ToolError, Toolset

__all__ = ["bfcl_tool", "bfcl_toolset", "tool_classes"]

_CONFIG = ConfigDict(extra="forbid", protected_namespaces=(), populate_by_name=False)
_UNSET: Any = object()  # a parameter the model did not send: the method's default


def _args_model(name: str, parameters: dict[str, Any]) -> tuple[type[BaseModel], dict[str, str]]:
    properties = parameters.get("properties") or {}
    required = set(parameters.get("required") or ())
    fields: dict[str, Any] = {}
    names: dict[str, str] = {}
    for i, param in enumerate(properties):
        field = f"p{i}"  # a parameter may be called anything; the model sends the alias
        names[field] = param
        if param in required:
            fields[field] = (Any, Field(alias=param))
        else:
            fields[field] = (Any, Field(default=_UNSET, alias=param))
    model: type[BaseModel] = create_model(  # type: ignore[call-overload]
        f"{name}_args", __config__=_CONFIG, **fields
    )
    return model, names


def _runner(class_name: str, method: str, names: dict[str, str]) -> Any:
    def call(ctx: ToolContext, **fields: Any) -> str:
        instance = ctx.state[class_name]
        # a copy: a method may keep a list it is given, which the record must not share
        args = copy.deepcopy({names[f]: v for f, v in fields.items() if v is not _UNSET})
        try:
            value = getattr(instance, method)(**args)
        except Exception as exc:
            raise ToolError(f"{ERROR_PREFIX}{exc}") from exc
        return render(value)

    call.__name__ = method
    call.__doc__ = f"{class_name}.{method}"
    return call


def bfcl_tool(class_name: str, doc: dict[str, Any]) -> Tool:
    """The tool of one function doc of ``class_name``."""
    name = str(doc["name"])
    description, docs, schema = function_schema(name, doc)
    model, names = _args_model(name, schema["function"]["parameters"])
    return Tool(
        name=name,
        description=description,
        parameters=docs,
        args_model=model,
        function=_runner(class_name, name, names),
        is_async=False,
        context_param="ctx",
        inline=True,
        strict=False,
        _schema=schema,
    )


@functools.cache
def _all_tools() -> tuple[tuple[str, Tool], ...]:
    return tuple((c, bfcl_tool(c, doc)) for c in CLASS_DOCS for doc in func_docs(c))


def tool_classes() -> dict[str, str]:
    """Each tool's backend class (tool names are unique across the classes)."""
    return {tool.name: c for c, tool in _all_tools()}


def bfcl_toolset(classes: list[str] | None = None) -> Toolset:
    """The tools of ``classes`` (every class when None).

    Raises:
        UserError: bfcl-eval is not installed.
        ValueError: two classes document a function of the same name.
    """
    wanted = None if classes is None else set(classes)
    return Toolset("bfcl", [t for c, t in _all_tools() if wanted is None or c in wanted])
