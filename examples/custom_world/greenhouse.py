"""A small world of its own: a greenhouse whose plants the agent waters.

The world is an ``Environment`` subclass with a name, a description, its tools (plain
``@tool`` functions over the episode's state), a fresh state per task (``reset``) and
a way to check the final state (``check_state``). See docs/guides/world.md.
"""

from __future__ import annotations

import copy
from typing import Any

from pydantic import BaseModel, ConfigDict

from sandlot import Environment, ToolContext, ToolError, Toolset, tool

__all__ = ["GreenhouseEnvironment", "list_plants", "water_plant"]

# The greenhouse every task starts from (a task's initial_state may change it).
PLANTS = {"basil": 0, "fern": 100, "cactus": 0}
MAX_ML = 500  # more than this drowns a plant


@tool
def list_plants(ctx: ToolContext) -> dict[str, int]:
    """Every plant in the greenhouse with the water (ml) it got today."""
    return dict(ctx.state["plants"])


@tool
def water_plant(ctx: ToolContext, plant: str, ml: int) -> dict[str, int]:
    """Give a plant some water.

    Args:
        plant: The plant's name, as list_plants gives it.
        ml: How much water, in millilitres (1 to 500).
    """
    plants = ctx.state["plants"]
    if plant not in plants:
        raise ToolError(f"no plant {plant!r}; plants: {', '.join(sorted(plants))}")
    if not 1 <= ml <= MAX_ML:
        raise ToolError(f"give between 1 and {MAX_ML} ml, not {ml}")
    plants[plant] += ml
    return {plant: plants[plant]}


class GreenhouseStart(BaseModel):
    """What a task's ``initial_state`` may hold: water already given, by plant."""

    model_config = ConfigDict(extra="forbid")
    plants: dict[str, int] = {}


class GreenhouseEnvironment(Environment):
    name = "greenhouse"
    description = "A greenhouse: list the plants and water them."
    initial_state_model = GreenhouseStart

    @classmethod
    def default_toolset(cls) -> Toolset:
        return Toolset("greenhouse", [list_plants, water_plant])

    async def reset(self, task: Any) -> None:
        start = self.check_initial_state(task)  # the task's initial_state, validated
        plants = copy.deepcopy(PLANTS)
        plants.update(start.plants)
        self.task = task
        self.state = {"plants": plants}

    async def check_state(self, check: Any) -> tuple[bool, Any]:
        return self.check_snapshot(self.snapshot(), check)

    def snapshot(self) -> dict[str, Any]:
        return copy.deepcopy(self.state)

    @classmethod
    def check_snapshot(cls, snapshot: dict[str, Any], check: Any) -> tuple[bool, Any]:
        # The state-check language here: ``query`` names a plant, ``equals`` is the
        # water (ml) it must have got.
        got = snapshot["plants"].get(check.query)
        return got == check.equals, {check.query: got}
