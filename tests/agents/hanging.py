"""A model for crash tests: the oracle, except that on one task it hangs in its second
model call until the process is killed (scripts that tests start and SIGKILL use it)."""

from __future__ import annotations

import asyncio

from sandlot.agents.models import OracleModel
from sandlot.agents.models.base import ModelRequest, ModelResponse


class HangingOracle(OracleModel):
    """Hangs on task ``hang_on`` once the conversation holds a tool call, after printing
    ``HANGING`` (what the test waits for before it kills the process)."""

    def __init__(self, hang_on: str) -> None:
        super().__init__()
        self.hang_on = hang_on

    async def complete(self, request: ModelRequest) -> ModelResponse:
        calls = sum(
            len(m.get("tool_calls") or ()) for m in request.messages if m.get("role") == "assistant"
        )
        if request.task is not None and request.task.id == self.hang_on and calls >= 1:
            print("HANGING", flush=True)
            await asyncio.sleep(3600)  # until killed
        return await super().complete(request)
