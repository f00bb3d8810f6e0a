"""Judge items: a model reads the episode and decides whether a rubric is met.

The judge gets one system message and one user message holding the instruction, the
tool calls made (names, arguments, short results), the final answer and the rubric, and
must reply with JSON ``{"passed": bool, "reason": str}`` (a fenced code block or text
around one JSON object is tolerated). When no model can judge (none configured, the
model errs or refuses, the reply is not that JSON) the item is skipped with the reason,
never failed: the agent should not lose points for the grader's trouble.
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from sandlot.environments.checklist_checks import CheckSkipped
from sandlot.environments.model import Model, ModelError, ModelRequest

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.environments.checklist import Trajectory
    from sandlot.environments.tasks import JudgeCheck, Task

__all__ = ["JUDGE_SYSTEM", "check_judge", "judge_prompt", "parse_judge_reply"]

JUDGE_SYSTEM = (
    "You grade one item of an AI agent's work. Read the user's request, the tool calls the "
    "agent made and its final answer, then decide whether the rubric is met. Judge only "
    "the rubric. Reply with JSON only, no other text: "
    '{"passed": true or false, "reason": "one or two sentences"}'
)

# Keep the prompt bounded on long episodes: a judge sees the first calls in full and is
# told how many were left out, and each result is cut short.
_MAX_CALLS = 60
_RESULT_CHARS = 300
_ANSWER_CHARS = 4000


def judge_prompt(task: Task, trajectory: Trajectory, rubric: str) -> str:
    """The user message a judge model reads for one rubric."""
    lines = []
    calls = trajectory.tools_used  # the answer is shown below, not as a submit_answer call
    for call in calls[:_MAX_CALLS]:
        args = json.dumps(call.arguments, default=str, ensure_ascii=False)
        outcome = "ok" if call.ok else f"error ({call.error_kind or 'unknown'})"
        result = call.content[:_RESULT_CHARS] + ("..." if len(call.content) > _RESULT_CHARS else "")
        lines.append(f"- {call.name}({args}) -> {outcome}: {result}")
    if len(calls) > _MAX_CALLS:
        lines.append(f"- ... and {len(calls) - _MAX_CALLS} more calls")
    answer = "(no final answer)" if trajectory.answer is None else trajectory.answer
    return (
        f"## Request\n{task.instruction}\n\n"
        f"## Tool calls\n{chr(10).join(lines) or '(none)'}\n\n"
        f"## Final answer\n{answer[:_ANSWER_CHARS]}\n\n"
        f"## Rubric\n{rubric}\n\n"
        'Reply with JSON only: {"passed": true or false, "reason": "..."}'
    )


_FENCED = re.compile(r"```(?:json)?\s*(.*?)```", re.DOTALL | re.IGNORECASE)
_OBJECT = re.compile(r"\{.*\}", re.DOTALL)


def parse_judge_reply(text: str) -> tuple[bool, str | None]:
    """``(passed, reason)`` from a judge's reply; ValueError says what was wrong."""
    text = text.strip()
    candidates = [text]
    fenced = _FENCED.search(text)
    if fenced:
        candidates.insert(0, fenced.group(1).strip())
    braced = _OBJECT.search(text)
    if braced:
        candidates.append(braced.group())
    for candidate in candidates:
        try:
            data = json.loads(candidate)
        except ValueError:
            continue
        if not isinstance(data, dict) or not isinstance(data.get("passed"), bool):
            raise ValueError('expected an object with a boolean "passed"')
        reason = data.get("reason")
        return data["passed"], None if reason is None else str(reason)
    raise ValueError("no JSON object found")


async def check_judge(
    check: JudgeCheck, task: Task, trajectory: Trajectory, judge: Model | None
) -> tuple[bool, Any]:
    """Ask ``judge`` about ``check.rubric``; raises CheckSkipped when it cannot say."""
    if judge is None:
        raise CheckSkipped("no judge model configured")
    request = ModelRequest(
        messages=[
            {"role": "system", "content": JUDGE_SYSTEM},
            {"role": "user", "content": judge_prompt(task, trajectory, check.rubric)},
        ],
        purpose="judge",
        task=task,
    )
    try:
        response = await judge.complete(request)
    except (ModelError, NotImplementedError) as exc:
        raise CheckSkipped(f"the judge model {judge.name!r} could not judge: {exc}") from exc
    reply = response.content or ""
    try:
        passed, reason = parse_judge_reply(reply)
    except ValueError as exc:
        raise CheckSkipped(
            f"the judge's reply was not the JSON asked for ({exc}): {reply[:200]!r}"
        ) from exc
    return passed, {"reason": reason, "judge": judge.name, "rubric": check.rubric}
