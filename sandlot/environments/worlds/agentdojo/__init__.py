"""AgentDojo's suites (the ``agentdojo`` package) as sandlot worlds, with its user tasks
as the ``agentdojo`` task set and its utility checks as the ``agentdojo_utility`` check
kind (docs/worlds/agentdojo.md)."""

from sandlot.environments.worlds.agentdojo.environment import (
    WORLDS_BY_SUITE,
    AgentDojoBanking,
    AgentDojoEnvironment,
    AgentDojoSlack,
    AgentDojoStart,
    AgentDojoTravel,
    AgentDojoWorkspace,
)
from sandlot.environments.worlds.agentdojo.source import SUITES, VERSION, VERSIONS

__all__ = [
    "SUITES",
    "VERSION",
    "VERSIONS",
    "WORLDS_BY_SUITE",
    "AgentDojoBanking",
    "AgentDojoEnvironment",
    "AgentDojoSlack",
    "AgentDojoStart",
    "AgentDojoTravel",
    "AgentDojoWorkspace",
]
