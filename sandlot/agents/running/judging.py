"""The judge's calls recorded like the agent's: a model_call event each (purpose
``judge``), counted in the episode's model calls, tokens and cost."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from sandlot.agents.models.base import Model, ModelError, ModelRequest, ModelResponse, Price

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.agents.graph.runtime import EpisodeRuntime
    from sandlot.environments.trajectory import ModelCallRecord

__all__ = ["RecordedJudge"]


class RecordedJudge(Model):
    """``judge`` as the checklist calls it during one episode's scoring: each call goes
    through the episode's runtime (a model_call span under the episode's root, its
    latency, tokens and cost at the judge's price) and its record is kept in
    :attr:`calls`, for the runner to add to the episode's trajectory once scoring ends
    (so a ``max_steps`` check never counts the judge)."""

    def __init__(self, judge: Model, rt: EpisodeRuntime) -> None:
        self.judge = judge
        self.name = judge.name
        self.price = judge.price
        self._rt = dataclasses.replace(rt, model=judge)
        self.calls: list[ModelCallRecord] = []

    async def complete(self, request: ModelRequest) -> ModelResponse:
        response, record = await self._rt.call_model(request, self._rt.root)
        self.calls.append(record)
        if response is None:
            raise ModelError(record.error or "the judge failed")
        return response

    def price_for(self, request: ModelRequest) -> Price | None:
        return self.judge.price_for(request)

    def describe(self) -> dict[str, Any]:
        return self.judge.describe()
