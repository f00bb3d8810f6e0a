"""Playing a task's simulated user: scripted, by a model, or from a recording.

A player answers one agent message at a time and keeps no state: what it needs — the
task, the turns so far, the agent's message — comes with each call, so a resumed episode
gets the same answers and one player can serve many episodes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from sandlot.environments.model import ModelRequest
from sandlot.environments.user_spec import UserSpec
from sandlot.errors import UserError

if TYPE_CHECKING:  # pragma: no cover
    from collections.abc import Sequence

    from sandlot.environments.model import Model
    from sandlot.environments.tasks import Task
    from sandlot.environments.trajectory import UserTurnRecord

__all__ = [
    "ModelUser",
    "RecordedUser",
    "ScriptedUser",
    "UserPlayer",
    "UserReply",
    "hidden_facts_asked",
    "user_player_for",
    "user_system_prompt",
]


@dataclass(frozen=True)
class UserReply:
    """What the user said, and whether it ends the conversation."""

    text: str
    stop: bool = False
    model: str = ""  # the model that played the user, when one did


class UserPlayer(Protocol):
    name: str

    async def reply(self, task: Task, turns: Sequence[UserTurnRecord], message: str) -> UserReply:
        """The user's answer to the agent's ``message``, after ``turns``."""
        ...


def _spec(task: Task) -> UserSpec:
    if task.user is None:
        raise ValueError(f"task {task.id!r} has no simulated user")
    return task.user


def _stopped(spec: UserSpec, text: str) -> UserReply:
    return UserReply(text=text, stop=spec.stop in text)


def hidden_facts_asked(spec: UserSpec, message: str) -> list[str]:
    """The hidden facts the agent's message asks for (it names their key, ``_`` read as a
    space, case-insensitive), each as ``"My <key> is <value>."``."""
    lowered = message.casefold()
    return [
        f"My {key.replace('_', ' ')} is {value}."
        for key, value in spec.hidden.items()
        if key.replace("_", " ").casefold() in lowered or key.casefold() in lowered
    ]


class ScriptedUser:
    """Plays ``task.user``'s script: the next of ``replies``; else the first rule whose
    ``when`` the message mentions, with the hidden facts it asks for, else ``default``;
    nothing left to say ends the conversation."""

    name = "scripted"

    async def reply(self, task: Task, turns: Sequence[UserTurnRecord], message: str) -> UserReply:
        spec = _spec(task)
        if spec.replies:
            if len(turns) < len(spec.replies):
                return _stopped(spec, spec.replies[len(turns)])
            return UserReply(text="", stop=True)
        lowered = message.casefold()
        parts = [
            rule.reply for rule in spec.rules if any(w.casefold() in lowered for w in rule.when)
        ][:1]
        parts += hidden_facts_asked(spec, message)
        if parts:
            return _stopped(spec, " ".join(parts))
        if spec.default is not None:
            return _stopped(spec, spec.default)
        return UserReply(text="", stop=True)


def user_system_prompt(spec: UserSpec) -> str:
    """What a model playing the user is told: its goal, its hidden facts, how to end."""
    facts = "\n".join(f"- {k.replace('_', ' ')}: {v}" for k, v in spec.hidden.items())
    return (
        "You are a customer talking to a support agent. Play the customer: write only "
        "the customer's next message, briefly, in the first person.\n"
        f"Your goal: {spec.goal}\n"
        + (
            "Facts you know (tell one only when the agent asks for it; never volunteer "
            f"them):\n{facts}\n"
            if facts
            else ""
        )
        + "Do not invent facts you were not given. When your goal is met, or cannot be, "
        f"reply with {spec.stop} alone."
    )


class ModelUser:
    """A model plays the user (purpose ``user``): the system prompt holds the goal and
    the hidden facts; the agent's messages come as ``user`` messages and the user's own
    earlier replies as ``assistant`` ones."""

    def __init__(self, model: Model) -> None:
        self.model = model
        self.name = f"model:{model.name}"

    async def reply(self, task: Task, turns: Sequence[UserTurnRecord], message: str) -> UserReply:
        spec = _spec(task)
        messages: list[dict[str, Any]] = [
            {"role": "system", "content": user_system_prompt(spec)},
            {"role": "assistant", "content": task.instruction},
        ]
        for turn in turns:
            messages.append({"role": "user", "content": turn.prompt})
            messages.append({"role": "assistant", "content": turn.text})
        messages.append({"role": "user", "content": message})
        request = ModelRequest(messages=messages, tools=[], purpose="user", task=task)
        response = (await self.model.complete(request)).checked()
        text = (response.content or "").strip()
        return UserReply(text=text, stop=spec.stop in text, model=response.model or self.model.name)


class RecordedUser:
    """Answers with a recorded episode's user turns, in order (replay): never asks a
    model again. Past the recording the user ends."""

    name = "recorded"

    def __init__(self, turns: Sequence[UserTurnRecord]) -> None:
        self.turns = list(turns)

    async def reply(self, task: Task, turns: Sequence[UserTurnRecord], message: str) -> UserReply:
        if len(turns) < len(self.turns):
            recorded = self.turns[len(turns)]
            return UserReply(text=recorded.text, stop=recorded.stop)
        return UserReply(text="", stop=True)


def user_player_for(task: Task, user_model: Model | None) -> UserPlayer | None:
    """Who plays ``task``'s user: None without one; its script; or ``user_model`` for
    a user played by a model (a UserError when none was given)."""
    if task.user is None:
        return None
    if not task.user.llm:
        return ScriptedUser()
    if user_model is None:
        raise UserError(
            f"task {task.id!r} has a user played by a model (user.llm: true); "
            "give one with --user-model (e.g. --user-model oracle)"
        )
    return ModelUser(user_model)
