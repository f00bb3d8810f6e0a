"""`sandlot view`: a local, read-only web viewer for a trace file (stdlib HTTP server).

The page is static (``static/``); its data comes from ``/api/...`` as JSON. The server
only answers GET, sends a strict Content-Security-Policy with every response, binds
127.0.0.1 unless told otherwise and, while bound to loopback, answers only requests
addressed to a loopback name: a web page elsewhere cannot reach the traces by pointing
its own domain at 127.0.0.1 (DNS rebinding).

Under load it stays bounded (``serving.py``): a fixed pool of worker threads answers
complete requests, connections that send nothing or part of a request cost no thread
and are closed after ``idle_timeout`` seconds, and open connections are capped.
"""

from __future__ import annotations

import re
import socket
import sys
import threading
import traceback
from http import HTTPStatus
from ipaddress import ip_address
from pathlib import Path
from typing import Any, TypedDict
from urllib.parse import parse_qs, unquote, urlsplit

from sandlot.traces.viewer.api import ViewerAPI, ViewerError
from sandlot.traces.viewer.serving import BoundedHTTPServer, HeadRequestHandler
from sandlot.traces.viewer.summaries import dumps_for_page

__all__ = ["SECURITY_HEADERS", "STATIC", "ViewerServer", "route", "serve"]

STATIC = Path(__file__).parent / "static"
_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
}
SECURITY_HEADERS = {
    # Trace content is data: no inline script or style, nothing from elsewhere, no framing.
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}
_LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def _one(q: dict[str, list[str]], key: str, default: str | None = None) -> str | None:
    values = q.get(key)
    return values[0] if values else default


_INTEGER = re.compile(r"-?[0-9]{1,18}")  # what SQLite's 64-bit integers surely hold


def _integer(value: str, what: str) -> int:
    """A decimal integer SQLite can take; ``1_0``, other digits or 10**20 are a 400."""
    if not _INTEGER.fullmatch(value):
        raise ViewerError(f"{what} must be an integer of at most 18 digits, got {value[:40]!r}")
    return int(value)


def _int(q: dict[str, list[str]], key: str, default: int) -> int:
    value = _one(q, key)
    if value in (None, ""):
        return default
    return _integer(value, f"parameter {key!r}")


def _kinds(q: dict[str, list[str]]) -> list[str] | None:
    value = _one(q, "kinds")
    return [k for k in value.split(",") if k] if value else None


class _Filters(TypedDict):
    task: str | None
    status: str | None
    model: str | None
    success: str | None
    outcome: str | None


def _filters(q: dict[str, list[str]]) -> _Filters:
    """The run page's episode filters in a query string."""
    return _Filters(
        task=_one(q, "task"),
        status=_one(q, "status"),
        model=_one(q, "model"),
        success=_one(q, "success"),
        outcome=_one(q, "outcome"),
    )


def route(api: ViewerAPI, path: str, q: dict[str, list[str]]) -> Any:
    """Answer ``GET /api/...``: the data, or None when the thing asked for is missing.

    Raises:
        KeyError: no such endpoint.
        ViewerError: a bad parameter.
    """
    parts = [unquote(p) for p in path.split("/") if p][1:]  # drop "api"
    match parts:
        case ["runs"]:
            return api.runs()
        case ["runs", run_id]:
            return api.run(run_id)
        case ["runs", run_id, "episodes"]:
            return api.episodes(
                run_id,
                **_filters(q),
                sort=_one(q, "sort") or "started",
                desc=_one(q, "desc") == "1",
                limit=_int(q, "limit", 100),
                offset=_int(q, "offset", 0),
            )
        case ["runs", run_a, "compare", run_b]:
            return api.compare_runs(run_a, run_b)
        case ["trace-b"]:
            return api.trace_b()
        case ["runs", run_id, "stats"]:
            return api.stats(run_id, **_filters(q))
        case ["runs", run_id, "next-failed"]:
            return api.next_failed(run_id, _one(q, "after") or None)
        case ["episodes", episode_id]:
            return api.episode(episode_id)
        case ["episodes", episode_id, "events"]:
            return api.events(
                episode_id,
                offset=_int(q, "offset", 0),
                limit=_int(q, "limit", 200),
                kinds=_kinds(q),
            )
        case ["episodes", episode_id, "events", seq]:
            number = _integer(seq, "an event's seq")
            return api.event(episode_id, number, full=_one(q, "full") == "1")
        case ["episodes", episode_id, "position"]:
            index = api.position(episode_id, _int(q, "seq", 0), kinds=_kinds(q))
            return {"index": index}
        case ["episodes", episode_id, "children"]:
            parent = _one(q, "parent")
            return api.children(
                episode_id,
                None if parent in (None, "", "root") else _int(q, "parent", 0),
                offset=_int(q, "offset", 0),
                limit=_int(q, "limit", 200),
            )
        case ["episodes", episode_id, "next-failed"]:
            return api.next_failed(None, episode_id)
        case ["episodes", episode_id, "next-error"]:
            return api.next_error(episode_id, _int(q, "after", -1), kinds=_kinds(q))
        case ["episodes", episode_id, "conversation"]:
            return api.conversation(
                episode_id, offset=_int(q, "offset", 0), limit=_int(q, "limit", 100)
            )
        case ["episodes", episode_id, "steps"]:
            return api.steps(episode_id)
        case ["compare", a, b]:
            return api.compare(a, b)
        case ["search"]:
            return api.search(
                _one(q, "q", "") or "",
                run_id=_one(q, "run"),
                kind=_one(q, "kind"),
                limit=_int(q, "limit", 50),
                tool=_one(q, "tool"),
                args=_one(q, "args"),
                failed=_one(q, "failed"),
            )
    raise KeyError(path)


class _Handler(HeadRequestHandler):
    api: ViewerAPI
    check_host: bool
    server_version = "sandlot-viewer"
    sys_version = ""
    # Keep-alive: the page's scripts and API calls reuse a few connections instead of
    # opening one per request (every response carries its Content-Length).
    protocol_version = "HTTP/1.1"

    def _send(self, status: int, body: bytes, content_type: str, **headers: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in {**SECURITY_HEADERS, **headers}.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: Any, **headers: str) -> None:
        body = dumps_for_page(data).encode()  # never fails on deep or unencodable text
        self._send(status, body, "application/json; charset=utf-8", **headers)

    def _host_ok(self) -> bool:
        if not self.check_host:
            return True
        header = self.headers.get("Host")
        if not header:
            return True  # not a browser (they always send Host), so not a rebinding page
        return (urlsplit("//" + header).hostname or "") in _LOOPBACK_NAMES

    def do_GET(self) -> None:  # noqa: N802 - the stdlib's naming
        if not self._host_ok():
            return self._json(
                HTTPStatus.FORBIDDEN,
                {
                    "error": f"this viewer answers only to localhost, not to Host "
                    f"{self.headers.get('Host')!r}; open it as http://127.0.0.1:<port>/"
                },
            )
        url = urlsplit(self.path)
        if url.path.startswith("/api/"):
            return self._api(url.path, parse_qs(url.query))
        name = "index.html" if url.path in ("/", "/index.html") else url.path
        name = name.removeprefix("/static/")
        file = (STATIC / name).resolve()
        if file.parent != STATIC.resolve() or not file.is_file():
            return self._send(404, b"not found", "text/plain; charset=utf-8")
        self._send(200, file.read_bytes(), _TYPES.get(file.suffix, "application/octet-stream"))

    def _api(self, path: str, query: dict[str, list[str]]) -> None:
        try:
            data = route(self.api, path, query)
        except KeyError:
            return self._json(404, {"error": f"no such endpoint: {path}"})
        except ViewerError as exc:
            return self._json(400, {"error": str(exc)})
        except Exception as exc:  # a bug or a broken file: say so, keep serving
            traceback.print_exc(file=sys.stderr)
            return self._json(500, {"error": f"{type(exc).__name__}: {exc}"})
        if data is None:
            return self._json(404, {"error": f"not found: {path}"})
        self._json(200, data)

    def _refuse(self) -> None:
        # The request's body is never read, so the connection must not carry another.
        self.close_connection = True
        self._json(
            HTTPStatus.METHOD_NOT_ALLOWED,
            {"error": f"the viewer is read-only: {self.command} is not allowed, only GET"},
            Allow="GET",
            Connection="close",
        )

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _refuse  # noqa: N815
    do_TRACE = do_CONNECT = _refuse  # noqa: N815

    def __getattr__(self, name: str) -> Any:
        # Any other method (PROPFIND, made-up verbs) is refused the same way, not 501.
        if name.startswith("do_"):
            return self._refuse
        raise AttributeError(name)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        pass  # quiet; the viewer is a local tool


def _is_loopback(host: str) -> bool:
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class ViewerServer:
    """A viewer on ``host:port`` (port 0 picks a free one) over trace file ``db``.

    Use as a context manager, or ``start()`` / ``stop()``; ``serve`` runs one in the
    foreground. ``workers`` threads answer requests; a connection that has not sent a
    whole request within ``idle_timeout`` seconds (or idles that long between requests)
    is closed; at most ``max_connections`` are open at once. ``compare_with`` is a second
    trace file whose runs the runs-compare page sets against ``db``'s (read-only too).

    Raises:
        TraceFileError: ``db`` (or ``compare_with``) is missing or not a trace file.
        OSError: the address cannot be bound (e.g. the port is taken).
    """

    def __init__(
        self,
        db: str | Path,
        host: str = "127.0.0.1",
        port: int = 8321,
        *,
        workers: int = 8,
        idle_timeout: float = 10.0,
        max_connections: int = 512,
        compare_with: str | Path | None = None,
    ) -> None:
        self.api = ViewerAPI(db, compare_with=compare_with)
        attrs = {"api": self.api, "check_host": _is_loopback(host)}
        handler = type("Handler", (_Handler,), attrs)
        try:
            self.httpd = BoundedHTTPServer(
                (host, port),
                handler,
                family=socket.AF_INET6 if ":" in host else socket.AF_INET,
                workers=workers,
                idle_timeout=idle_timeout,
                max_connections=max_connections,
            )
        except BaseException:
            self.api.close()
            raise
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        address = self.httpd.server_address
        host, port = str(address[0]), address[1]
        return f"http://[{host}]:{port}/" if ":" in str(host) else f"http://{host}:{port}/"

    def start(self) -> ViewerServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.api.close()

    def __enter__(self) -> ViewerServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def serve(
    db: str | Path,
    host: str = "127.0.0.1",
    port: int = 8321,
    *,
    open_browser: bool = False,
    compare_with: str | Path | None = None,
) -> None:
    """Serve the viewer for ``db`` in the foreground until Ctrl-C; ``compare_with``: a
    second trace file whose runs can be compared with ``db``'s."""
    server = ViewerServer(db, host, port, compare_with=compare_with)
    also = f", runs compared with {compare_with}" if compare_with is not None else ""
    print(f"sandlot viewer on {server.url} (read-only: {db}{also}); Ctrl-C stops it", flush=True)
    if not _is_loopback(host):
        print(f"warning: bound to {host}: anyone who can reach it can read the traces", flush=True)
    if open_browser:
        import webbrowser

        webbrowser.open(server.url)
    try:
        server.httpd.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()
        server.api.close()
