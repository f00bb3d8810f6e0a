"""The ``asked`` check: the agent asked the simulated user something — a question for
missing information, a confirmation — and, with ``before``, asked it before the first
successful call of a tool (no change before the user's confirmation)."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sandlot.environments.check_kinds import CheckContext

__all__ = ["ASKED", "AskedCheck", "check_asked"]


class AskedCheck(BaseModel):
    """A message the agent sent the user contains one of ``contains`` (case-insensitive);
    with ``before``, the first such message came before the first successful call of
    that tool (and the tool need not have been called at all)."""

    model_config = ConfigDict(extra="forbid")
    type: str = "asked"
    contains: list[str] = Field(min_length=1)
    before: str | None = None

    @field_validator("contains", mode="before")
    @classmethod
    def _one(cls, value: Any) -> Any:
        return [value] if isinstance(value, str) else value


def check_asked(check: AskedCheck, context: CheckContext) -> tuple[bool, Any]:
    trajectory = context.trajectory
    wanted = [w.casefold() for w in check.contains]
    asked = [t for t in trajectory.user_turns if any(w in t.prompt.casefold() for w in wanted)]
    if not asked:
        return False, {
            "why": f"no message to the user mentions any of {check.contains}",
            "messages": [t.prompt[:200] for t in trajectory.user_turns[:20]],
        }
    first = asked[0]
    evidence: dict[str, Any] = {"turn": first.turn, "message": first.prompt[:500]}
    if check.before is None:
        return True, evidence
    calls = [c for c in trajectory.tools_used if c.name == check.before and c.ok]
    if not calls:
        return True, {**evidence, "before": check.before, "called": False}
    call_seq, asked_seq = calls[0].seq, first.seq
    ordered = call_seq is not None and asked_seq is not None and asked_seq < call_seq
    evidence.update(before=check.before, called=True, ordered=ordered)
    if not ordered:
        evidence["why"] = f"{check.before} was called before the user was asked"
    return ordered, evidence


class _Asked:
    model: ClassVar[type[BaseModel]] = AskedCheck

    def evaluate(self, check: AskedCheck, context: CheckContext) -> tuple[bool, Any]:
        return check_asked(check, context)


ASKED = _Asked()
