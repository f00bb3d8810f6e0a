"""LangChain tools as a tool source: ``--tools langchain:MODULE:ATTR`` adds the LangChain
``BaseTool`` (or list of them) that ``MODULE.ATTR`` is; ``--tools langchain:MODULE``
adds every ``BaseTool`` the module holds. MODULE is a dotted module name or the path of
a ``.py`` file. Each becomes a Tool with the schema LangChain gives a model
(``convert_to_openai_tool``); calling it awaits the tool's ``ainvoke``, and a
``ToolException`` it raises is a tool error the model reads.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sandlot.errors import UserError
from sandlot.tools.decorator import Tool
from sandlot.tools.errors import ToolError
from sandlot.tools.foreign import schema_tool
from sandlot.tools.toolset import Toolset, _import

__all__ = [
    "PREFIX",
    "is_langchain_source",
    "langchain_tool",
    "langchain_toolset",
    "recorded_source",
    "split_source",
]

PREFIX = "langchain:"


def is_langchain_source(source: str) -> bool:
    """Whether a ``--tools`` source names LangChain tools."""
    return source.startswith(PREFIX)


def split_source(source: str) -> tuple[str, str | None]:
    """``langchain:MODULE[:ATTR]`` as ``(MODULE, ATTR or None)``."""
    module, _, attr = source[len(PREFIX) :].partition(":")
    return module, attr or None


def langchain_toolset(source: str) -> Toolset:
    """The LangChain tools ``source`` (``langchain:MODULE[:ATTR]``) names, as a Toolset.

    Raises:
        UserError: langchain-core is missing, the source names nothing, or the attribute
            is not a BaseTool nor a list of them.
        ImportError, OSError, SyntaxError: the module cannot be imported.
    """
    try:
        from langchain_core.tools import BaseTool
    except ImportError as exc:
        raise UserError(
            f"--tools {source!r} needs langchain-core: pip install langchain-core"
        ) from exc
    module_name, attr = split_source(source)
    if not module_name:
        raise UserError(f"--tools {source!r}: give a module, as langchain:MODULE[:ATTR]")
    module, default_name = _import(module_name)
    if attr is None:
        found: list[Any] = [v for v in vars(module).values() if isinstance(v, BaseTool)]
        if not found:
            raise UserError(f"--tools {source!r}: {module_name} holds no LangChain tool")
    else:
        if not hasattr(module, attr):
            raise UserError(f"--tools {source!r}: {module_name} has no attribute {attr!r}")
        value = getattr(module, attr)
        found = list(value) if isinstance(value, list | tuple) else [value]
        wrong = [type(v).__name__ for v in found if not isinstance(v, BaseTool)]
        if wrong or not found:
            raise UserError(
                f"--tools {source!r}: {module_name}.{attr} is not a LangChain BaseTool "
                f"nor a list of them ({', '.join(wrong) or 'an empty list'})"
            )
    return Toolset(f"langchain:{default_name}", [langchain_tool(t) for t in found])


def langchain_tool(lc_tool: Any) -> Tool:
    """A Tool that calls the LangChain ``BaseTool`` ``lc_tool``."""
    from langchain_core.tools import ToolException
    from langchain_core.utils.function_calling import convert_to_openai_tool

    function = convert_to_openai_tool(lc_tool)["function"]
    schema = function.get("parameters") or {"type": "object", "properties": {}}

    async def call(arguments: dict[str, Any]) -> Any:
        try:
            return await lc_tool.ainvoke(arguments)
        except ToolException as exc:
            raise ToolError(str(exc) or f"{lc_tool.name} failed") from exc

    return schema_tool(function["name"], function.get("description", ""), schema, call)


def recorded_source(source: str) -> str:
    """``source`` as a run records it: a ``.py`` file's path made absolute."""
    module, attr = split_source(source)
    if module.endswith(".py") or "/" in module:
        module = str(Path(module).expanduser().resolve())
    return PREFIX + module + (f":{attr}" if attr else "")
