"""The bfcl world: the Berkeley Function-Calling Leaderboard's multi-turn benchmark
(``bfcl-eval``) as a sandlot world, task set (``bfcl:multi_turn_base``) and check kind
(``bfcl``) that reproduces BFCL's verdict (docs/worlds/bfcl.md)."""

from sandlot.environments.worlds.bfcl.environment import BfclEnvironment, BfclStart
from sandlot.environments.worlds.bfcl.scoring import BFCL_CHECK, BfclCheck, check_bfcl
from sandlot.environments.worlds.bfcl.source import SUBSETS, MultiTurnEntry, read_subset
from sandlot.environments.worlds.bfcl.tasksets import bfcl_task, bfcl_task_set

__all__ = [
    "BFCL_CHECK",
    "SUBSETS",
    "BfclCheck",
    "BfclEnvironment",
    "BfclStart",
    "MultiTurnEntry",
    "bfcl_task",
    "bfcl_task_set",
    "check_bfcl",
    "read_subset",
]
