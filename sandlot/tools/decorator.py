"""``@tool``: a typed, documented function becomes a Tool a model can call."""

from __future__ import annotations

import inspect
import re
import sys
import types
import typing
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, overload

from pydantic import BaseModel, ConfigDict, PydanticSchemaGenerationError, create_model

from sandlot.tools.context import ToolContext
from sandlot.tools.docstrings import parse_docstring
from sandlot.tools.errors import ToolDefinitionError
from sandlot.tools.schema import Decoder, compile_decoder, strict_schema

__all__ = ["Tool", "tool"]

# What OpenAI accepts as a function name.
_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_EMPTY = inspect.Parameter.empty
_JSON_TYPES = "str, int, float, bool, list, dict, Literal, Enum, pydantic models, TypedDicts"


@dataclass
class Tool:
    """A function the model can call, with everything needed to describe and check it.

    Attributes:
        name: The name the model calls it by.
        description: What it does (the docstring before ``Args:``).
        parameters: Each parameter's description, from the docstring's ``Args:``.
        args_model: The pydantic model of the arguments (``extra="forbid"``).
        function: The decorated function.
        is_async: Whether ``function`` is a coroutine function.
        context_param: The parameter that receives the ``ToolContext``, if any.
        timeout: Seconds the tool may run (None: the caller's limit, if any).
        inline: Run a sync tool on the event loop rather than in a worker thread.
        strict: Whether the schema is OpenAI strict-mode compatible.
        concurrent: Whether calls to it may run at the same time as other calls of one
            model reply (it is safe to run concurrently, e.g. a read-only lookup).
        defaults: The defaults of the optional parameters.
    """

    name: str
    description: str
    parameters: dict[str, str]
    args_model: type[BaseModel]
    function: Callable[..., Any]
    is_async: bool
    context_param: str | None = None
    timeout: float | None = None
    inline: bool = False
    strict: bool = True
    defaults: dict[str, Any] = field(default_factory=dict)
    concurrent: bool = False
    # Built once (at decoration, or on first use for a hand-made Tool): the schema the
    # model sees, and the decoder from the model's JSON to the args model's input.
    _schema: dict[str, Any] | None = field(default=None, repr=False, compare=False)
    _decoder: Decoder | None = field(default=None, repr=False, compare=False)
    _positional: tuple[str, ...] = field(default=(), repr=False, compare=False)

    def __post_init__(self) -> None:
        # Look like the function to help(), inspect and pytest.
        self.__doc__ = self.function.__doc__
        self.__wrapped__ = self.function
        self.__module__ = getattr(self.function, "__module__", __name__)

    def schema(self) -> dict[str, Any]:
        """The OpenAI function-calling tool definition. Cached: do not mutate it."""
        if self._schema is None:
            self._compile()
        assert self._schema is not None
        return self._schema

    def decode(self, arguments: dict[str, Any]) -> Any:
        """The args model's input for the JSON object the model sent: a null for an
        optional parameter means its default, and maps come back from pair lists."""
        if self._schema is None:
            self._compile()
        return arguments if self._decoder is None else self._decoder(arguments)

    def call_arguments(self, kwargs: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
        """Split validated arguments into ``(args, kwargs)`` for ``function``."""
        if not self._positional:
            return [], kwargs
        return [kwargs.pop(name) for name in self._positional], kwargs

    def _compile(self) -> None:
        raw = self.args_model.model_json_schema()
        params, _ = strict_schema(raw, self.parameters, strict=self.strict)
        self._schema = _function_schema(self.name, self.description, params, self.strict)
        self._decoder = compile_decoder(raw, pairs=self.strict)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.function(*args, **kwargs)


def _is_context(annotation: Any) -> bool:
    """``ToolContext`` (or a subclass, or ``ToolContext[State]`` typed by the world's
    state), optionally ``| None``, or its name as a string."""
    if isinstance(annotation, str):
        first = annotation.replace(" ", "").split("|")[0].split("[")[0]
        return first.split(".")[-1] == "ToolContext"
    origin = typing.get_origin(annotation)
    if isinstance(origin, type) and issubclass(origin, ToolContext):  # ToolContext[State]
        return True
    if origin in (typing.Union, types.UnionType):
        members = [a for a in typing.get_args(annotation) if a is not type(None)]
        return len(members) == 1 and _is_context(members[0])
    return isinstance(annotation, type) and issubclass(annotation, ToolContext)


def _hints(
    func: Callable[..., Any], localns: dict[str, Any] | None, problems: list[str]
) -> tuple[dict[str, Any], set[str]]:
    """The resolved annotations, and the parameters whose annotation cannot be resolved
    (each named in ``problems``)."""
    try:
        return typing.get_type_hints(func, localns=localns, include_extras=True), set()
    except Exception:  # find which annotations name nothing: a typo, a missing import
        pass
    hints: dict[str, Any] = {}
    unresolved: set[str] = set()
    globalns = getattr(func, "__globals__", {})
    for name, annotation in getattr(func, "__annotations__", {}).items():
        if name == "return":  # the model never sees the return type: no need to resolve it
            continue

        def one() -> None: ...

        one.__annotations__ = {name: annotation}
        try:
            hints.update(typing.get_type_hints(one, globalns, localns, include_extras=True))
        except Exception as exc:
            unresolved.add(name)
            problems.append(
                f"parameter {name!r}: cannot resolve its annotation {annotation!r} "
                f"({type(exc).__name__}: {exc}); import the type it names"
            )
    return hints, unresolved


def _build(
    func: Callable[..., Any],
    name: str | None,
    description: str | None,
    timeout: float | None,
    inline: bool,
    strict: bool,
    localns: dict[str, Any] | None = None,
    concurrent: bool = False,
) -> Tool:
    if not callable(func):
        raise TypeError(f"@tool decorates a function, got {type(func).__name__}: {func!r}")
    func_name = getattr(func, "__name__", repr(func))
    problems: list[str] = []
    doc = parse_docstring(func.__doc__)
    if description is None:
        description = doc.description
        if not (func.__doc__ or "").strip():
            problems.append("no docstring: describe what the tool does (Google style, with Args:)")
        elif not description:
            problems.append("the docstring has no description before its Args: section")
    tool_name = name or func_name
    if not _NAME.match(tool_name):
        problems.append(f"name {tool_name!r} is not 1-64 letters, digits, '_' or '-'")
    if timeout is not None and not timeout > 0:
        problems.append(f"timeout must be a positive number of seconds, got {timeout!r}")
    hints, unresolved = _hints(func, localns, problems)
    fields: dict[str, Any] = {}
    defaults: dict[str, Any] = {}
    positional: list[str] = []
    names: set[str] = set()
    context_param: str | None = None
    for param in inspect.signature(func).parameters.values():
        names.add(param.name)
        if param.kind in (param.VAR_POSITIONAL, param.VAR_KEYWORD):
            star = "*" if param.kind is param.VAR_POSITIONAL else "**"
            problems.append(
                f"parameter {star}{param.name}: *args/**kwargs cannot be described to a model"
            )
            continue
        annotation = hints.get(param.name, param.annotation)
        if _is_context(annotation):
            if context_param is not None:
                problems.append(
                    f"parameters {context_param!r} and {param.name!r} both take the ToolContext"
                )
            if param.kind is param.POSITIONAL_ONLY:
                problems.append(
                    f"parameter {param.name!r} takes the ToolContext, which is passed by "
                    "name: it cannot be positional-only (drop the '/')"
                )
            context_param = param.name
            continue
        if param.name.startswith("_"):
            problems.append(
                f"parameter {param.name!r} starts with '_', which pydantic keeps private: "
                "the model could never send it; rename it"
            )
            continue
        if param.name not in doc.params:
            problems.append(
                f"parameter {param.name!r} is not documented under Args: in the docstring"
            )
        if param.kind is param.POSITIONAL_ONLY:
            positional.append(param.name)
        if param.annotation is _EMPTY:
            problems.append(f"parameter {param.name!r} has no type annotation")
            continue
        if param.name in unresolved:
            continue
        if param.default is not _EMPTY:
            defaults[param.name] = param.default
        fields[param.name] = (annotation, ... if param.default is _EMPTY else param.default)
    for documented in doc.params:
        if documented not in names:
            problems.append(f"the docstring documents {documented!r}, which is not a parameter")
    descriptions = {k: v for k, v in doc.params.items() if k in fields}
    model = _args_model(func_name, fields, problems)
    raw = model.model_json_schema() if model is not None else {"type": "object"}
    params, schema_problems = strict_schema(raw, descriptions, strict=strict)
    problems.extend(schema_problems)
    if problems or model is None:
        raise ToolDefinitionError(func_name, problems)
    return Tool(
        name=tool_name,
        description=description,
        parameters=descriptions,
        args_model=model,
        function=func,
        is_async=inspect.iscoroutinefunction(func),
        context_param=context_param,
        timeout=timeout,
        inline=inline,
        strict=strict,
        defaults=defaults,
        concurrent=concurrent,
        _schema=_function_schema(tool_name, description, params, strict),
        _decoder=compile_decoder(raw, pairs=strict),
        _positional=tuple(positional),
    )


def _function_schema(
    name: str, description: str, parameters: dict[str, Any], strict: bool
) -> dict[str, Any]:
    function = {"name": name, "description": description, "parameters": parameters}
    return {"type": "function", "function": {**function, "strict": strict}}


def _args_model(
    func_name: str, fields: dict[str, Any], problems: list[str]
) -> type[BaseModel] | None:
    """The pydantic model of the arguments. When some parameters' types cannot be
    modelled, each is named in ``problems`` and the model has only the others (so that
    their problems are found too)."""
    if "model_config" in fields:
        problems.append("parameter 'model_config' is reserved by pydantic; rename it")
        fields = {k: v for k, v in fields.items() if k != "model_config"}
    try:
        return _create(f"{func_name}_args", fields)
    except Exception:  # pydantic's many schema errors: find which parameters cause them
        pass
    good: dict[str, Any] = {}
    for name, spec in fields.items():
        try:
            _create(f"{func_name}_{name}", {name: spec})
            good[name] = spec
        except PydanticSchemaGenerationError:
            problems.append(
                f"parameter {name!r}: pydantic cannot make a schema of {_type_name(spec[0])}; "
                f"use JSON-like types ({_JSON_TYPES})"
            )
        except Exception as exc:
            message = str(exc).split("\n\n", 1)[0].strip()
            problems.append(f"parameter {name!r}: pydantic cannot make a schema of it: {message}")
    if len(good) == len(fields):  # only their combination fails
        problems.append("pydantic cannot make a schema of the parameters together")
        return None
    try:
        return _create(f"{func_name}_args", good)
    except Exception:
        return None


def _type_name(annotation: Any) -> str:
    if isinstance(annotation, type):
        return annotation.__qualname__
    return repr(annotation).replace("typing.", "")


def _create(model_name: str, fields: dict[str, Any]) -> type[BaseModel]:
    with warnings.catch_warnings():
        # A parameter named like a BaseModel method ("schema", "json") works; the
        # warning would only alarm the tool's author.
        warnings.filterwarnings("ignore", message=".*shadows an attribute", category=UserWarning)
        model = create_model(  # type: ignore[call-overload]
            model_name, __config__=ConfigDict(extra="forbid", protected_namespaces=()), **fields
        )
        model.model_json_schema()  # some errors only show here
    return model


@overload
def tool(func: Callable[..., Any], /) -> Tool: ...


@overload
def tool(
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    inline: bool = False,
    strict: bool = True,
    concurrent: bool = False,
) -> Callable[[Callable[..., Any]], Tool]: ...


def tool(
    func: Callable[..., Any] | None = None,
    /,
    *,
    name: str | None = None,
    description: str | None = None,
    timeout: float | None = None,
    inline: bool = False,
    strict: bool = True,
    concurrent: bool = False,
) -> Tool | Callable[[Callable[..., Any]], Tool]:
    """Make a Tool of a typed function with a Google-style docstring.

    Every parameter needs a type annotation and an ``Args:`` entry; a parameter annotated
    ``ToolContext`` is injected at call time and never shown to the model. Problems are
    collected and raised together as ``ToolDefinitionError``.

    Args:
        func: The function (when used as ``@tool``).
        name: The tool's name (default: the function's).
        description: Overrides the docstring's description.
        timeout: Seconds the tool may run before the model is told it timed out.
        inline: Run a sync tool on the event loop instead of a worker thread: cheaper, but
            it cannot time out and blocks the loop while it runs, so only for fast
            pure-Python tools.
        strict: Describe the tool in OpenAI strict mode (the default). ``False`` allows
            types strict mode cannot express (``Any``, ``dict``, tuples) and sends
            ``"strict": false``.
        concurrent: Calls to it may run at the same time as the other calls of one model
            reply when every call of the reply is to such a tool (default False: one
            after the other). Only for tools that are safe to overlap, e.g. read-only
            lookups of a world whose state is locked.
    """

    def decorate(f: Callable[..., Any], depth: int = 1) -> Tool:
        # The decorating scope's names, so that string annotations (``from __future__
        # import annotations``) can name classes defined inside a function.
        localns = sys._getframe(depth).f_locals
        return _build(f, name, description, timeout, inline, strict, localns, concurrent)

    return decorate(func, 2) if func is not None else decorate
