"""Running a tool call: every failure comes back as a ToolOutcome the model can act on."""

from __future__ import annotations

import asyncio
import contextvars
import difflib
import functools
import inspect
import json
import reprlib
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from pydantic import ValidationError
from pydantic_core import PydanticSerializationError, to_json, to_jsonable_python

from sandlot.tools.calls import ErrorKind, ToolCall, ToolOutcome, clean_text
from sandlot.tools.context import ToolContext
from sandlot.tools.decorator import Tool
from sandlot.tools.end import EndEpisode
from sandlot.tools.errors import ToolError
from sandlot.tools.toolset import Toolset

__all__ = ["MAX_ARGUMENT_DEPTH", "invoke_tool", "render_result"]

_SHOW = 200  # characters of bad input echoed back to the model
# Levels of lists and objects a tool call's arguments may nest. No parameter needs more;
# deeper arguments could not be validated, stored or shown without exhausting Python's
# recursion limit (json.loads fails near 1,000 levels, orjson refuses more than 1,024).
MAX_ARGUMENT_DEPTH = 100
_REPR = reprlib.Repr()
_REPR.maxlevel, _REPR.maxstring = 20, _SHOW
_TRACEBACK_FRAMES = 20


def render_result(value: Any) -> str:
    """What the model reads for a tool's return value.

    A string is sent as it is; bytes are decoded as UTF-8; everything else (None, numbers,
    dicts, lists, pydantic models, dataclasses, dates, enums...) as compact JSON, with
    ``str()`` for anything JSON has no form for. Lone surrogates (half of a UTF-16 pair),
    which no request to a model could carry, become U+FFFD.
    """
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, bytes | bytearray):
        return bytes(value).decode("utf-8", errors="replace")
    try:
        return to_json(value, fallback=str).decode()
    except PydanticSerializationError:
        # to_json refuses strings holding lone surrogates: encode, then clean them
        plain = to_jsonable_python(value, fallback=str)
        return clean_text(json.dumps(plain, ensure_ascii=False, separators=(",", ":")))


def _clip(text: str) -> str:
    return text if len(text) <= _SHOW else f"{text[:_SHOW]}... ({len(text)} characters)"


def _fail(call: ToolCall, kind: ErrorKind, content: str, t0: float, **fields: Any) -> ToolOutcome:
    return ToolOutcome(
        call.id,
        call.name,
        clean_text(content),
        ok=False,
        error_kind=kind,
        duration=time.perf_counter() - t0,
        **fields,
    )


def _unknown_tool(toolset: Toolset, name: str) -> str:
    names = toolset.names()
    close = difflib.get_close_matches(name, names, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    listed = ", ".join(names) if names else "(none)"
    return f"Unknown tool {name!r}.{hint} The tools that exist are: {listed}."


def _parse(call: ToolCall) -> tuple[dict[str, Any] | None, ErrorKind | None, str]:
    """The arguments as a dict; or None, the error kind and what was wrong with them."""
    raw: Any = call.arguments
    if isinstance(raw, dict):  # a model adapter that already parsed them
        args = raw
    elif raw is None or (isinstance(raw, str) and not raw.strip()):
        return {}, None, ""  # models often send "" for a tool without parameters
    elif not isinstance(raw, str):
        problem = f"are not JSON text but a {type(raw).__name__}"
        return None, "invalid_json", _not_an_object(call, problem, _REPR.repr(raw))
    else:
        try:
            args = json.loads(raw)
        except json.JSONDecodeError as exc:
            problem = f"are not valid JSON ({exc.msg} at position {exc.pos})"
            return None, "invalid_json", _not_an_object(call, problem, raw)
        except RecursionError:  # json.loads gives up near 1,000 levels
            return None, "invalid_arguments", _too_deep(call, raw)
    if not isinstance(args, dict):
        kind = "null" if args is None else type(args).__name__
        problem = f"must be a JSON object of the parameters, not a JSON {kind}"
        return None, "invalid_json", _not_an_object(call, problem, raw)
    if _deeper_than(args, MAX_ARGUMENT_DEPTH):
        return None, "invalid_arguments", _too_deep(call, raw)
    return args, None, ""


def _not_an_object(call: ToolCall, problem: str, raw: str) -> str:
    return (
        f"The arguments for {call.name} {problem}. Send one JSON object of the parameters. "
        f"Received: {_clip(raw)}"
    )


def _too_deep(call: ToolCall, raw: Any) -> str:
    if not isinstance(raw, str):  # str() of a parsed value this deep would recurse too
        raw = _REPR.repr(raw)
    return (
        f"The arguments for {call.name} are nested more than {MAX_ARGUMENT_DEPTH} levels "
        "deep; no parameter takes that. Send one JSON object of the parameters with their "
        f"values as the tool's description gives them. Received: {_clip(raw)}"
    )


def _deeper_than(value: Any, limit: int) -> bool:
    """Whether lists and dicts in ``value`` nest more than ``limit`` levels (no recursion:
    the value may be as deep as the decoder allowed)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        children = item.values() if isinstance(item, dict) else item
        for child in children:
            if isinstance(child, dict | list):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def _field_errors(tool: Tool, exc: ValidationError) -> str:
    """Each field error on a line: ``path: message``, without pydantic's URLs."""
    lines = []
    for err in exc.errors(include_url=False):
        loc = ".".join(str(p) for p in err["loc"]) or "(arguments)"
        kind = err["type"]
        if kind == "extra_forbidden":
            known = ", ".join(tool.parameters) if len(err["loc"]) == 1 else ""
            msg = "unknown parameter" + (f"; the parameters are: {known}" if known else "")
        elif kind == "missing":
            msg = "required, but missing"
        else:
            msg = f"{err['msg']} (got {_clip(json.dumps(err['input'], default=str))})"
        lines.append(f"- {loc}: {msg}")
    return "\n".join(lines)


# Sync tools run here, not on asyncio's default executor (min(32, cores + 4) threads):
# a sync tool past its timeout keeps its thread until it returns (Python cannot stop a
# thread), and a few such tools would starve every later call and every other to_thread
# user. Idle threads cost nothing.
_TOOL_THREADS = ThreadPoolExecutor(max_workers=128, thread_name_prefix="sandlot-tool")


async def _run(tool: Tool, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if tool.is_async or tool.inline:
        value = tool.function(*args, **kwargs)
    else:
        context = contextvars.copy_context()  # as to_thread does
        call = functools.partial(context.run, tool.function, *args, **kwargs)
        value = await asyncio.get_running_loop().run_in_executor(_TOOL_THREADS, call)
    if inspect.isawaitable(value):  # a sync callable that hands back a coroutine
        value = await value
    return value


async def invoke_tool(
    toolset: Toolset,
    call: ToolCall,
    ctx: ToolContext | None = None,
    *,
    timeout: float | None = None,
) -> ToolOutcome:
    """Run ``call`` against ``toolset``; never raises for the model's or the tool's mistakes.

    Each failure comes back as a ``ToolOutcome`` with ``ok=False``, an ``error_kind``
    ("unknown_tool", "invalid_json", "invalid_arguments", "tool_error", "exception",
    "timeout") and a ``content`` message the model can act on. A tool's traceback goes to
    ``outcome.extra["traceback"]``, for the trace, never to the model.

    A tool that raises ``EndEpisode`` succeeded: its message is the content, and
    ``sandlot.tools.end.ends_episode(outcome)`` returns it (the agent ends the episode).

    The time limit is the tool's own ``timeout``, else ``timeout``, else none. An async
    tool is cancelled when it passes the limit. A sync tool runs in a worker thread so
    the event loop keeps going; on a timeout the outcome returns at once, but a thread
    cannot be killed: it runs on in the background until it finishes. An ``inline`` sync
    tool runs on the loop itself and cannot time out.

    Args:
        toolset: The tools the call may name.
        call: The call as the model made it (``arguments`` is JSON text).
        ctx: What the tool reaches through its ``ToolContext`` parameter (a blank
            context when None).
        timeout: Seconds a tool without its own ``timeout`` may run.

    Returns:
        The outcome; ``arguments`` holds the parsed JSON object once parsing got that far.
    """
    t0 = time.perf_counter()
    if not isinstance(call.name, str):  # a model adapter that let a number through
        call = ToolCall(call.id, str(call.name), call.arguments)
    tool = toolset.get(call.name)
    if tool is None:
        return _fail(call, "unknown_tool", _unknown_tool(toolset, call.name), t0)
    args, kind, problem = _parse(call)
    if args is None:
        return _fail(call, kind or "invalid_json", problem, t0)
    try:
        parsed = tool.args_model.model_validate(tool.decode(args))
    except ValidationError as exc:
        content = f"Invalid arguments for {call.name}:\n{_field_errors(tool, exc)}"
        return _fail(call, "invalid_arguments", content, t0, arguments=args)
    except Exception as exc:  # a validator in the tool's own types raised, say, TypeError
        content = f"Invalid arguments for {call.name}: {_describe(exc)}"
        return _fail(call, "invalid_arguments", content, t0, arguments=args)
    # From here on the outcome carries the arguments as the tool got them ("1002" sent
    # for an int is 1002): what checklists match and traces show.
    args = _validated(parsed, args)
    kwargs = parsed.__dict__.copy()
    if tool.context_param is not None:
        kwargs[tool.context_param] = ctx if ctx is not None else ToolContext()
    positional, kwargs = tool.call_arguments(kwargs)
    limit = tool.timeout if tool.timeout is not None else timeout
    deadline = None
    try:
        if limit is None or (tool.inline and not tool.is_async):
            # No deadline: none was set, or an inline sync tool holds the loop so that
            # no deadline could fire while it runs.
            value = await _run(tool, positional, kwargs)
        else:
            deadline = asyncio.timeout(limit)
            async with deadline:
                value = await _run(tool, positional, kwargs)
    except TimeoutError as exc:
        if deadline is None or not deadline.expired():  # the tool's own TimeoutError
            return _exception(call, exc, t0, args)
        content = f"{call.name} timed out after {limit:g} s."
        return _fail(call, "timeout", content, t0, arguments=args)
    except ToolError as exc:
        return _fail(call, "tool_error", str(exc) or f"{call.name} failed", t0, arguments=args)
    except EndEpisode as exc:  # not a failure: the call's result, and the episode's end
        content = clean_text(str(exc) or f"{call.name} ended the episode.")
        return ToolOutcome(
            call.id,
            call.name,
            content,
            duration=time.perf_counter() - t0,
            arguments=args,
            ends_episode=content,
        )
    except (Exception, SystemExit) as exc:  # SystemExit: a tool's sys.exit() ends no episode
        return _exception(call, exc, t0, args)
    except asyncio.CancelledError as exc:
        task = asyncio.current_task()
        if task is not None and task.cancelling():
            raise  # the caller was cancelled: that goes through
        return _exception(call, exc, t0, args)  # the tool's own inner task was cancelled
    try:
        content = render_result(value)
    except (PydanticSerializationError, ValueError, TypeError, RecursionError) as exc:
        return _fail(
            call,
            "exception",
            f"{call.name} returned a value that cannot be shown ({type(exc).__name__}: {exc})",
            t0,
            arguments=args,
            value=value,
        )
    duration = time.perf_counter() - t0
    return ToolOutcome(call.id, call.name, content, duration=duration, arguments=args, value=value)


def _validated(parsed: Any, sent: dict[str, Any]) -> dict[str, Any]:
    """The arguments the model sent, each as validated (coerced to its parameter's type)
    in JSON form; what it left out stays out and a null stays null. What was sent, where
    a value cannot be dumped."""
    try:
        coerced = parsed.model_dump(mode="json", exclude_unset=True)
    except Exception:  # a tool's own type that pydantic cannot serialise
        return sent
    return {k: coerced.get(k, v) for k, v in sent.items()}


def _describe(exc: BaseException) -> str:
    message = str(exc)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _exception(call: ToolCall, exc: BaseException, t0: float, args: dict[str, Any]) -> ToolOutcome:
    trace = "".join(traceback.format_exception(exc, limit=_TRACEBACK_FRAMES))
    return _fail(
        call,
        "exception",
        _describe(exc),
        t0,
        arguments=args,
        extra={"traceback": trace},
    )
