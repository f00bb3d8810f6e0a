"""Every exception sandlot raises, in one place.

Two kinds matter to a caller:

* :class:`UserError` — bad input (a task file, a trace path, a name, a tool definition).
  The message says what was wrong, where (file, task, field, tool) and what to do; the
  command line prints it as a usage error, never a traceback.
* :class:`RunError` — something a run depends on failed (the model endpoint, the sandbox,
  the trace file's disk). One episode's failure is recorded as its outcome ``error``; a
  RunError escapes only where a whole command cannot go on.

:class:`ToolError` is neither: a tool raises it to refuse, and the model reads the
message. Nor is :class:`EndEpisode`: a tool raises it to end the episode. Each class is
also importable from the module that raises it.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

__all__ = [
    "EndEpisode",
    "ExtensionLoadError",
    "ForkError",
    "ForkMismatchError",
    "ImageBuildError",
    "ModelError",
    "OtlpExportError",
    "ReplayError",
    "ResumeError",
    "RunError",
    "SandboxError",
    "SandlotError",
    "TaskFileError",
    "ToolDefinitionError",
    "ToolError",
    "TraceFileError",
    "UnknownEnvironmentError",
    "UnknownNameError",
    "UserError",
    "ViewerError",
    "WriterError",
]


class SandlotError(Exception):
    """The base of every exception sandlot raises."""


class UserError(SandlotError, ValueError):
    """Bad input; the message says what was wrong, where, and what to do."""


class RunError(SandlotError, RuntimeError):
    """Something a run depends on failed; the message says what."""


# --- User errors: bad input. The message says what was wrong, where, and what to do.


class TaskFileError(UserError):
    """A task file is invalid; the message lists every problem found in it.

    Attributes:
        path: The file (or directory) at fault.
        task_id: The id of the task of the first problem, when it has one.
        field: The field path of the first problem (e.g. ``checklist[2].check.type``).
        problems: Every problem, each naming its task and field.
        errors: One TaskFileError per bad file (``[self]`` for a single file).
    """

    def __init__(
        self,
        path: str | Path,
        problems: list[str],
        *,
        task_id: str | None = None,
        field: str | None = None,
    ) -> None:
        self.path = str(path)
        self.task_id = task_id
        self.field = field
        self.problems = list(problems)
        self.errors: list[TaskFileError] = [self]
        count = f"{len(self.problems)} problem" + ("s" if len(self.problems) != 1 else "")
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"{self.path}: {count}:\n{lines}")

    @classmethod
    def combine(cls, errors: Sequence[TaskFileError]) -> TaskFileError:
        """One error for several bad files: the first file's attributes, every file's
        problems (each prefixed with its file) and message, and ``errors`` listing them."""
        if len(errors) == 1:
            return errors[0]
        first = errors[0]
        combined = cls(
            first.path,
            [f"{e.path}: {p}" for e in errors for p in e.problems],
            task_id=first.task_id,
            field=first.field,
        )
        combined.errors = list(errors)
        combined.args = (
            f"{len(errors)} task files have problems:\n" + "\n".join(str(e) for e in errors),
        )
        return combined


class TraceFileError(UserError):
    """The file is missing (where one must exist), not SQLite, or not a sandlot trace;
    the message says which and what to give instead."""


class UnknownEnvironmentError(UserError, KeyError):
    def __init__(self, name: str, known: list[str]) -> None:
        self.name = name
        super().__init__(
            f"unknown environment {name!r}; known environments: {', '.join(known) or '(none)'}"
        )

    def __str__(self) -> str:  # KeyError quotes its message otherwise
        return str(self.args[0])


class ToolDefinitionError(UserError, TypeError):
    """A function cannot become a tool. ``problems`` lists every problem found."""

    def __init__(self, func_name: str, problems: list[str]) -> None:
        self.func_name = func_name
        self.problems = list(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(f"cannot make a tool of {func_name!r}:\n{lines}")


class ReplayError(UserError, LookupError):
    """The episode cannot be replayed (unknown id, or its task is not in the trace)."""


class ForkError(UserError, LookupError):
    """The episode cannot be forked as asked (unknown id, a step out of range, no
    recorded model outputs, its task not in the trace)."""


class ForkMismatchError(RunError):
    """Restoring a fork's world gave a tool result other than the recorded one; the
    message says which call and how it differed."""


class ResumeError(UserError):
    """The trace has nothing that can be resumed (no run, or a run from another version)."""


class ExtensionLoadError(UserError):
    """A registered name's target could not be imported, or is not what the extension
    point takes; the message names the entry point and its distribution."""


class UnknownNameError(UserError, KeyError):
    """No extension of that kind has the name; the message lists the known names."""

    def __init__(self, kind: str, name: str, known: list[str]) -> None:
        self.kind = kind
        self.name = name
        super().__init__(f"unknown {kind} {name!r}; known: {', '.join(known) or '(none)'}")

    def __str__(self) -> str:  # KeyError quotes its message otherwise
        return str(self.args[0])


class ViewerError(UserError):
    """A request the viewer cannot answer as asked (a bad parameter); the message says
    which parameter and what it accepts."""


class OtlpExportError(UserError):
    """An OTLP receiver did not take the spans (unreachable, refused, or an error reply)."""


# --- Run errors: something a run depends on failed.


class ModelError(RunError):
    """The model could not answer (after retries), or answered something unusable."""


class SandboxError(RunError):
    """The sandbox itself failed (not the command run inside it)."""


class ImageBuildError(RunError):
    """The image could not be built; the message says which step failed and why."""


class WriterError(RunError):
    """Writing the trace failed; the message says what and how much was not written."""


# --- Not failures of sandlot: a tool's refusal (the model reads it) or its end of the
# episode.


class ToolError(SandlotError):
    """Raised by a tool to refuse or fail; the message goes back to the model as data.

    Business-rule refusals ("order 1001 is already shipped and cannot be cancelled")
    are ToolErrors: the model reads them and may act on them. They never end an episode.
    """


class EndEpisode(SandlotError):
    """Raised by a tool to end the episode with this call (a transfer to a human agent).

    Not a failure: the call succeeds and its result is the message (``str(exc)``). The
    agent makes no further model call, the tool calls after it in the same reply are
    answered, not run, and the episode ends with end reason ``tool_ended``: it ended by
    itself, so its checklist decides passed or failed. See ``sandlot.tools.end``.
    """
