"""@tool: what a decorated function becomes, and every mistake it refuses at decoration."""

from __future__ import annotations

import asyncio
import inspect
from typing import Any

import pytest
from pydantic import BaseModel

from sandlot.tools import Tool, ToolContext, ToolDefinitionError, tool
from sandlot.tools.docstrings import parse_docstring


class Opaque:
    """A class pydantic cannot describe."""


@tool
def add(a: int, b: int = 2) -> int:
    """Add two numbers.

    Longer explanation of adding.

    Args:
        a: The first number.
        b: The second number,
            which may continue on a second line.

    Returns:
        The sum.
    """
    return a + b


@tool(name="fetch_page", description="Fetch a page.", timeout=3.5)
async def fetch(ctx: ToolContext, url: str) -> str:
    """Ignored: the description argument wins.

    Args:
        url: The address.
    """
    return f"{ctx.task_id}:{url}"


def test_a_decorated_function_becomes_a_tool_with_its_docs_and_signature():
    assert isinstance(add, Tool)
    assert add.name == "add"
    assert add.description == "Add two numbers.\n\nLonger explanation of adding."
    assert add.parameters == {
        "a": "The first number.",
        "b": "The second number, which may continue on a second line.",
    }
    assert add.is_async is False and add.context_param is None and add.timeout is None
    assert add.inline is False and add.strict is True
    assert add.defaults == {"b": 2}
    assert set(add.args_model.model_fields) == {"a", "b"}


def test_args_model_keeps_defaults_and_forbids_extra_keys():
    assert add.args_model.model_validate({"a": 1}).b == 2
    assert add.args_model.model_config["extra"] == "forbid"
    with pytest.raises(ValueError, match="Extra inputs"):
        add.args_model.model_validate({"a": 1, "c": 3})


def test_decorator_options_set_name_description_timeout_and_context():
    assert fetch.name == "fetch_page"
    assert fetch.description == "Fetch a page."
    assert fetch.timeout == 3.5
    assert fetch.is_async is True
    assert fetch.context_param == "ctx"
    assert set(fetch.args_model.model_fields) == {"url"}
    assert fetch.parameters == {"url": "The address."}


def test_the_tool_still_calls_like_the_function():
    assert add(1) == 3
    assert add(1, b=5) == 6
    assert asyncio.run(fetch(ToolContext(task_id="t"), "x")) == "t:x"
    assert add.__doc__ == add.function.__doc__
    assert inspect.unwrap(add) is add.function


def test_inline_and_strict_flags_are_kept():
    @tool(inline=True, strict=False)
    def anything(value: Any) -> str:
        """Echo anything.

        Args:
            value: Any JSON value.
        """
        return repr(value)

    assert anything.inline is True
    assert anything.strict is False
    assert anything.schema()["function"]["strict"] is False


def test_a_function_with_several_problems_lists_every_one():
    with pytest.raises(ToolDefinitionError) as err:

        @tool
        def bad(a, b: int, c: Opaque, d: Any, *rest: int, **kw: int) -> None:
            """Do things.

            Args:
                a: First.
                c: Third.
                d: Fourth.
                ghost: Not a parameter.
            """

    assert err.value.func_name == "bad"
    assert err.value.problems == [
        "parameter 'a' has no type annotation",
        "parameter 'b' is not documented under Args: in the docstring",
        "parameter *rest: *args/**kwargs cannot be described to a model",
        "parameter **kw: *args/**kwargs cannot be described to a model",
        "the docstring documents 'ghost', which is not a parameter",
        "parameter 'c': pydantic cannot make a schema of Opaque; use JSON-like types "
        "(str, int, float, bool, list, dict, Literal, Enum, pydantic models, TypedDicts)",
        "parameter 'd': a value of any type cannot be described in strict mode; "
        "give it a concrete type, or use @tool(strict=False)",
    ]
    message = str(err.value)
    assert message.startswith("cannot make a tool of 'bad':")
    assert all(f"  - {p}" in message for p in err.value.problems)


def test_missing_docstring_is_a_decoration_error():
    with pytest.raises(ToolDefinitionError, match="no docstring"):

        @tool
        def nodoc(x: int) -> int:
            return x


def test_a_docstring_with_only_args_has_no_description():
    with pytest.raises(ToolDefinitionError, match="no description before its Args"):

        @tool
        def terse(x: int) -> int:
            """
            Args:
                x: A number.
            """
            return x


def test_an_annotation_pydantic_cannot_describe_names_the_parameter():
    with pytest.raises(ToolDefinitionError) as err:

        @tool
        def takes(thing: Opaque, n: int) -> None:
            """Take an opaque thing.

            Args:
                thing: Something pydantic cannot describe.
                n: A number.
            """

    assert len(err.value.problems) == 1
    assert err.value.problems[0].startswith("parameter 'thing': pydantic cannot make a schema")
    assert "For further information" not in str(err.value)


def test_an_unresolvable_annotation_is_named_and_the_others_still_checked():
    with pytest.raises(ToolDefinitionError) as err:

        @tool
        def later(x: NoSuchType, y: Opaque, z: int) -> None:  # type: ignore[name-defined]  # noqa: F821
            """Refers to a type that does not exist.

            Args:
                x: Something.
                y: Something else.
                z: A number.
            """

    assert len(err.value.problems) == 2
    assert err.value.problems[0] == (
        "parameter 'x': cannot resolve its annotation 'NoSuchType' "
        "(NameError: name 'NoSuchType' is not defined); import the type it names"
    )
    assert err.value.problems[1].startswith("parameter 'y': pydantic cannot make a schema of")


def test_an_unresolvable_return_annotation_does_not_matter():
    @tool
    def returns(x: int) -> NoSuchResult:  # type: ignore[name-defined]  # noqa: F821
        """Return something of an unknown type.

        Args:
            x: A number.
        """

    assert set(returns.args_model.model_fields) == {"x"}


@pytest.mark.parametrize(
    ("annotation", "needle"),
    [
        (Any, "a value of any type cannot be described in strict mode"),
        (dict, "a dict of values of any type cannot be strict"),
        (list, "parameter 'value' at value[]: a value of any type cannot be described"),
        (tuple[int, str], "a tuple cannot be described in strict mode"),
    ],
)
def test_types_strict_mode_cannot_express_fail_unless_strict_is_off(annotation, needle):
    def func(value):
        """Take a value.

        Args:
            value: The value.
        """
        return value

    func.__annotations__ = {"value": annotation}
    with pytest.raises(ToolDefinitionError, match="strict") as err:
        tool(func)
    assert needle in str(err.value)
    assert err.value.problems[0].startswith("parameter 'value'")
    assert tool(strict=False)(func).schema()["function"]["strict"] is False


class Box(BaseModel):
    payload: Any


def test_nested_any_names_its_path_from_the_parameter_or_the_model():
    with pytest.raises(ToolDefinitionError) as err:

        @tool
        def store(box: Box, boxes: list[Box]) -> None:
            """Store boxes.

            Args:
                box: One box.
                boxes: More boxes.
            """

    hint = "a value of any type cannot be described in strict mode; " + (
        "give it a concrete type, or use @tool(strict=False)"
    )
    assert err.value.problems == [f"parameter 'box' at box.payload: {hint}", f"Box.payload: {hint}"]


def test_names_timeouts_and_contexts_are_checked():
    with pytest.raises(ToolDefinitionError) as err:

        @tool(name="has space", timeout=0)
        def two_contexts(a: ToolContext, b: ToolContext) -> None:
            """Take two contexts."""

    assert err.value.problems == [
        "name 'has space' is not 1-64 letters, digits, '_' or '-'",
        "timeout must be a positive number of seconds, got 0",
        "parameters 'a' and 'b' both take the ToolContext",
    ]


def test_a_parameter_named_model_config_is_refused():
    with pytest.raises(ToolDefinitionError, match="'model_config' is reserved by pydantic"):

        @tool
        def configure(model_config: str) -> None:
            """Configure.

            Args:
                model_config: The configuration.
            """


def test_parameters_named_like_basemodel_methods_work_without_warnings(recwarn):
    @tool
    def query(schema: str, json: str, copy: bool = False) -> str:
        """Query a table.

        Args:
            schema: The schema name.
            json: A JSON filter.
            copy: Whether to copy.
        """
        return schema

    assert set(query.args_model.model_fields) == {"schema", "json", "copy"}
    assert not [w for w in recwarn if "shadows" in str(w.message)]


def test_context_may_be_optional_or_a_subclass_and_its_doc_entry_is_ignored():
    class MyContext(ToolContext):
        pass

    @tool
    def one(ctx: ToolContext | None, x: int) -> int:
        """One.

        Args:
            ctx: The context (documented, still hidden).
            x: A number.
        """
        return x

    @tool
    def two(ctx: MyContext, x: int) -> int:
        """Two.

        Args:
            x: A number.
        """
        return x

    assert one.context_param == "ctx" and two.context_param == "ctx"
    assert one.parameters == {"x": "A number."}
    assert "ctx" not in one.schema()["function"]["parameters"]["properties"]


def test_a_decorator_applied_to_something_not_callable_says_so():
    with pytest.raises(TypeError, match="@tool decorates a function"):
        tool(42)  # type: ignore[call-overload]


def test_docstring_sections_before_args_stay_in_the_description_and_later_ones_do_not():
    parsed = parse_docstring(
        """Summary.

        Example:
            run(1)

        Args:
            a (int): First,
                continued.
            b: Second.
        Note:
            After the arguments: not a parameter.

        Raises:
            ValueError: never.
        """
    )
    assert parsed.description == "Summary.\n\nExample:\n    run(1)"
    assert parsed.params == {"a": "First, continued.", "b": "Second."}


def test_docstring_parameter_sections_have_several_names():
    parsed = parse_docstring(
        """Summary.

        Arguments:
            a: First.

        Keyword Args:
            b: Second.
        """
    )
    assert parsed.params == {"a": "First.", "b": "Second."}
    assert parse_docstring(None).description == ""


def test_a_context_typed_by_the_worlds_state_is_injected_not_shown():
    from dataclasses import dataclass

    from sandlot.tools import tool

    @dataclass
    class Shelf:
        books: list[str]

    @tool
    def count_books(ctx: ToolContext[Shelf], genre: str) -> int:
        """Count the books of a genre.

        Args:
            genre: The genre.
        """
        return len(ctx.state.books)

    assert count_books.context_param == "ctx"
    assert list(count_books.schema()["function"]["parameters"]["properties"]) == ["genre"]
