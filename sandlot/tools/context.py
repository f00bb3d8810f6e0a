"""The context a tool receives when it declares a ``ToolContext`` parameter."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.environments.sandbox.base import Sandbox

__all__ = ["StateT", "ToolContext"]

StateT = TypeVar("StateT")


@dataclass
class ToolContext(Generic[StateT]):
    """What a tool can reach during one episode. Injected, never shown to the model.

    Typed by the world's state: ``Environment.context()`` of a world whose state is
    ``StoreState`` returns a ``ToolContext[StoreState]``. (A bare ``ToolContext`` is the
    same class with the state left untyped.)

    Attributes:
        state: the episode's own environment state (e.g. the store's ``StoreState``: a
            sqlite3 connection to the episode's private copy of the world's database);
            None outside an episode.
        sandbox: the episode's sandbox, for environments that run untrusted code.
        environment: the Environment instance serving this episode.
        episode_id: the id the trace store gave this episode ("" when untraced).
        task_id: the id of the task being run ("" outside a task).
        extra: free-form values an environment wants its tools to see.
    """

    state: StateT = None  # type: ignore[assignment]  # None only outside an episode
    sandbox: Sandbox | None = None
    environment: Any = None
    episode_id: str = ""
    task_id: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
