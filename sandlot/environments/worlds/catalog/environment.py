"""The catalog world: a large catalog of tools for tool retrieval at scale."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from sandlot.environments.base import Environment
from sandlot.environments.tasks import StrictStateCheck, Task
from sandlot.environments.worlds.catalog.catalog import load_catalog
from sandlot.tools import Toolset

__all__ = ["CatalogEnvironment", "CatalogStart"]

POLICY = (
    "Each request is answered by calling one of the catalog's tools (or the same tool "
    "several times) with the values the request gives; the tools only acknowledge the "
    "call."
)
_NO_STATE = (
    "the catalog world keeps no state to check: check which tool was called (type: called) instead"
)


class CatalogStart(BaseModel):
    """The catalog world's initial state: there is none (no key is accepted)."""

    model_config = ConfigDict(extra="forbid")


class CatalogEnvironment(Environment[dict[str, Any], CatalogStart, StrictStateCheck]):
    """About 1,300 tools pooled from the function definitions of the Berkeley
    Function-Calling Leaderboard (the ``bfcl-eval`` package), each taking its declared
    parameters and answering with an acknowledgement. Its tasks
    (:func:`~sandlot.environments.worlds.catalog.catalog_tasks`) are checked by the tool
    called; it keeps no state."""

    name = "catalog"
    description = (
        "About 1,300 tools from BFCL's function definitions (bfcl-eval), for tool "
        "retrieval at catalog scale; the tools acknowledge calls."
    )
    policy = POLICY
    initial_state_model = CatalogStart

    @classmethod
    def default_toolset(cls) -> Toolset:
        return load_catalog().toolset

    async def reset(self, task: Task) -> None:
        self.check_initial_state(task)
        self.task = task
        self.state = {}

    async def check_state(self, check: StrictStateCheck) -> tuple[bool, Any]:
        return False, {"error": _NO_STATE}

    @classmethod
    def check_snapshot(cls, snapshot: dict[str, Any], check: StrictStateCheck) -> tuple[bool, Any]:
        return False, {"error": _NO_STATE}
