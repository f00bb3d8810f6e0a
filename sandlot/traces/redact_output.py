"""Keeping secrets off the terminal: stdout and stderr written through a Redactor.

The command line prints what episodes did (an episode's error, log warnings, a
traceback); any of it may quote the model's key (an endpoint that echoes the
Authorization header in its error). :func:`redact_process_output` makes every later
write to ``sys.stdout`` and ``sys.stderr`` — print, rich, logging's default handler,
warnings, an uncaught exception's traceback — go through the run's redactor first.
Each write is redacted whole: a secret split across two writes is not found.
"""

from __future__ import annotations

import sys
from typing import Any, TextIO

from sandlot.traces.redact import Redactor

__all__ = ["RedactingStream", "redact_process_output"]


class RedactingStream:
    """A text stream that writes to ``stream`` with ``redactor``'s secrets replaced;
    everything else (``isatty``, ``fileno``, ``encoding``, ``flush``) is the stream's."""

    def __init__(self, stream: TextIO, redactor: Redactor) -> None:
        self.stream = stream
        self.redactor = redactor

    def write(self, text: Any) -> int:
        if isinstance(text, str):
            self.stream.write(self.redactor.text(text))
            return len(text)
        return self.stream.write(text)  # as the stream itself answers it (bytes: TypeError)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def redact_process_output(redactor: Redactor) -> None:
    """From now on, write ``sys.stdout`` and ``sys.stderr`` through ``redactor`` (for the
    rest of a command's process: whatever replaced the streams, such as a test runner
    capturing them, puts its own back when it is done)."""
    sys.stdout = RedactingStream(sys.stdout, redactor)  # type: ignore[assignment]
    sys.stderr = RedactingStream(sys.stderr, redactor)  # type: ignore[assignment]
