"""Tasks and their checklists: the pydantic models of a task file.

A task file (YAML or JSON) holds either one task, a list of tasks, or a mapping
``{"environment": NAME, "defaults": {...}, "tasks": [...]}`` whose ``environment`` and
``defaults`` apply to every task that does not set them. See docs/tasks.md.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator

from sandlot.environments.tool_states import ToolStates
from sandlot.environments.user_spec import ReferenceAsk, UserSpec
from sandlot.registry import CHECKS

__all__ = [
    "ANSWER_SCOPES",
    "BUILTIN_CHECK_TYPES",
    "NORMALIZATIONS",
    "AnswerCheck",
    "AnswerScope",
    "CalledCheck",
    "Check",
    "ChecklistItem",
    "CustomCheck",
    "JudgeCheck",
    "MaxStepsCheck",
    "Normalization",
    "NotCalledCheck",
    "OrderCheck",
    "ReferenceCall",
    "ReferenceSolution",
    "ReferenceStateCheck",
    "StateCheck",
    "StrictStateCheck",
    "Task",
]


class _Strict(BaseModel):
    # NaN or infinity in a weight or tolerance makes every score NaN or every check pass.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class StateCheck(BaseModel):
    """A predicate over the final environment state, evaluated by the environment.

    This is the check as the task file wrote it. Its fields are the common language —
    ``query`` (SQL on the world's database), ``file`` (a path in the sandbox) or
    ``command`` (a shell command in the sandbox), with the expectation ``equals`` (the
    query's single value / the file's text / the command's stdout, stripped),
    ``contains`` (substring), ``regex``, ``rows`` (the query's full result as a list of
    lists), ``exit_code`` (for commands), ``exists`` (file exists or not; query returns at
    least one row or not), ``tolerance`` — and it keeps any other key, because a world
    may define its own state-check language (the store's ``changed``). The world's own
    model (``Environment.state_check_model``, strict) says which keys are allowed: the
    loader and the checklist read every state check through
    ``Environment.validate_state_check``.
    """

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)

    type: Literal["state"] = "state"
    query: str | None = None
    file: str | None = None
    command: str | None = None
    equals: Any = None
    contains: str | None = None
    regex: str | None = None
    rows: list[list[Any]] | None = None
    exit_code: int | None = None
    exists: bool | None = None
    tolerance: float | None = None

    @property
    def world_fields(self) -> dict[str, Any]:
        """The keys that are not the common language: a world's own check fields."""
        return dict(self.__pydantic_extra__ or {})


class StrictStateCheck(StateCheck):
    """The common state-check language and nothing else: the state-check model of a
    world that declares none of its own (an unknown key is an error)."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class ReferenceStateCheck(_Strict):
    """The episode's final state equals the state the task's reference solution leaves
    (its calls run on a fresh copy of the world, through the tools, no model).

    ``ignore`` lists parts of the state not compared, as dotted paths into the world's
    comparable state (``*`` matches any one key), e.g. ``tickets.*.created`` in the store.
    Every world has it: see ``Environment.reference_snapshot`` and
    ``Environment.compare_snapshots``.
    """

    type: Literal["reference_state"] = "reference_state"
    ignore: list[str] = Field(default_factory=list)


class CalledCheck(_Strict):
    """The tool was called (successfully, unless ``allow_error``), optionally with these
    arguments (a subset match: every given key must equal the call's value), at least
    ``min_times`` and at most ``max_times`` times."""

    type: Literal["called"] = "called"
    tool: str
    args: dict[str, Any] | None = None
    min_times: int = 1
    max_times: int | None = None
    allow_error: bool = False


class NotCalledCheck(_Strict):
    """The tool was never called (with these arguments, when given)."""

    type: Literal["not_called"] = "not_called"
    tool: str
    args: dict[str, Any] | None = None


class OrderCheck(_Strict):
    """These tools were each called, first calls in this order (others may come between)."""

    type: Literal["order"] = "order"
    tools: list[str] = Field(min_length=2)


class MaxStepsCheck(_Strict):
    """The episode used at most ``tool_calls`` tool calls and/or ``model_calls`` model calls."""

    type: Literal["max_steps"] = "max_steps"
    tool_calls: int | None = None
    model_calls: int | None = None


AnswerScope = Literal["final", "any_reply", "conversation"]
Normalization = Literal["numbers", "punctuation", "case", "whitespace"]
ANSWER_SCOPES: tuple[str, ...] = get_args(AnswerScope)
# Also the order they are applied in, whatever order a task lists them.
NORMALIZATIONS: tuple[str, ...] = get_args(Normalization)


class AnswerCheck(_Strict):
    """The answer matches: ``exact`` (after stripping; ``case_sensitive`` optional),
    ``contains`` (all of ``value`` if a list), ``not_contains``, ``regex``, or ``number``
    (the first number in the answer is within ``tolerance`` of ``value``).

    ``scope`` says which text is read: ``final`` (the final answer, the default) or
    ``any_reply`` (every text the agent wrote to the user, the final answer included) or
    ``conversation`` (every message the agent sent a task's simulated user, then the
    final answer; docs/users.md).
    ``normalize`` lists rewritings applied to both the text and the value before they
    are compared (``numbers``, ``punctuation``, ``case``, ``whitespace``; see
    docs/tasks.md); a single name may be written without a list.
    """

    type: Literal["answer"] = "answer"
    match: Literal["exact", "contains", "not_contains", "regex", "number"] = "contains"
    value: Any
    tolerance: float = 0.0
    case_sensitive: bool = False
    scope: AnswerScope = "final"
    normalize: list[Normalization] = Field(default_factory=list)

    @field_validator("normalize", mode="before")
    @classmethod
    def _one_name(cls, value: Any) -> Any:
        # `normalize: whitespace` reads as well as `normalize: [whitespace]`.
        return [value] if isinstance(value, str) else value


class JudgeCheck(_Strict):
    """An LLM judges the item against ``rubric``; skipped, with the reason recorded,
    when no model can judge."""

    type: Literal["judge"] = "judge"
    rubric: str


class CustomCheck(BaseModel):
    """A check of a kind registered through ``sandlot.registry.CHECKS`` (in code, or the
    ``sandlot.checks`` entry point). Its other fields are the kind's own: the loader
    validates them with the kind's model, and scoring evaluates the kind
    (docs/guides/check-kind.md)."""

    model_config = ConfigDict(extra="allow")
    type: str

    @field_validator("type")
    @classmethod
    def _registered(cls, value: str) -> str:
        known = CHECKS.names()
        if value not in known:
            names = ", ".join(repr(k) for k in sorted({*BUILTIN_CHECK_TYPES, *known}))
            raise ValueError(f"unknown check type {value!r}; use one of {names}")
        return value


BUILTIN_CHECK_TYPES = (
    "state",
    "reference_state",
    "called",
    "not_called",
    "order",
    "max_steps",
    "answer",
    "judge",
)


def _check_tag(value: Any) -> str | None:
    """Which model reads a check: its own type for a built-in kind, else "custom"."""
    kind = value.get("type") if isinstance(value, dict) else getattr(value, "type", None)
    if kind is None:
        return None  # pydantic reports "the check has no type"
    return kind if kind in BUILTIN_CHECK_TYPES else "custom"


Check = Annotated[
    Annotated[StateCheck, Tag("state")]
    | Annotated[ReferenceStateCheck, Tag("reference_state")]
    | Annotated[CalledCheck, Tag("called")]
    | Annotated[NotCalledCheck, Tag("not_called")]
    | Annotated[OrderCheck, Tag("order")]
    | Annotated[MaxStepsCheck, Tag("max_steps")]
    | Annotated[AnswerCheck, Tag("answer")]
    | Annotated[JudgeCheck, Tag("judge")]
    | Annotated[CustomCheck, Tag("custom")],
    Discriminator(_check_tag),
]


class ChecklistItem(_Strict):
    id: str
    description: str = ""
    weight: float = Field(default=1.0, ge=0)
    required: bool = True
    check: Check


class ReferenceCall(_Strict):
    tool: str
    args: dict[str, Any] = Field(default_factory=dict)


class ReferenceSolution(_Strict):
    """The calls a correct agent makes, in order, and its final answer."""

    calls: list[ReferenceCall] = Field(default_factory=list)
    answer: str = ""
    # What it asks the simulated user, and when (tasks with a ``user``).
    asks: list[ReferenceAsk] = Field(default_factory=list)


class Task(_Strict):
    """One task: where it runs, what to do, where it starts, how it is checked."""

    id: str
    environment: str
    instruction: str
    # Added after the world's policy in the agent's system prompt (Environment.system_prompt).
    policy_addition: str = ""
    initial_state: dict[str, Any] = Field(default_factory=dict)
    reference: ReferenceSolution | None = None
    checklist: list[ChecklistItem] = Field(default_factory=list)
    max_tool_calls: int = 30
    # Which tools are available when (added to the world's own; see tool_states.py).
    tool_states: ToolStates | None = None
    # The simulated user of a multi-turn task (docs/users.md); None: a one-shot request.
    user: UserSpec | None = None
    tags: list[str] = Field(default_factory=list)
    metadata: dict[str, Any] = Field(default_factory=dict)
    source: str | None = Field(default=None, exclude=True)
