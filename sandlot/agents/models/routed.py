"""One model per role: a planner, an executor (and a judge, given to the run apart), as
``--planner-model`` and ``--executor-model`` choose."""

from __future__ import annotations

from typing import Any

from sandlot.agents.models.base import Model, ModelRequest, ModelResponse, Price
from sandlot.environments.tasks import Task

__all__ = ["RoutedModel"]


class RoutedModel(Model):
    """Plan requests go to ``planner``, execute requests to ``executor``; anything else
    (a judge request) to the executor.

    Args:
        planner: The model that writes plans.
        executor: The model that calls tools and answers (and the single agent's model).
    """

    def __init__(self, planner: Model, executor: Model) -> None:
        self.planner = planner
        self.executor = executor
        self.name = f"{planner.name}+{executor.name}" if planner is not executor else planner.name

    def _for(self, request: ModelRequest) -> Model:
        return self.planner if request.purpose == "plan" else self.executor

    def price_for(self, request: ModelRequest) -> Price | None:
        """The price of the role's model (this model's own ``price`` when that has
        none)."""
        return self._for(request).price_for(request) or self.price

    async def complete(self, request: ModelRequest) -> ModelResponse:
        return await self._for(request).complete(request)

    async def check(self) -> None:
        for model in self._models():
            await model.check()

    async def aclose(self) -> None:
        for model in self._models():
            await model.aclose()

    def _models(self) -> list[Model]:
        return [self.planner] if self.planner is self.executor else [self.planner, self.executor]

    def describe(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": "routed",
            "planner": self.planner.describe(),
            "executor": self.executor.describe(),
        }

    def secrets(self) -> list[str]:
        return [s for m in self._models() for s in m.secrets()]

    def model_calls_needed(self, task: Task, agent: str) -> int | None:
        needed = [m.model_calls_needed(task, agent) for m in self._models()]
        known = [n for n in needed if n is not None]
        return max(known) if known else None
