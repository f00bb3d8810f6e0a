"""What a task file can get wrong that its pydantic models cannot see.

Each function returns ``(field, message)`` pairs; the loader adds the file and the task.
Checks that need the world (its name, its tools) run only when the world's class can be
imported; the others always run. Contradictions with the task's own reference solution
are reported too, because the oracle (``sandlot run --model oracle``) must pass every
checklist: a reference that a checklist item fails is a broken task.
"""

from __future__ import annotations

import difflib
import math
import re
import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from sandlot.environments.checklist_answers import check_answer, normalize_text
from sandlot.environments.checklist_checks import arguments_match, as_number
from sandlot.environments.loader_errors import describe_validation_error
from sandlot.environments.tasks import (
    BUILTIN_CHECK_TYPES,
    AnswerCheck,
    CalledCheck,
    ChecklistItem,
    CustomCheck,
    JudgeCheck,
    MaxStepsCheck,
    NotCalledCheck,
    OrderCheck,
    ReferenceStateCheck,
    StateCheck,
    Task,
)
from sandlot.environments.tool_states import reference_order_problems, tool_states_names
from sandlot.environments.trajectory import SUBMIT_TOOL
from sandlot.errors import ExtensionLoadError, UnknownNameError
from sandlot.registry import CHECKS
from sandlot.tools.sources import tools_for

if TYPE_CHECKING:  # pragma: no cover
    from sandlot.environments.base import Environment

__all__ = ["Problem", "check_problems", "id_problem", "task_problems", "world_problems"]

Problem = tuple[str | None, str]  # (field path or None for the whole task, what is wrong)


def _regex_problem(pattern: str) -> str | None:
    try:
        re.compile(pattern)
    except re.error as exc:
        return f"invalid regular expression {pattern!r}: {exc}"
    return None


def _is_number(value: Any) -> bool:
    try:
        as_number(value)
    except (TypeError, ValueError):
        return False
    return True


def _state_problems(check: StateCheck) -> list[Problem]:
    sources = [name for name in ("query", "file", "command") if getattr(check, name) is not None]
    problems: list[Problem] = []
    # A check in a world's own language (keys beyond the common ones) is the world's to
    # judge (Environment.validate_state_check); the common language needs one source.
    if len(sources) != 1 and not (check.world_fields and not sources):
        got = " and ".join(sources) if sources else "none"
        problems.append((None, f"set exactly one of query, file, command (got {got})"))
    if check.regex is not None and (bad := _regex_problem(check.regex)):
        problems.append(("regex", bad))
    if check.tolerance is not None and check.tolerance < 0:
        problems.append(("tolerance", f"must be >= 0, got {check.tolerance}"))
    return problems


def _matches_anything(pattern: str) -> bool:
    """A pattern that matches both the empty string and an unrelated text matches (at
    position 0) whatever the answer is: "", ".*", "x?"."""
    try:
        return all(re.search(pattern, s) is not None for s in ("", "\x00 unrelated \x01"))
    except re.error:
        return False


def _value_problems(check: AnswerCheck) -> list[Problem]:
    if check.value is None:
        return [("value", "null (no value); write the text or number the answer must have")]
    if isinstance(check.value, list):
        if check.match not in ("contains", "not_contains"):
            return [
                ("value", f"a list works with match contains or not_contains, not {check.match}")
            ]
        if not check.value:
            return [("value", "an empty list, so the check always passes")]
        if any(v is None for v in check.value):
            return [("value", f"{check.value!r} holds null; write the text instead")]
        if any(str(v) == "" for v in check.value):
            always = "passes" if check.match == "contains" else "fails"
            return [
                (
                    "value",
                    f"{check.value!r} holds an empty string, which every answer "
                    f"contains, so that part of the check always {always}",
                )
            ]
        if check.normalize and any(_normalized_empty(check, v) for v in check.value):
            always = "passes" if check.match == "contains" else "fails"
            return [
                (
                    "value",
                    f"{check.value!r} holds a value that is empty once normalized "
                    f"({', '.join(check.normalize)}), which every answer contains, so that "
                    f"part of the check always {always}",
                )
            ]
        return []
    if check.match in ("contains", "not_contains") and str(check.value) == "":
        always = "passes" if check.match == "contains" else "fails"
        return [
            ("value", f"an empty string, which every answer contains, so the check always {always}")
        ]
    if check.match in ("contains", "not_contains") and _normalized_empty(check, check.value):
        always = "passes" if check.match == "contains" else "fails"
        return [
            (
                "value",
                f"{check.value!r} is empty once normalized ({', '.join(check.normalize)}), "
                f"which every answer contains, so the check always {always}",
            )
        ]
    if check.match == "regex" and (bad := _regex_problem(str(check.value))):
        return [("value", bad)]
    if check.match == "regex" and _matches_anything(str(check.value)):
        return [
            (
                "value",
                f"the regular expression {check.value!r} matches the empty string "
                "at the start of any answer, so the check always passes",
            )
        ]
    if check.match == "number" and not _is_number(check.value):
        return [("value", f"match number needs a numeric value, got {check.value!r}")]
    if check.match == "number" and not math.isfinite(as_number(check.value)):
        return [("value", f"match number needs a finite number, got {check.value!r}")]
    if check.tolerance < 0:
        return [("tolerance", f"must be >= 0, got {check.tolerance}")]
    return []


def _normalized_empty(check: AnswerCheck, value: Any) -> bool:
    return bool(check.normalize) and normalize_text(str(value), check.normalize).strip() == ""


def _normalize_problems(check: AnswerCheck) -> list[Problem]:
    repeated = sorted({n for n in check.normalize if check.normalize.count(n) > 1})
    if repeated:
        return [("normalize", f"{repeated} listed more than once; list each normalization once")]
    if "case" in check.normalize and check.case_sensitive:
        return [
            (
                "normalize",
                "'case' folds case but case_sensitive is true; drop one of them "
                "(comparisons ignore case by default)",
            )
        ]
    return []


def _answer_problems(check: AnswerCheck) -> list[Problem]:
    return _normalize_problems(check) + _value_problems(check)


def _custom_problems(check: CustomCheck) -> list[Problem]:
    """A registered kind's check: the kind exists, imports, and its model takes the check."""
    try:
        kind = CHECKS.get(check.type)
    except UnknownNameError:
        known = sorted({*BUILTIN_CHECK_TYPES, *CHECKS.names()})
        return [
            ("type", f"unknown check type {check.type!r}; use one of {', '.join(map(repr, known))}")
        ]
    except ExtensionLoadError as exc:
        return [("type", str(exc))]
    try:
        kind.model.model_validate(check.model_dump())
    except ValidationError as exc:
        return _validation_problems(exc, kind.model, "")
    return []


def check_problems(check: Any) -> list[Problem]:
    """What is wrong with one check on its own: ``(field under the check or None, what)``."""
    if isinstance(check, CustomCheck):
        return _custom_problems(check)
    if isinstance(check, StateCheck):
        return _state_problems(check)
    if isinstance(check, AnswerCheck):
        return _answer_problems(check)
    if isinstance(check, ReferenceStateCheck):
        bad = [p for p in check.ignore if not p.strip() or "" in p.split(".")]
        if bad:
            return [("ignore", f"{bad} are not dotted paths; write e.g. 'tickets.*.created'")]
    if isinstance(check, CalledCheck):
        if check.min_times < 0:
            return [("min_times", f"must be >= 0, got {check.min_times}")]
        if check.max_times is not None and check.max_times < 0:
            return [("max_times", f"must be >= 0, got {check.max_times}")]
        if check.max_times is not None and check.max_times < check.min_times:
            return [("max_times", f"{check.max_times} is below min_times={check.min_times}")]
    if isinstance(check, OrderCheck):
        repeated = sorted({t for t in check.tools if check.tools.count(t) > 1})
        if repeated:
            return [("tools", f"{repeated} appear more than once; order compares first calls")]
    if isinstance(check, MaxStepsCheck):
        limits = {"tool_calls": check.tool_calls, "model_calls": check.model_calls}
        if all(n is None for n in limits.values()):
            return [(None, "set tool_calls and/or model_calls")]
        return [(k, f"must be >= 0, got {n}") for k, n in limits.items() if n is not None and n < 0]
    if isinstance(check, JudgeCheck) and not check.rubric.strip():
        return [("rubric", "the rubric is empty")]
    return []


def _reference_problems(item: ChecklistItem, task: Task) -> list[str]:
    """Contradictions between one item and the reference solution (assumed to succeed)."""
    reference = task.reference
    if reference is None:
        if isinstance(item.check, ReferenceStateCheck):
            return [
                "a reference_state check compares with the state the reference solution "
                "leaves, and this task has no reference; add one or drop the item"
            ]
        return []
    calls = reference.calls
    check = item.check
    tools = [c.tool for c in calls]
    fix = "fix the item or the reference"
    if isinstance(check, AnswerCheck) and not _answer_problems(check):
        # what the reference tells a simulated user counts for the wider scopes
        passed, _ = check_answer(check, reference.answer, [a.text for a in reference.asks])
        if not passed:
            return [f"the reference answer {reference.answer!r} fails this check; {fix}"]
    if isinstance(check, CalledCheck) and tools.count(check.tool) < check.min_times:
        return [
            f"the reference calls {check.tool!r} {tools.count(check.tool)} time(s), "
            f"fewer than min_times={check.min_times}; {fix}"
        ]
    if isinstance(check, NotCalledCheck):
        hits = [c for c in calls if c.tool == check.tool and arguments_match(c.args, check.args)]
        if hits:
            return [f"the reference itself calls {check.tool!r} with {hits[0].args}; {fix}"]
    if isinstance(check, OrderCheck):
        missing = [t for t in check.tools if t not in tools]
        if missing:
            return [f"the reference never calls {missing}; {fix}"]
    limit = check.tool_calls if isinstance(check, MaxStepsCheck) else None
    if limit is not None and len(calls) > limit:
        return [f"the reference makes {len(calls)} tool calls, over tool_calls={limit}; {fix}"]
    return []


def _ask_problems(task: Task) -> list[Problem]:
    """A reference ask placed past the reference's calls: ``before`` counts the calls
    made before it, from 0 (before the first) to their number (before the answer)."""
    if task.reference is None:
        return []
    n = len(task.reference.calls)
    return [
        (
            f"reference.asks[{i}].before",
            f"{ask.before} is past the reference's {n} call(s); use 0 (before the first "
            f"call) to {n} (after the last, before the answer)",
        )
        for i, ask in enumerate(task.reference.asks)
        if ask.before > n
    ]


def id_problem(value: str) -> str | None:
    """Why ``value`` cannot be an id (of a task or a checklist item), or None. An id is
    printed in tables, stored in traces and typed on the command line: it must have a
    visible character and no control characters (a newline, a tab, an escape)."""
    if not value.strip():
        return "the id is empty; give it a short name such as 'refund-late-order'"
    bad = sorted({c for c in value if unicodedata.category(c).startswith("C")})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        return f"the id {value!r} holds control character(s) {shown}; use visible text"
    return None


def task_problems(task: Task) -> list[Problem]:
    """Problems of one task that need no world: ids, check values, the reference."""
    problems: list[Problem] = []
    if bad := id_problem(task.id):
        problems.append(("id", bad))
    first_index: dict[str, int] = {}
    for i, item in enumerate(task.checklist):
        if bad := id_problem(item.id):
            problems.append((f"checklist[{i}].id", bad))
        if item.id in first_index:
            problems.append(
                (
                    f"checklist[{i}].id",
                    f"checklist item id {item.id!r} is already used by "
                    f"checklist[{first_index[item.id]}]; item ids must be unique in a task",
                )
            )
        first_index.setdefault(item.id, i)
        for sub, message in check_problems(item.check):
            problems.append((f"checklist[{i}].check" + (f".{sub}" if sub else ""), message))
        for message in _reference_problems(item, task):
            problems.append((f"checklist[{i}].check", message))
    if task.checklist and not any(item.required for item in task.checklist):
        # Success means every required item passed: with none, every episode succeeds.
        problems.append(
            (
                "checklist",
                "no checklist item is required, so every episode would count as a success "
                "whatever it did; make at least one item required (the default)",
            )
        )
    problems += _ask_problems(task)
    if task.max_tool_calls < 1:
        problems.append(("max_tool_calls", f"must be >= 1, got {task.max_tool_calls}"))
    elif task.reference and len(task.reference.calls) > task.max_tool_calls:
        problems.append(
            (
                "max_tool_calls",
                f"{task.max_tool_calls} is below the {len(task.reference.calls)} tool calls of "
                "the reference, so the oracle runs out of budget before it answers; raise "
                "max_tool_calls or shorten the reference",
            )
        )
    return problems


def _named_tools(task: Task) -> list[tuple[str, str]]:
    named: list[tuple[str, str]] = []
    if task.reference:
        named += [
            (f"reference.calls[{i}].tool", c.tool) for i, c in enumerate(task.reference.calls)
        ]
    for i, item in enumerate(task.checklist):
        check = item.check
        if isinstance(check, CalledCheck | NotCalledCheck):
            named.append((f"checklist[{i}].check.tool", check.tool))
        elif isinstance(check, OrderCheck):
            named += [(f"checklist[{i}].check.tools[{j}]", t) for j, t in enumerate(check.tools)]
        elif isinstance(check, CustomCheck) and check.type == "asked":
            before = (check.model_extra or {}).get("before")
            if isinstance(before, str):  # asked before the first call of this tool
                named.append((f"checklist[{i}].check.before", before))
    if task.tool_states is not None:
        named += tool_states_names(task.tool_states)
    return named


def _validation_problems(exc: ValidationError, root: type[BaseModel], prefix: str) -> list[Problem]:
    return [
        describe_validation_error(err, root=root, prefix=prefix)
        for err in exc.errors(include_url=False)
    ]


def world_problems(
    task: Task, cls: type[Environment[Any, Any, Any]], extra_tools: Iterable[Any] = ()
) -> list[Problem]:
    """Problems only the world can see, through the methods ``Environment`` declares:
    tools neither it nor ``extra_tools`` (added with ``--tools`` or by installed
    packages: tool names, Tools, or Toolsets for some worlds) have, an
    ``initial_state`` its ``validate_initial_state`` refuses, state checks its
    ``validate_state_check`` refuses (a key its language lacks, the wrong shape)."""
    problems: list[Problem] = []
    names = [t for t in extra_tools if isinstance(t, str)]
    added = tools_for(cls.name, [t for t in extra_tools if not isinstance(t, str)])
    tools = [*cls.default_toolset().names(), *names, *(t.name for t in added)]
    for where, name in _named_tools(task):
        if name in tools:
            continue
        close = difflib.get_close_matches(name, tools, n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        if name == SUBMIT_TOOL:
            hint = "; submit_answer ends the episode and is not a checked tool call (use an answer check)"
        problems.append(
            (
                where,
                f"no tool {name!r} in environment {task.environment!r}{hint}; tools: "
                f"{', '.join(sorted(tools))}",
            )
        )
    if task.reference is not None:
        # the oracle plays the reference: a call the tool states refuse would fail it
        graph = cls.declared_tool_states(task)
        for i, why in reference_order_problems(graph, [c.tool for c in task.reference.calls]):
            problems.append(
                (
                    f"reference.calls[{i}].tool",
                    f"the tool states refuse this call ({why}); put the calls it needs "
                    "before it in the reference, or change tool_states",
                )
            )
    try:
        cls.validate_initial_state(task)
    except ValidationError as exc:
        problems += _validation_problems(exc, cls.initial_state_model, "initial_state")
    for i, item in enumerate(task.checklist):
        if isinstance(item.check, StateCheck):
            try:
                cls.validate_state_check(item.check)
            except ValidationError as exc:
                problems += _validation_problems(
                    exc, cls.state_check_model, f"checklist[{i}].check"
                )
    return problems
