"""Evaluating the workspace's state checks: ``file`` (a file's text) and ``command`` (a
command run in the sandbox). The same expectations serve a live sandbox and a stored
snapshot; nothing here raises for a bad check — it fails, with the reason as evidence."""

from __future__ import annotations

import posixpath
import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from sandlot.environments.sandbox.base import ExecResult
from sandlot.environments.tasks import StateCheck, StrictStateCheck

__all__ = [
    "EVIDENCE_LIMIT",
    "NO_DATABASE",
    "WorkspaceInitialState",
    "WorkspaceStateCheck",
    "check_problem",
    "command_verdict",
    "expect_text",
    "file_verdict",
    "inside_workspace",
    "workspace_relative",
]

EVIDENCE_LIMIT = 2000  # characters of a file or of stdout kept as evidence
NO_DATABASE = "the workspace has no database; use file or command"


def workspace_relative(path: str) -> str:
    """``path`` as the snapshot keys it: relative to /work, normalised (``./a``, ``/work/a``
    and ``a`` are the same file)."""
    if path == "/work" or path.startswith("/work/"):
        path = path[len("/work") :].lstrip("/") or "."
    return posixpath.normpath(path)


def inside_workspace(path: str) -> str | None:
    """``path`` relative to /work when it names a file inside the workspace, else None
    (``..`` escapes, absolute paths elsewhere, the workspace itself)."""
    rel = workspace_relative(path)
    if rel in (".", "..") or rel.startswith("../") or posixpath.isabs(rel):
        return None
    return rel


def check_problem(check: StateCheck) -> str | None:
    """Why ``check`` cannot be answered by the workspace, or None when it can."""
    if check.query is not None:
        return NO_DATABASE
    if check.file is not None and inside_workspace(check.file) is None:
        return (
            f"file {check.file!r} is outside the workspace (a snapshot holds /work only); "
            "use a path relative to /work such as 'out/result.txt'"
        )
    if check.file is None and check.command is None:
        return "a workspace state check needs `file` or `command`"
    if check.file is not None and check.command is not None:
        return "a state check takes one of `file` or `command`, not both"
    if check.rows is not None:
        return "`rows` applies to query checks; use equals, contains or regex"
    if check.command is not None and check.exists is not None:
        return "`exists` applies to file checks; use exit_code for a command"
    if check.file is not None and check.exit_code is not None:
        return "`exit_code` applies to command checks; use a command such as `test -f FILE`"
    if check.regex is not None:
        try:
            re.compile(check.regex)
        except re.error as exc:
            return f"invalid regex {check.regex!r}: {exc}"
    return None


def _equal(text: str, expected: Any, tolerance: float | None) -> bool:
    is_number = isinstance(expected, int | float) and not isinstance(expected, bool)
    if is_number or tolerance is not None:
        try:
            return abs(float(text.strip()) - float(expected)) <= (tolerance or 1e-9)
        except (TypeError, ValueError):
            pass
    return text.strip() == str(expected).strip()


def expect_text(text: str, check: StateCheck, evidence: dict[str, Any]) -> bool:
    """Apply the check's ``equals`` (stripped; numbers within ``tolerance``), ``contains``
    and ``regex`` (multi-line) to ``text``; record each expectation in ``evidence``."""
    passed = True
    if check.equals is not None:
        passed &= _equal(text, check.equals, check.tolerance)
        evidence["expected"] = check.equals
    if check.contains is not None:
        passed &= check.contains in text
        evidence["expected_contains"] = check.contains
    if check.regex is not None:
        passed &= re.search(check.regex, text, re.MULTILINE) is not None
        evidence["expected_regex"] = check.regex
    return passed


def _has_text_expectation(check: StateCheck) -> bool:
    return check.equals is not None or check.contains is not None or check.regex is not None


def file_verdict(
    path: str,
    text: str | None,
    check: StateCheck,
    *,
    exists: bool | None = None,
    note: str | None = None,
) -> tuple[bool, dict[str, Any]]:
    """A ``file`` check on the file's text (None when there is none to read). ``exists``
    defaults to ``text is not None``; ``note`` says why the text is partial or missing
    (e.g. a snapshot kept only its start, or only its name)."""
    exists = text is not None if exists is None else exists
    evidence: dict[str, Any] = {"file": path, "exists": exists}
    if text is not None:
        evidence["content"] = text[:EVIDENCE_LIMIT]
        if len(text) > EVIDENCE_LIMIT:
            evidence["content_cut"] = len(text) - EVIDENCE_LIMIT
    if note:
        evidence["note"] = note
    passed = True
    if check.exists is not None:
        passed = exists == check.exists
        evidence["expected_exists"] = check.exists
    if _has_text_expectation(check):
        if text is None:
            evidence["why"] = note or f"no file {path!r} to compare"
            return False, evidence
        passed &= expect_text(text, check, evidence)
    elif check.exists is None:
        passed = exists  # a bare file check asks for the file to exist
    return passed, evidence


def command_verdict(result: ExecResult, check: StateCheck) -> tuple[bool, dict[str, Any]]:
    """A ``command`` check on what the command did. Without any expectation the command
    must exit 0; a command that timed out fails."""
    evidence: dict[str, Any] = {
        "command": check.command,
        "exit_code": result.exit_code,
        "stdout": result.stdout[:EVIDENCE_LIMIT],
        "stderr": result.stderr[:1000],
    }
    if result.timed_out:
        evidence["why"] = "the command timed out"
        return False, evidence
    expected_code = check.exit_code
    if expected_code is None and not _has_text_expectation(check):
        expected_code = 0
    passed = True
    if expected_code is not None:
        passed = result.exit_code == expected_code
        evidence["expected_exit_code"] = expected_code
    if _has_text_expectation(check):
        passed &= expect_text(result.stdout, check, evidence)
    return passed, evidence


class WorkspaceInitialState(BaseModel):
    """A workspace task's ``initial_state``: ``files`` (path relative to /work -> text)
    written first, then each ``setup`` command run in /work (it must exit 0)."""

    model_config = ConfigDict(extra="forbid")

    files: dict[str, str] = Field(default_factory=dict)
    setup: list[str] = Field(default_factory=list)

    @field_validator("files", mode="before")
    @classmethod
    def _files(cls, value: Any) -> Any:
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise ValueError(
                f"initial_state.files must map paths to text, got {type(value).__name__}"
            )
        for path, content in value.items():
            if not isinstance(path, str) or not path.strip():
                raise ValueError("initial_state.files has an empty or non-text path")
            if inside_workspace(path) is None:
                raise ValueError(
                    f"initial_state.files path {path!r} is outside the workspace; "
                    "use a path relative to /work such as 'data/in.csv'"
                )
            if not isinstance(content, str):
                raise ValueError(
                    f"initial_state.files[{path!r}] must be text, got {type(content).__name__}"
                )
        return value

    @field_validator("setup", mode="before")
    @classmethod
    def _setup(cls, value: Any) -> Any:
        if value is None:
            return []
        if isinstance(value, str):
            return [value]
        if not isinstance(value, list) or not all(isinstance(c, str) for c in value):
            raise ValueError("initial_state.setup must be a list of shell commands")
        return value

    def relative_files(self) -> dict[str, str]:
        """The files keyed by their path relative to /work (``/work/a`` -> ``a``)."""
        return {str(inside_workspace(path)): text for path, text in self.files.items()}


class WorkspaceStateCheck(StrictStateCheck):
    """A workspace state check: ``file`` (a path inside /work) or ``command``, with the
    expectations that apply to it (:func:`check_problem` says which)."""

    @model_validator(mode="after")
    def _shape(self) -> WorkspaceStateCheck:
        if (problem := check_problem(self)) is not None:
            raise ValueError(problem)
        return self
