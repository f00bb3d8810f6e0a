"""The graphnav world: walking a graph of rooms to a target room."""

from sandlot.environments.worlds.graphnav.domain import random_graph, shortest_path
from sandlot.environments.worlds.graphnav.environment import GraphnavEnvironment
from sandlot.environments.worlds.graphnav.tasks import graphnav_tasks

__all__ = ["GraphnavEnvironment", "graphnav_tasks", "random_graph", "shortest_path"]
