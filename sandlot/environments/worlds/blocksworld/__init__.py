"""The blocksworld world: classical planning over stacks of lettered blocks."""

from sandlot.environments.worlds.blocksworld.environment import BlocksworldEnvironment
from sandlot.environments.worlds.blocksworld.solver import optimal_plan, tower_plan
from sandlot.environments.worlds.blocksworld.tasks import blocksworld_tasks

__all__ = ["BlocksworldEnvironment", "blocksworld_tasks", "optimal_plan", "tower_plan"]
