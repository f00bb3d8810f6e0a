"""The simulated user of a multi-turn task: what a task file's ``user:`` says.

A task with a user is a conversation: the instruction is the user's first message, and
every reply the agent writes without a tool call goes to the user, whose answer comes
back as the next user message (see docs/users.md). The user is either scripted — a list
of ``replies``, or ``rules`` (when the agent's message mentions X, reply Y), the
``hidden`` facts told when asked, a ``default`` — or played by a model (``llm: true``,
``sandlot run --user-model``) whose system prompt holds the ``goal`` and the ``hidden``
facts.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

__all__ = ["DEFAULT_STOP", "ReferenceAsk", "UserRule", "UserSpec"]

# What a user says to end the conversation (a model playing the user is told to say it).
DEFAULT_STOP = "###STOP###"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class UserRule(_Strict):
    """When the agent's message mentions ``when`` (any of them, case-insensitive), the
    user replies ``reply``."""

    when: list[str] = Field(min_length=1)
    reply: str

    @field_validator("when", mode="before")
    @classmethod
    def _one(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


class UserSpec(_Strict):
    """Who the agent talks to in a multi-turn task.

    ``goal`` is what the user wants; ``hidden`` the facts the user knows but the
    instruction does not state (an email, an order id), told only when the agent's
    message names them (their key, with ``_`` read as a space). A scripted user answers
    each agent message with the next of ``replies`` (the script exhausted, the user
    ends), or — without ``replies`` — with the first matching rule and the hidden facts
    asked for, else ``default``, else the user ends. ``llm: true``: a model plays the
    user (``--user-model``). A reply holding ``stop`` ends the conversation; so does
    reaching ``max_user_turns`` (the episode then ends on its budget).
    """

    goal: str = ""
    hidden: dict[str, str] = Field(default_factory=dict)
    replies: list[str] = Field(default_factory=list)
    rules: list[UserRule] = Field(default_factory=list)
    default: str | None = None
    stop: str = Field(default=DEFAULT_STOP, min_length=1)
    llm: bool = False
    max_user_turns: int = Field(default=10, ge=1)

    @field_validator("hidden", mode="before")
    @classmethod
    def _texts(cls, value: Any) -> Any:
        # `order_id: 1001` reads as the text "1001".
        if isinstance(value, dict):
            return {str(k): v if isinstance(v, str) else str(v) for k, v in value.items()}
        return value

    @model_validator(mode="after")
    def _one_way(self) -> UserSpec:
        if self.llm and (self.replies or self.rules or self.default is not None):
            raise ValueError(
                "a user is either scripted (replies, rules, default) or played by a model "
                "(llm: true), not both"
            )
        if self.replies and self.rules:
            raise ValueError("give the user either 'replies' (in order) or 'rules', not both")
        if self.llm and not self.goal.strip():
            raise ValueError("a user played by a model needs a 'goal'")
        return self


class ReferenceAsk(_Strict):
    """A message the reference solution sends the user (a question, a confirmation
    request) before the reference call at index ``before`` (the number of calls: before
    the answer). The oracle asks it."""

    text: str = Field(min_length=1)
    before: int = Field(default=0, ge=0)
