"""The viewer's search syntax: free text plus ``tool:``, ``args:`` and ``failed:`` terms.

``tool:refund_order args:1001 failed:refund-made sorry`` finds the tool calls of
``refund_order`` whose arguments contain ``1001``, in episodes whose required or optional
check ``refund-made`` failed, whose payload or name contains ``sorry``. A term's value
may be quoted (``args:"order 1001"``); a term with an empty value is plain text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = ["SEARCH_FIELDS", "SearchQuery", "parse_search"]

SEARCH_FIELDS = ("tool", "args", "failed")
_TERM = re.compile(r'\b(tool|args|failed):(?:"([^"]*)"|(\S+))')


@dataclass(frozen=True)
class SearchQuery:
    """A parsed search: the free ``text`` and each field's value (None: not given)."""

    text: str = ""
    tool: str | None = None
    args: str | None = None
    failed: str | None = None

    @property
    def empty(self) -> bool:
        """Nothing to search for."""
        return not self.text and not self.tool and not self.args and not self.failed

    @property
    def events(self) -> bool:
        """Whether the search matches events (else it lists episodes: ``failed:`` alone)."""
        return bool(self.text or self.tool or self.args)


def parse_search(query: str, **fields: str | None) -> SearchQuery:
    """Split ``query`` into its free text and its ``field:value`` terms; a field given as
    a keyword (a form field) wins over the same term in the text. The last of repeated
    terms counts."""
    found: dict[str, str] = {}

    def take(m: re.Match[str]) -> str:
        value = m.group(2) if m.group(2) is not None else m.group(3)
        if value:
            found[m.group(1)] = value
        return " "

    text, terms = _TERM.subn(take, query)
    text = text.strip() if terms else query  # plain text is searched as typed
    for name, value in fields.items():
        if name not in SEARCH_FIELDS:
            raise TypeError(f"unknown search field {name!r}")
        if value:
            found[name] = value
    return SearchQuery(text=text if text.strip() else "", **found)
