"""Tool calls as the model makes them, and their outcomes as the model reads them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = ["ToolCall", "ToolOutcome", "ErrorKind"]

ErrorKind = Literal[
    "unknown_tool",  # the model named a tool that does not exist
    "invalid_json",  # the arguments were not a JSON object
    "invalid_arguments",  # the arguments failed the tool's pydantic model
    "tool_error",  # the tool raised ToolError (a refusal or a handled failure)
    "exception",  # the tool raised anything else
    "timeout",  # the tool ran past its time limit
]


@dataclass(frozen=True)
class ToolCall:
    """One call the model asked for. ``arguments`` is the raw JSON text the model sent."""

    id: str
    name: str
    arguments: str = "{}"

    def to_openai(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "function",
            "function": {"name": self.name, "arguments": self.arguments},
        }


@dataclass
class ToolOutcome:
    """The result of running one ToolCall: always a message the model can act on.

    ``content`` is what the model sees (the result, or a message saying what was wrong).
    ``ok`` is False for every error kind; ``error_kind`` says which.
    ``value`` is the tool's raw return value when it succeeded (kept for traces).
    """

    call_id: str
    name: str
    content: str
    ok: bool = True
    error_kind: ErrorKind | None = None
    duration: float = 0.0
    arguments: dict[str, Any] | None = None
    value: Any = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_message(self) -> dict[str, Any]:
        """The OpenAI-format ``tool`` message carrying this outcome."""
        return {"role": "tool", "tool_call_id": self.call_id, "content": self.content}
