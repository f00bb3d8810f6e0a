"""Writing generated tasks as a task file: the same tasks give the same text."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import yaml

__all__ = ["task_file_text", "write_task_file"]


def task_file_text(environment: str, header: str, tasks: list[dict[str, Any]]) -> str:
    """A YAML task file: ``header`` as comment lines, then ``environment`` and ``tasks``
    (plain data, in the order given; keys keep their order)."""
    comment = "".join(f"# {line}".rstrip() + "\n" for line in header.splitlines())
    body = yaml.safe_dump(
        {"environment": environment, "tasks": tasks},
        sort_keys=False,
        allow_unicode=True,
        width=100,
        default_flow_style=None,
    )
    return comment + body


def write_task_file(text: str, out: Path | None) -> None:
    """Write a generated task file to ``out`` (its folder made if needed), or to
    standard output when ``out`` is None."""
    if out is None:
        sys.stdout.write(text)
        return
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text)
