"""The budgets the parallel branches of one wave share.

The branches of a wave start from the same state, so none of them sees the model and
tool calls the others make. Each branch takes a call from the wave's ledger before it
makes one: taking is a check and an increment with no ``await`` between them, so on the
event loop it is atomic, and the budgets hold across the branches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["BranchLedger"]


@dataclass
class BranchLedger:
    """The calls the branches of each wave have taken, by wave and kind."""

    _taken: dict[tuple[int, str], int] = field(default_factory=dict)

    def take(self, wave: int, kind: Literal["model", "tool"], made: int, limit: int) -> bool:
        """Take one call of ``kind`` for a branch of ``wave``, whose state had ``made``
        such calls when it fanned out: False (nothing taken) when that would pass
        ``limit``."""
        key = (wave, kind)
        taken = self._taken.get(key, 0)
        if made + taken >= limit:
            return False
        self._taken[key] = taken + 1
        return True

    def taken(self, wave: int, kind: Literal["model", "tool"]) -> int:
        """The calls of ``kind`` the branches of ``wave`` have taken."""
        return self._taken.get((wave, kind), 0)
