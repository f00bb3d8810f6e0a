"""Exporting one episode as a standalone HTML file that opens with no server (file://).

The file is the viewer's own page (static/index.html) with its stylesheet and scripts
inlined and the episode embedded as JSON in ``<script type="application/json"
id="data">``; static/embedded.js answers the page's API calls from it. The JSON is
escaped so that nothing in a payload can end its script element, and a
Content-Security-Policy meta tag lets only the inlined script and style run (by hash).

What the trace holds was redacted when it was written; the export redacts it again
(known values only, in all their forms: the environment's keys and any secrets given),
so that a trace written before a form was covered, or written raw, is not mailed with a
key in it.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sandlot.traces.redact import Redactor
from sandlot.traces.viewer.api import ViewerAPI
from sandlot.traces.viewer.server import STATIC
from sandlot.traces.viewer.summaries import cut_long_strings, dumps_for_page

__all__ = ["EXPORT_STRING_LIMIT", "build_episode_html", "embed_json", "export_episode_html"]

EXPORT_STRING_LIMIT = 200_000  # characters of one string value kept in an export

_SCRIPT_TAG = re.compile(r'<script src="/static/([\w.-]+\.js)"></script>\n?')
_STYLE_TAG = re.compile(r'<link rel="stylesheet" href="/static/([\w.-]+\.css)">')
# JSON-safe replacements that keep a payload from closing or commenting out the element,
# and from containing characters that older JavaScript engines read as line ends.
_EMBED_ESCAPES = {
    "<": "\\u003c",
    ">": "\\u003e",
    "&": "\\u0026",
    "\u2028": "\\u2028",
    "\u2029": "\\u2029",
}


def embed_json(data: Any) -> str:
    """JSON text that is safe inside a ``<script type="application/json">`` element
    (and always encodable: see :func:`dumps_for_page`)."""
    text = dumps_for_page(data)
    return re.sub("[<>&\u2028\u2029]", lambda m: _EMBED_ESCAPES[m.group()], text)


def _compact(value: Any) -> Any:
    """Conversation turns without their empty fields (None, ``cut`` 0), which the page
    reads as absent anyway (a smaller file)."""
    if isinstance(value, list):
        return [_compact(v) for v in value]
    if isinstance(value, dict):
        return {k: _compact(v) for k, v in value.items() if v is not None and (k != "cut" or v)}
    return value


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


def build_episode_html(api: ViewerAPI, episode_id: str, redactor: Redactor | None = None) -> str:
    """The standalone page for one episode, with the known secrets of ``redactor`` (by
    default: the environment's keys) replaced.

    Raises:
        LookupError: no episode ``episode_id`` in the trace.
    """
    episode = api.episode(episode_id)
    if episode is None:
        raise LookupError(f"no episode {episode_id!r} in {api.path}; list them with `sandlot view`")
    events, payloads = [], {}
    for row, payload in api.iter_events(episode_id):
        events.append(row)
        # A file meant to be opened and mailed: one huge tool output is kept to its
        # first EXPORT_STRING_LIMIT characters (the trace file holds all of it).
        payloads[str(row["seq"])] = cut_long_strings(payload, EXPORT_STRING_LIMIT)[0]
    data = {
        "episode": episode,
        "events": events,
        "payloads": payloads,
        "steps": api.steps(episode_id),
        # the Conversation tab's turns, all of them: the page shows them a page at a time
        "conversation": _compact((api.conversation(episode_id, limit=None) or {}).get("turns")),
        # each message once; the page resolves a model call's message_refs from these
        "messages": {
            n: cut_long_strings(m, EXPORT_STRING_LIMIT)[0]
            for n, m in api.messages(episode_id).items()
        },
    }
    redactor = redactor if redactor is not None else Redactor()
    embedded = embed_json(data)
    if redactor.finds(embedded):
        data = redactor.strings(data)
        embedded = embed_json(data)
        episode = data["episode"]

    page = (STATIC / "index.html").read_text(encoding="utf-8")
    scripts = _SCRIPT_TAG.findall(page)
    js = "\n".join((STATIC / name).read_text(encoding="utf-8") for name in scripts)
    css = "\n".join(
        (STATIC / name).read_text(encoding="utf-8") for name in _STYLE_TAG.findall(page)
    )
    if "<script" in js.lower() or "</script" in js.lower() or "<!--" in js:
        # Any of these inside an inline script can change how the HTML parser ends it.
        raise ValueError("the viewer's scripts must not contain '<script', '</script' or '<!--'")
    csp = (
        f"default-src 'none'; script-src {_sha256(js)}; style-src {_sha256(css)}; "
        "img-src data:; base-uri 'none'; form-action 'none'"
    )
    head = f'<meta http-equiv="Content-Security-Policy" content="{csp}">\n'
    title = f"sandlot episode {episode_id} · {episode.get('task_id') or ''}"
    page = page.replace("<title>sandlot traces</title>", f"<title>{html.escape(title)}</title>")
    page = page.replace('<meta charset="utf-8">\n', '<meta charset="utf-8">\n' + head, 1)
    page = _STYLE_TAG.sub(lambda _: f"<style>{css}</style>", page, count=1)
    page = _STYLE_TAG.sub("", page)
    first = True

    def inline(_: re.Match[str]) -> str:
        nonlocal first
        if not first:
            return ""
        first = False
        return (
            f'<script type="application/json" id="data">{embedded}</script>\n'
            f"<script>{js}</script>\n"
        )

    return _SCRIPT_TAG.sub(inline, page)


def export_episode_html(
    db_path: str | Path,
    episode_id: str,
    out_path: str | Path,
    *,
    secrets: Iterable[str] = (),
) -> Path:
    """Write episode ``episode_id`` of trace ``db_path`` to ``out_path`` as one HTML file,
    with ``secrets`` and the environment's keys redacted.

    Returns:
        The path written.

    Raises:
        TraceFileError: ``db_path`` is missing or not a trace file.
        LookupError: no such episode.
    """
    api = ViewerAPI(db_path)
    try:
        text = build_episode_html(api, episode_id, Redactor(secrets))
    finally:
        api.close()
    out = Path(out_path)
    out.write_text(text, encoding="utf-8")
    return out
