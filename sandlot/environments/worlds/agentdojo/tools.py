"""An AgentDojo tool as a sandlot Tool: the model sees the schema AgentDojo's own
agents send (the function's description and its ``parameters`` model's JSON schema), and
a call runs through AgentDojo's ``FunctionsRuntime`` on the episode's environment, its
result written as AgentDojo's tool executor writes it (``tool_result_to_str``: YAML).

The arguments are read as AgentDojo's tool executor reads them: a string that Python
reads as a list becomes that list, then the function's ``parameters`` model validates
them (unknown keys are ignored, as there). A call AgentDojo's runtime fails — invalid
arguments, an exception in the function — is a failed tool call whose message is
AgentDojo's error text.
"""

from __future__ import annotations

from ast import literal_eval
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, model_validator

from sandlot.tools import Tool, ToolContext, ToolError

if TYPE_CHECKING:  # pragma: no cover
    from agentdojo.functions_runtime import Function, FunctionsRuntime

__all__ = ["agentdojo_tool", "list_strings_read", "run_call"]


def _is_list_text(value: str) -> bool:
    try:
        return isinstance(literal_eval(value), list)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return False


def list_strings_read(args: dict[str, Any]) -> dict[str, Any]:
    """``args`` with every string that Python reads as a list replaced by that list, as
    AgentDojo's ``ToolsExecutor`` does before it runs a call."""
    return {
        k: literal_eval(v) if isinstance(v, str) and _is_list_text(v) else v
        for k, v in args.items()
    }


def run_call(runtime: FunctionsRuntime, environment: Any, name: str, args: dict[str, Any]) -> str:
    """Run one call on ``environment`` with AgentDojo's runtime; its result as AgentDojo
    shows it to the model.

    Raises:
        ToolError: the runtime reported an error (its text is the message).
    """
    from agentdojo.agent_pipeline.tool_execution import tool_result_to_str

    result, error = runtime.run_function(environment, name, args)
    if error is not None:
        raise ToolError(error)
    shown: str = tool_result_to_str(result)
    return shown


def _args_model(function: Function) -> type[BaseModel]:
    """The function's own ``parameters`` model, reading list strings first."""

    class Arguments(function.parameters):  # type: ignore[name-defined,misc]
        @model_validator(mode="before")
        @classmethod
        def _lists(cls, data: Any) -> Any:
            return list_strings_read(data) if isinstance(data, dict) else data

    Arguments.__name__ = Arguments.__qualname__ = f"{function.name}_args"
    return Arguments


def agentdojo_tool(function: Function) -> Tool:
    """The sandlot Tool of one AgentDojo function (its runtime comes from the episode's
    world: ``ctx.environment.runtime``)."""
    name = function.name

    def call(ctx: ToolContext[Any], **arguments: Any) -> str:
        world = ctx.environment
        if world is None or getattr(world, "runtime", None) is None:
            raise ToolError(f"{name} runs only in an AgentDojo world's episode")
        return run_call(world.runtime, ctx.state, name, arguments)

    call.__name__ = call.__qualname__ = name
    call.__doc__ = function.description
    schema = function.parameters.model_json_schema()
    parameters = {
        prop: str(spec.get("description", "")) if isinstance(spec, dict) else ""
        for prop, spec in (schema.get("properties") or {}).items()
    }
    definition = {"name": name, "description": function.description, "parameters": schema}
    return Tool(
        name=name,
        description=function.description,
        parameters=parameters,
        args_model=_args_model(function),
        function=call,
        is_async=False,
        context_param="ctx",
        inline=True,
        strict=False,
        _schema={"type": "function", "function": {**definition, "strict": False}},
    )
