"""invoke_tool: results as the model reads them, and every failure as a message, never a raise."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime
import json
import sys
import threading
import time

import pytest
from pydantic import BaseModel

from sandlot.tools import (
    ToolCall,
    ToolContext,
    ToolError,
    ToolOutcome,
    Toolset,
    invoke_tool,
    render_result,
    tool,
)


class Address(BaseModel):
    street: str
    city: str
    unit: str = "ground"


@dataclasses.dataclass
class Receipt:
    order_id: int
    when: datetime.date


@tool
def cancel_order(ctx: ToolContext, order_id: int, reason: str = "customer") -> dict:
    """Cancel a pending order.

    Args:
        order_id: The order's id.
        reason: Why the order is cancelled.
    """
    if order_id == 13:
        raise ToolError("order 13 has shipped and cannot be cancelled")
    return {"order_id": order_id, "reason": reason, "by": ctx.task_id}


@tool(timeout=0.05)
async def slow(seconds: float) -> str:
    """Sleep.

    Args:
        seconds: How long.
    """
    await asyncio.sleep(seconds)
    return "woke"


@tool
def ship_to(address: Address, items: list[str], weights: dict[str, float] | None = None) -> str:
    """Ship items to an address.

    Args:
        address: Where to ship.
        items: What to ship.
        weights: Kilograms by item.
    """
    total = sum((weights or {}).values())
    return f"{len(items)} items to {address.city} ({address.unit}), {total:g} kg"


@tool
def broken() -> str:
    """Always fails."""
    raise RuntimeError("disk on fire")


@tool
async def flaky_network() -> str:
    """Raise its own TimeoutError (not the caller's limit)."""
    raise TimeoutError("upstream took too long")


@tool
def quits() -> str:
    """Call sys.exit."""
    sys.exit(3)


@tool
def receipt(order_id: int) -> Receipt:
    """Make a receipt.

    Args:
        order_id: The order.
    """
    return Receipt(order_id, datetime.date(2024, 5, 1))


@tool
def nothing() -> None:
    """Do nothing."""


@tool
def unshowable() -> dict:
    """Return a value that refers to itself."""
    loop: dict = {}
    loop["self"] = loop
    return loop


@tool
def which_thread() -> str:
    """Name the thread it runs on."""
    return threading.current_thread().name


@tool(inline=True)
def which_thread_inline() -> str:
    """Name the thread it runs on, inline."""
    return threading.current_thread().name


@tool
def positional(a: int, /, b: int) -> int:
    """Subtract.

    Args:
        a: Positional-only.
        b: Keyword.
    """
    return a - b


TOOLS = Toolset(
    "test",
    [
        cancel_order,
        slow,
        ship_to,
        broken,
        flaky_network,
        quits,
        receipt,
        nothing,
        unshowable,
        which_thread,
        which_thread_inline,
        positional,
    ],
)


async def call(
    name: str, arguments: str = "{}", ctx: ToolContext | None = None, **kw
) -> ToolOutcome:
    return await invoke_tool(TOOLS, ToolCall("c1", name, arguments), ctx, **kw)


async def test_a_successful_call_returns_the_value_its_rendering_and_the_arguments():
    out = await call("cancel_order", '{"order_id": 5}', ToolContext(task_id="t-9"))
    assert out.ok is True and out.error_kind is None
    assert out.value == {"order_id": 5, "reason": "customer", "by": "t-9"}
    assert out.content == '{"order_id":5,"reason":"customer","by":"t-9"}'
    assert out.arguments == {"order_id": 5}
    assert out.call_id == "c1" and out.name == "cancel_order"
    assert out.duration > 0


async def test_the_context_is_injected_and_a_blank_one_when_none_is_given():
    out = await call("cancel_order", '{"order_id": 5}')
    assert out.ok and out.value["by"] == ""


async def test_a_null_for_an_optional_parameter_means_its_default():
    out = await call("cancel_order", '{"order_id": 5, "reason": null}')
    assert out.ok and out.value["reason"] == "customer"
    assert out.arguments == {"order_id": 5, "reason": None}  # as the model sent it


async def test_arguments_are_recorded_as_the_tool_got_them():
    # "5" for an int reaches the tool as 5: checklists match (and traces show) that
    out = await call("cancel_order", '{"order_id": "5", "reason": null}')
    assert out.ok and out.value["order_id"] == 5
    assert out.arguments == {"order_id": 5, "reason": None}


async def test_nested_nulls_and_map_pairs_are_decoded_before_validation():
    args = {
        "address": {"street": "1 A St", "city": "Oslo", "unit": None},
        "items": ["a", "b"],
        "weights": [{"key": "a", "value": 1.5}, {"key": "b", "value": 2}],
    }
    out = await call("ship_to", json.dumps(args))
    assert out.ok, out.content
    assert out.value == "2 items to Oslo (ground), 3.5 kg"


async def test_a_plain_object_for_a_map_is_accepted_too():
    args = {"address": {"street": "s", "city": "c", "unit": "2"}, "items": [], "weights": {"a": 1}}
    out = await call("ship_to", json.dumps(args))
    assert out.ok and out.value == "0 items to c (2), 1 kg"


async def test_empty_arguments_text_means_no_arguments():
    assert (await call("nothing", "")).ok
    assert (await call("nothing", "  ")).ok


async def test_async_tools_run_on_the_loop_and_sync_tools_in_a_worker_thread():
    assert (await call("slow", '{"seconds": 0}')).value == "woke"
    main = threading.current_thread().name
    assert (await call("which_thread")).value != main
    assert (await call("which_thread_inline")).value == main


async def test_positional_only_parameters_are_passed_by_position():
    out = await call("positional", '{"a": 5, "b": 2}')
    assert out.ok and out.value == 3


@pytest.mark.parametrize(
    ("value", "content"),
    [
        ("plain text", "plain text"),
        (None, "null"),
        (3.5, "3.5"),
        ({"a": [1, "é"]}, '{"a":[1,"é"]}'),
        (Address(street="s", city="c"), '{"street":"s","city":"c","unit":"ground"}'),
        (Receipt(1, datetime.date(2024, 5, 1)), '{"order_id":1,"when":"2024-05-01"}'),
        ([Address(street="s", city="c")], '[{"street":"s","city":"c","unit":"ground"}]'),
        (b"bytes \xff", "bytes \ufffd"),
        ({"obj": object}, '{"obj":"<class \'object\'>"}'),
    ],
)
def test_results_are_rendered_as_text_or_compact_json(value, content):
    assert render_result(value) == content


async def test_unknown_tool_names_the_bad_name_the_closest_match_and_every_tool():
    out = await call("cancel_ordr")
    assert (out.ok, out.error_kind) == (False, "unknown_tool")
    assert out.content.startswith("Unknown tool 'cancel_ordr'. Did you mean 'cancel_order'?")
    for name in TOOLS.names():
        assert name in out.content
    assert out.arguments is None


async def test_unknown_tool_without_a_close_match_still_lists_the_tools():
    out = await invoke_tool(Toolset("empty"), ToolCall("c1", "zzz", "{}"))
    assert out.content == "Unknown tool 'zzz'. The tools that exist are: (none)."


async def test_malformed_json_says_what_is_wrong_and_shows_what_was_received():
    out = await call("cancel_order", '{"order_id": 5,')
    assert out.error_kind == "invalid_json"
    assert "not valid JSON (Expecting property name enclosed in double quotes" in out.content
    assert out.content.endswith('Received: {"order_id": 5,')


async def test_json_that_is_not_an_object_is_invalid_json():
    out = await call("cancel_order", "[1, 2]")
    assert out.error_kind == "invalid_json"
    assert "must be a JSON object of the parameters, not a JSON list" in out.content
    assert (await call("cancel_order", "null")).content.count("not a JSON null") == 1


async def test_a_long_bad_input_is_truncated():
    out = await call("cancel_order", "x" * 5000)
    assert out.error_kind == "invalid_json"
    assert "(5000 characters)" in out.content and len(out.content) < 500


async def test_validation_errors_list_each_field_path_and_message_without_urls():
    args = {"address": {"street": "s"}, "items": "nope", "extra": 1}
    out = await call("ship_to", json.dumps(args))
    assert out.error_kind == "invalid_arguments"
    assert out.arguments == args
    assert out.content == (
        "Invalid arguments for ship_to:\n"
        "- address.city: required, but missing\n"
        '- items: Input should be a valid list (got "nope")\n'
        "- extra: unknown parameter; the parameters are: address, items, weights"
    )
    assert "pydantic.dev" not in out.content


async def test_tool_error_message_goes_to_the_model():
    out = await call("cancel_order", '{"order_id": 13}')
    assert (out.error_kind, out.content) == (
        "tool_error",
        "order 13 has shipped and cannot be cancelled",
    )
    assert out.arguments == {"order_id": 13}


async def test_an_exception_shows_type_and_message_and_keeps_the_traceback_for_the_trace():
    out = await call("broken")
    assert (out.error_kind, out.content) == ("exception", "RuntimeError: disk on fire")
    assert "Traceback" in out.extra["traceback"] and "disk on fire" in out.extra["traceback"]
    assert "Traceback" not in out.content


async def test_a_tools_own_timeout_error_is_an_exception_not_a_timeout():
    out = await call("flaky_network")
    assert (out.error_kind, out.content) == ("exception", "TimeoutError: upstream took too long")


async def test_sys_exit_in_a_tool_ends_nothing():
    out = await call("quits")
    assert (out.error_kind, out.content) == ("exception", "SystemExit: 3")


async def test_a_value_that_cannot_be_rendered_is_an_exception():
    out = await call("unshowable")
    assert out.error_kind == "exception"
    assert out.content.startswith("unshowable returned a value that cannot be shown")


async def test_an_async_tool_past_its_own_timeout_is_cancelled():
    out = await call("slow", '{"seconds": 5}')
    assert (out.error_kind, out.content) == ("timeout", "slow timed out after 0.05 s.")
    assert out.arguments == {"seconds": 5}


async def test_the_tools_own_timeout_wins_over_the_callers():
    out = await call("slow", '{"seconds": 5}', timeout=100)
    assert out.content == "slow timed out after 0.05 s."


async def test_a_sync_tool_past_the_callers_timeout_returns_without_waiting_for_the_thread():
    release = threading.Event()

    @tool
    def stuck() -> str:
        """Wait until released."""
        release.wait(10)
        return "released"

    try:
        out = await invoke_tool(Toolset("s", [stuck]), ToolCall("c1", "stuck"), timeout=0.05)
        assert (out.error_kind, out.content) == ("timeout", "stuck timed out after 0.05 s.")
        assert not release.is_set()  # it returned while the thread was still waiting
    finally:
        release.set()


async def test_sync_tools_do_not_block_the_event_loop():
    started = threading.Event()
    release = threading.Event()

    @tool
    def blocking() -> str:
        """Block until released."""
        started.set()
        release.wait(10)
        return "done"

    task = asyncio.create_task(invoke_tool(Toolset("s", [blocking]), ToolCall("c1", "blocking")))
    while not started.is_set():  # the loop keeps running while the tool blocks its thread
        await asyncio.sleep(0.001)
    assert not task.done()
    release.set()
    assert (await task).content == "done"


async def test_an_inline_tool_cannot_time_out():
    @tool(inline=True, timeout=0.01)
    def busy() -> str:
        """Busy for a moment on the loop."""
        time.sleep(0.05)
        return "finished"

    out = await invoke_tool(Toolset("s", [busy]), ToolCall("c1", "busy"))
    assert out.ok and out.content == "finished"


async def test_every_failure_comes_back_as_a_tool_message():
    cases = [
        ("cancel_ordr", "{}"),
        ("cancel_order", "{oops"),
        ("cancel_order", '{"order_id": "abc"}'),
        ("cancel_order", '{"order_id": 13}'),
        ("broken", "{}"),
        ("slow", '{"seconds": 5}'),
    ]
    kinds = []
    for name, arguments in cases:
        out = await call(name, arguments)
        assert out.ok is False
        assert out.to_message() == {"role": "tool", "tool_call_id": "c1", "content": out.content}
        kinds.append(out.error_kind)
    assert kinds == [
        "unknown_tool",
        "invalid_json",
        "invalid_arguments",
        "tool_error",
        "exception",
        "timeout",
    ]


async def test_nulls_inside_typed_dicts_recursive_models_and_enums_mean_defaults():
    from tests.tools.test_schema import order, tree

    ts = Toolset("s", [order, tree])
    args = {
        "lines": [{"sku": "A", "quantity": None}],
        "priority": "high",
        "window": {"start": "9:00", "end": None},
        "tags": None,
    }
    out = await invoke_tool(ts, ToolCall("c1", "order", json.dumps(args)))
    assert out.ok, out.content
    assert out.value["lines"][0].quantity == 1
    assert out.value["priority"].value == "high"
    assert out.value["window"] == {"start": "9:00"}
    assert out.value["tags"] is None
    root = {"label": "r", "children": [{"label": "k", "children": None}]}
    out = await invoke_tool(ts, ToolCall("c2", "tree", json.dumps({"root": root})))
    assert (out.ok, out.value) == (True, 2)


async def test_a_validator_raising_something_odd_is_still_invalid_arguments():
    from pydantic import field_validator

    class Picky(BaseModel):
        n: int

        @field_validator("n")
        @classmethod
        def odd(cls, v: int) -> int:
            raise TypeError("n confuses me")

    @tool
    def picky(p: Picky) -> int:
        """Take a picky value.

        Args:
            p: The value.
        """
        return p.n

    out = await invoke_tool(Toolset("s", [picky]), ToolCall("c1", "picky", '{"p": {"n": 1}}'))
    assert (out.error_kind, out.content) == (
        "invalid_arguments",
        "Invalid arguments for picky: TypeError: n confuses me",
    )


async def test_pairs_with_unhashable_keys_are_left_to_validation():
    args = {"address": {"street": "s", "city": "c", "unit": None}, "items": []}
    args["weights"] = [{"key": [1], "value": 2}]
    out = await call("ship_to", json.dumps(args))
    assert out.error_kind == "invalid_arguments"
    assert out.content.startswith("Invalid arguments for ship_to:\n- weights")


async def test_an_exception_without_a_message_shows_its_type():
    @tool
    def silent() -> None:
        """Fail silently."""
        raise KeyError

    out = await invoke_tool(Toolset("s", [silent]), ToolCall("c1", "silent"))
    assert (out.error_kind, out.content) == ("exception", "KeyError")


async def test_null_for_a_parameter_whose_type_takes_null_is_none_not_the_default():
    @tool
    def search(query: str, limit: int | None = 10) -> str:
        """Search.

        Args:
            query: What to look for.
            limit: At most this many hits, or null for no limit.
        """
        return f"{query}:{limit}"

    toolset = Toolset("t", [search])
    out = await invoke_tool(toolset, ToolCall("c", "search", '{"query": "x", "limit": null}'))
    assert out.ok and out.content == "x:None"
    out = await invoke_tool(toolset, ToolCall("c", "search", '{"query": "x"}'))
    assert out.ok and out.content == "x:10"


async def test_a_tools_own_cancelled_task_is_an_exception_message_not_a_cancellation():
    @tool
    async def waits(seconds: float) -> str:
        """Wait on an inner task that gets cancelled.

        Args:
            seconds: How long the inner task would sleep.
        """
        inner = asyncio.ensure_future(asyncio.sleep(seconds))
        inner.cancel()
        await inner
        return "never"

    out = await invoke_tool(Toolset("t", [waits]), ToolCall("c", "waits", '{"seconds": 5}'))
    assert not out.ok and out.error_kind == "exception" and "CancelledError" in out.content


def test_parameters_starting_with_an_underscore_or_a_positional_only_context_are_refused():
    from sandlot.tools import ToolDefinitionError

    with pytest.raises(ToolDefinitionError, match="'_private' starts with '_'"):

        @tool
        def hidden(_private: int) -> int:
            """Hidden.

            Args:
                _private: A value.
            """
            return _private

    with pytest.raises(ToolDefinitionError, match="cannot be positional-only"):

        @tool
        def positional(ctx: ToolContext, /, x: int) -> int:
            """Positional.

            Args:
                x: A value.
            """
            return x
