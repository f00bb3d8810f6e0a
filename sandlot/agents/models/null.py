"""The null model: answers every request with nothing — no text, no tool call.

It is the floor of every score: an agent that does nothing must earn nothing (see
docs/tasks.md, "Scoring"), and ``sandlot run TASKS --model null`` measures that the
checklists hold to it. It needs no network and keeps no state. The graph nudges its
empty replies until the model-call budget is spent, so its episodes end with ``budget``.
"""

from __future__ import annotations

from sandlot.agents.models.base import Model, ModelRequest, ModelResponse

__all__ = ["NullModel"]


class NullModel(Model):
    """Replies with empty content and no tool call, whatever it is asked (plan, execute
    or judge: a judge item it is asked about is skipped, its reply not being a verdict)."""

    name = "null"

    async def complete(self, request: ModelRequest) -> ModelResponse:
        return ModelResponse(content="", model=self.name)
