"""A check kind of your own: "the answer is at most N words long".

Run it from the repository root::

    python examples/custom_check.py

A kind is a pydantic model (the fields of its ``check:`` mapping, ``type`` naming the
kind) and an ``evaluate(check, context)`` returning ``(passed, evidence)``. Registered
in code here; an installed package publishes it as a ``sandlot.checks`` entry point
instead. See docs/guides/check-kind.md.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from sandlot import TaskFileError, load_tasks, run
from sandlot.environments.check_kinds import CheckContext
from sandlot.registry import CHECKS


class AnswerLength(BaseModel):
    """The fields of ``check: {type: answer_length, max_words: N}``."""

    model_config = ConfigDict(extra="forbid")
    type: Literal["answer_length"] = "answer_length"
    max_words: int = Field(gt=0)


class AnswerLengthKind:
    model: ClassVar[type[BaseModel]] = AnswerLength

    def evaluate(self, check: AnswerLength, context: CheckContext) -> tuple[bool, Any]:
        answer = context.trajectory.answer or ""
        words = len(answer.split())
        return 0 < words <= check.max_words, {"words": words, "max_words": check.max_words}


CHECKS.register("answer_length", AnswerLengthKind())

TASK = """
id: short-answer
environment: store
instruction: What is the status of order 1003?
reference:
  calls: [{tool: get_order, args: {order_id: 1003}}]
  answer: Order 1003 has shipped.
checklist:
  - id: status
    check: {type: answer, match: contains, value: shipped}
  - id: short
    description: The answer fits in a sentence
    check: {type: answer_length, max_words: 12}
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        good, bad = Path(tmp) / "short.yaml", Path(tmp) / "bad.yaml"
        good.write_text(TASK)
        bad.write_text(TASK.replace("max_words: 12", "max_words: -3"))
        tasks = load_tasks([good])
        try:
            load_tasks([bad])
        except TaskFileError as exc:  # the kind's own model validates task files
            print(f"refused: {exc.problems[0]}")
    result = asyncio.run(run(tasks, model="oracle"))
    episode = result.episodes[0]
    for verdict in episode.verdicts:
        print(f"{verdict.item_id}: passed={verdict.passed} evidence={verdict.evidence}")
    print(f"outcome: {episode.outcome}")


if __name__ == "__main__":
    main()
