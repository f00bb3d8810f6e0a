"""LangChain tools for the tests of the ``langchain:`` tool source."""

from __future__ import annotations

from langchain_core.tools import ToolException, tool


@tool
def multiply(a: int, b: int) -> int:
    """Multiply two whole numbers.

    Args:
        a: The first number.
        b: The second number.
    """
    return a * b


@tool
def shout(text: str) -> str:
    """Say a text in capitals; an empty text is refused.

    Args:
        text: What to say.
    """
    if not text:
        raise ToolException("nothing to shout")
    return text.upper()


BOTH = [multiply, shout]
NOT_A_TOOL = 42
