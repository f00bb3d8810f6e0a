"""A model that plays a recorded episode's outputs up to a fork point, then hands over.

A fork continues a recorded episode from its Nth tool call with another model: the
recorded outputs of the planner and executor calls that led to the first N tool calls
are served in recorded order (the one that asked for the Nth call cut after it), so the
graph runs those calls against a fresh world and builds the same conversation; every
later request goes to the new model. Before the first request to the new model,
``on_handover`` may check the world reached (it returns a description of what differs,
or None); a request of another purpose than the recording's at that position, or a
world that differs, fails the call with a ModelError, so the new model is never asked
to continue from another state than the recorded one. One instance serves one episode.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from sandlot.agents.models.base import Model, ModelError, ModelRequest, ModelResponse, Price
from sandlot.agents.models.replay import Recorded

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.environments.tasks import Task

__all__ = ["ForkModel"]

Handover = Callable[[ModelRequest], str | None]


class ForkModel(Model):
    """Serves ``recorded`` (purpose, output) pairs in order, then delegates to ``model``.

    Args:
        recorded: The original's plan and execute outputs up to the fork point, in the
            order they were asked for.
        model: The model that continues the episode.
        on_handover: Called with the first request for ``model``; returns what differs
            from the recording (the call fails with it) or None.

    Requests of a purpose the recording does not serve (``judge``) go to ``model``.
    """

    def __init__(
        self,
        recorded: Sequence[tuple[str, Recorded]],
        model: Model,
        *,
        on_handover: Handover | None = None,
    ) -> None:
        self.model = model
        self.name = model.name
        self.price = model.price
        self.recorded = list(recorded)
        self.served = 0
        self.handed_over = False
        self.on_handover = on_handover
        self.mismatch: str | None = None  # why the fork could not reach its fork point
        self._last_recorded = False

    async def complete(self, request: ModelRequest) -> ModelResponse:
        if request.purpose not in ("plan", "execute"):
            self._last_recorded = False
            return await self.model.complete(request)
        if self.mismatch is not None:
            raise ModelError(self.mismatch)
        if self.served < len(self.recorded):
            purpose, item = self.recorded[self.served]
            if purpose != request.purpose:
                self.mismatch = (
                    f"model call {self.served + 1} of the recording is a {purpose!r} call, "
                    f"but the fork asked for a {request.purpose!r} one"
                )
                raise ModelError(self.mismatch)
            self.served += 1
            self._last_recorded = True
            if isinstance(item, ModelError):
                raise ModelError(str(item))  # a fresh exception: never raised twice
            return item
        if not self.handed_over:
            differs = self.on_handover(request) if self.on_handover is not None else None
            if differs is not None:
                self.mismatch = f"the fork did not reach the recorded state: {differs}"
                raise ModelError(self.mismatch)
            self.handed_over = True
        self._last_recorded = False
        return await self.model.complete(request)

    def price_for(self, request: ModelRequest) -> Price | None:
        """No price for a recorded output (it costs nothing now); the new model's for
        its own calls."""
        return None if self._last_recorded else self.model.price_for(request)

    def model_calls_needed(self, task: Task, agent: str) -> int | None:
        """The recorded calls plus what the new model says it needs, so that a model
        that knows its need is not cut short by the calls replayed before it."""
        needed = self.model.model_calls_needed(task, agent)
        return len(self.recorded) + (needed or 0)

    async def check(self) -> None:
        await self.model.check()

    async def aclose(self) -> None:
        await self.model.aclose()

    def secrets(self) -> list[str]:
        return self.model.secrets()

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": type(self).__name__,
            "recorded": len(self.recorded),
            "model": self.model.describe(),
            **self.describe_price(),
        }
