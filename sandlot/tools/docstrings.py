"""Reading Google-style docstrings: the description and the per-parameter docs."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

__all__ = ["ParsedDocstring", "parse_docstring"]

# Sections that end the description. Others ("Example:", "Note:") before them stay in
# it: they help the model.
_SECTION = re.compile(
    r"^(Args|Arguments|Parameters|Params|Keyword Args|Keyword Arguments|Other Parameters"
    r"|Returns|Return|Raises|Yields|Yield|Attributes)\s*:\s*$"
)
_PARAM_SECTIONS = {
    "Args",
    "Arguments",
    "Parameters",
    "Params",
    "Keyword Args",
    "Keyword Arguments",
    "Other Parameters",
}
_ARG = re.compile(r"^(\*{0,2}\w+)\s*(?:\(([^)]*)\))?\s*:\s*(.*)$")


@dataclass
class ParsedDocstring:
    """A docstring's description and its parameters' descriptions, by name."""

    description: str = ""
    params: dict[str, str] = field(default_factory=dict)


def parse_docstring(doc: str | None) -> ParsedDocstring:
    """Split a Google-style docstring into its description and ``Args:`` entries.

    The description is the text before the first section (Args:, Returns:, Raises:,
    Yields: ...); an "Example:" or "Note:" section before those stays in it. An Args entry
    (``name: text`` or ``name (type): text``) may continue on more-indented lines.
    """
    text = inspect.cleandoc(doc or "")
    if not text:
        return ParsedDocstring()
    description: list[str] = []
    params: dict[str, str] = {}
    section: str | None = None
    current: str | None = None
    entry_indent = 0
    for line in text.splitlines():
        stripped = line.strip()
        ends = section is not None and stripped and not line[0].isspace()
        if ends or (section is None and _SECTION.match(line)):
            # An unindented line ends the section it follows: a new section's header, or
            # text after the sections (which belongs to neither).
            header = _SECTION.match(stripped)
            section = header.group(1) if header else "other"
            current = None
            continue
        if section is None:
            description.append(line)
            continue
        if section not in _PARAM_SECTIONS or not stripped:
            continue
        indent = len(line) - len(line.lstrip())
        match = _ARG.match(stripped)
        if match and (current is None or indent <= entry_indent):
            current = match.group(1).lstrip("*")
            entry_indent = indent
            params[current] = match.group(3).strip()
        elif current is not None:
            params[current] = f"{params[current]} {stripped}".strip()
    return ParsedDocstring("\n".join(description).strip(), params)
