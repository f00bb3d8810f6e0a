"""The one async model interface every model implements."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from sandlot.tools.calls import ToolCall

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.environments.tasks import Task

__all__ = ["Model", "ModelError", "ModelRequest", "ModelResponse", "Purpose", "Usage"]

Purpose = Literal["plan", "execute", "judge"]


class ModelError(RuntimeError):
    """The model could not answer (after retries), or answered something unusable."""


@dataclass
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass
class ModelRequest:
    """Messages (OpenAI chat format dicts) and tool schemas in, plus what the call is for.

    ``purpose`` lets offline models (oracle, scripted) answer planner, executor and judge
    calls differently; real models just see the messages and tools.
    ``step_index`` is the plan step the executor is working on (None for plan/judge).
    """

    messages: list[dict[str, Any]]
    tools: list[dict[str, Any]] = field(default_factory=list)
    purpose: Purpose = "execute"
    task: Task | None = None
    step_index: int | None = None
    episode_id: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass
class ModelResponse:
    """An assistant message: text and/or tool calls, with token usage."""

    content: str | None = None
    tool_calls: list[ToolCall] = field(default_factory=list)
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    raw: dict[str, Any] | None = None

    def to_message(self) -> dict[str, Any]:
        """The OpenAI-format assistant message to append to the conversation."""
        msg: dict[str, Any] = {"role": "assistant", "content": self.content}
        if self.tool_calls:
            msg["tool_calls"] = [c.to_openai() for c in self.tool_calls]
        return msg


class Model(abc.ABC):
    """Messages + tool schemas in, an assistant message out. Implementations must be safe
    to share between concurrent episodes (keep per-episode state keyed by episode)."""

    name: str = "model"

    @abc.abstractmethod
    async def complete(self, request: ModelRequest) -> ModelResponse: ...

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections; default does nothing."""

    def describe(self) -> dict[str, Any]:
        """What to store about this model in the trace (never secrets)."""
        return {"name": self.name, "kind": type(self).__name__}

    def secrets(self) -> list[str]:
        """Values the trace store must redact wherever they appear (API keys)."""
        return []
