"""The one async model interface every model implements."""

from __future__ import annotations

import abc
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Literal

from sandlot.errors import ModelError
from sandlot.tools.calls import ToolCall, text_from_model, tool_call_from_model

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.environments.tasks import Task

__all__ = [
    "MAX_TOKEN_COUNT",
    "Model",
    "ModelError",
    "ModelRequest",
    "ModelResponse",
    "Price",
    "Purpose",
    "Usage",
]

Purpose = Literal["plan", "execute", "judge", "user"]  # user: playing a simulated user


MAX_TOKEN_COUNT = 2**63 - 1  # what SQLite's 64-bit INTEGER columns hold


@dataclass
class Usage:
    """Tokens one model call used. ``cached_tokens`` is the part of ``prompt_tokens``
    the provider served from its prompt cache (billed at the cached price)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    cached_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @classmethod
    def checked(
        cls, prompt_tokens: Any = None, completion_tokens: Any = None, cached_tokens: Any = None
    ) -> tuple[Usage, list[str]]:
        """Usage from the counts a model reported, and a note for each it could not use.

        A count must be an integer from 0 to :data:`MAX_TOKEN_COUNT`; anything else (a
        string, a float, a negative or 2**64) counts as 0, with a note saying what was
        sent. None (the server reported no usage) is 0 without a note.
        """
        notes: list[str] = []
        counts = []
        for name, value in (
            ("prompt_tokens", prompt_tokens),
            ("completion_tokens", completion_tokens),
            ("cached_tokens", cached_tokens),
        ):
            is_int = isinstance(value, int) and not isinstance(value, bool)
            if value is None or (is_int and 0 <= value <= MAX_TOKEN_COUNT):
                counts.append(value or 0)
                continue
            notes.append(
                f"usage.{name} was {_shown_count(value)}, not a token count (an integer from "
                "0 to 2**63 - 1): counted as 0"
            )
            counts.append(0)
        counts[2] = min(counts[2], counts[0])
        return cls(*counts), notes


@dataclass(frozen=True)
class Price:
    """What a model's tokens cost: USD per million input (prompt) and output (completion)
    tokens, and per million cached prompt tokens (``cached``; None: the input price). A
    model call's cost is recorded as ``cost_usd`` on its trace event, and an episode's as
    the episodes row's ``cost``."""

    input: float = 0.0
    output: float = 0.0
    cached: float | None = None

    def __post_init__(self) -> None:
        for name in ("input", "output", "cached"):
            value = getattr(self, name)
            if name == "cached" and value is None:
                continue
            if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
                raise ValueError(
                    f"a price per million {name} tokens must be a number of USD >= 0, got {value!r}"
                )

    def cost(self, usage: Usage) -> float:
        """USD for ``usage``: cached prompt tokens at the cached price, the rest of the
        prompt at the input price."""
        cached = min(usage.cached_tokens, usage.prompt_tokens)
        cached_price = self.input if self.cached is None else self.cached
        return (
            (usage.prompt_tokens - cached) * self.input
            + cached * cached_price
            + usage.completion_tokens * self.output
        ) / 1e6

    def describe(self) -> dict[str, float]:
        """As the run config records it (``cached_per_million`` when a cached price is
        set)."""
        shown = {"input_per_million": self.input, "output_per_million": self.output}
        if self.cached is not None:
            shown["cached_per_million"] = self.cached
        return shown


def _shown_count(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value.bit_length() > 64:
        # repr() of a huge int is long, and past 4,300 digits refused
        sign = "a negative integer" if value < 0 else "an integer"
        return f"{sign} of {value.bit_length()} bits"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


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
    # What the model adapter changed to make the reply usable (content that was an object,
    # a numeric tool name, a token count that was not one), for the trace.
    notes: list[str] = field(default_factory=list)
    # served by a response cache (sandlot.agents.models.cache): recorded, costs nothing
    from_cache: bool = False

    def checked(self) -> ModelResponse:
        """This response with content, tool calls and usage as the agent needs them
        (strings, counts from 0 to 2**63 - 1), each change said in ``notes``; the same
        object when nothing had to change. Every response passes here before the agent
        reads it, whatever model made it.

        Raises:
            ValueError: a value that cannot be used (a tool name that is an object).
        """
        notes: list[str] = []
        content, found = text_from_model(self.content)
        notes += found
        calls = []
        for i, c in enumerate(self.tool_calls):
            checked, found = tool_call_from_model(i, c.id, c.name, c.arguments)
            calls.append(checked)
            notes += found
        usage, found = Usage.checked(
            self.usage.prompt_tokens, self.usage.completion_tokens, self.usage.cached_tokens
        )
        notes += found
        if content == self.content and calls == self.tool_calls and usage == self.usage:
            return self
        return replace(
            self, content=content, tool_calls=calls, usage=usage, notes=[*self.notes, *notes]
        )

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
    # What its tokens cost (``--price-input``/``--price-output``); None: not recorded.
    price: Price | None = None

    @abc.abstractmethod
    async def complete(self, request: ModelRequest) -> ModelResponse: ...

    async def check(self) -> None:  # noqa: B027 - optional hook
        """Make sure the model can answer before a run starts (a remote endpoint: its
        address, key and model name), raising ``ModelError`` with one clear message when
        it cannot; default does nothing."""

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        """Release connections; default does nothing."""

    def describe(self) -> dict[str, Any]:
        """What to store about this model in the trace (never secrets). A subclass that
        overrides it adds ``describe_price()``."""
        return {"name": self.name, "kind": type(self).__name__, **self.describe_price()}

    def describe_price(self) -> dict[str, Any]:
        """``{"price": ...}`` when the model has a price, else ``{}``."""
        return {"price": self.price.describe()} if self.price is not None else {}

    def price_for(self, request: ModelRequest) -> Price | None:
        """The price of the model that answers ``request`` (a model per role routes it);
        defaults to ``price``."""
        return self.price

    def secrets(self) -> list[str]:
        """Values the trace store must redact wherever they appear (API keys)."""
        return []

    def model_calls_needed(self, task: Task, agent: str) -> int | None:
        """How many model calls this model makes to finish ``task`` with ``agent``
        (``"plan-execute"`` or ``"single"``), when it can know; None (the default) when it
        cannot. The runner raises an episode's model-call budget to this number, so a
        model that plays a known script (the oracle) is never cut short by the budget."""
        return None
