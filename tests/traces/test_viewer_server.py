"""The viewer's HTTP server: GET only, security headers on every answer, loopback by
default, Host checked against DNS rebinding, clear errors for bad requests."""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import json
import select
import socket
import threading
import urllib.error
import urllib.request

import pytest

from sandlot.traces.viewer.api import ViewerError
from sandlot.traces.viewer.server import ViewerServer
from tests.traces.conftest import in_a_thread


@pytest.fixture(scope="module")
def server(shared_viewer_db):
    with ViewerServer(shared_viewer_db, port=0) as srv:
        yield srv


def _request(server, method: str, path: str, headers: dict | None = None):
    host, port = server.httpd.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request(method, path, headers=headers or {})
    response = conn.getresponse()
    body = response.read()
    conn.close()
    return response.status, {k.lower(): v for k, v in response.getheaders()}, body


def test_binds_loopback_by_default(server):
    assert server.httpd.server_address[0] == "127.0.0.1"
    assert server.url.startswith("http://127.0.0.1:")


@pytest.mark.parametrize("path", ["/", "/static/core.js", "/static/style.css", "/api/runs"])
def test_every_answer_carries_a_strict_csp_and_nosniff(server, path):
    status, headers, _ = _request(server, "GET", path)
    assert status == 200
    csp = headers["content-security-policy"]
    assert "script-src 'self'" in csp and "default-src 'none'" in csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["x-frame-options"] == "DENY"


def test_static_files_have_their_types(server):
    assert _request(server, "GET", "/static/core.js")[1]["content-type"].startswith(
        "text/javascript"
    )
    assert _request(server, "GET", "/")[1]["content-type"].startswith("text/html")
    assert _request(server, "GET", "/api/runs")[1]["content-type"].startswith("application/json")


@pytest.mark.parametrize(
    "method", ["POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "PROPFIND"]
)
def test_every_method_but_get_is_refused_with_405(server, method):
    status, headers, _ = _request(server, method, "/api/runs")
    assert status == 405 and headers["allow"] == "GET"


def test_files_outside_static_are_not_served(server):
    for path in [
        "/static/../api.py",
        "/static/..%2fapi.py",
        "/../../etc/passwd",
        "/static/nope.js",
    ]:
        assert _request(server, "GET", path)[0] == 404


def test_a_foreign_host_header_is_refused(server):
    status, _, body = _request(server, "GET", "/api/runs", {"Host": "evil.example:8321"})
    assert status == 403 and "answers only to localhost" in json.loads(body)["error"]
    assert _request(server, "GET", "/api/runs", {"Host": "localhost:1"})[0] == 200


def test_api_routes_answer_json(server):
    status, _, body = _request(server, "GET", "/api/runs/run-1/episodes?sort=score&desc=1&limit=2")
    data = json.loads(body)
    assert (
        status == 200 and data["total"] == 3 and [r["id"] for r in data["rows"]] == ["ep-a", "ep-b"]
    )
    assert (
        json.loads(_request(server, "GET", "/api/episodes/ep-a/events/8")[2])["name"] == "get_order"
    )
    kids = json.loads(_request(server, "GET", "/api/episodes/ep-a/children?parent=root")[2])
    assert [r["seq"] for r in kids["rows"]] == [0]
    pos = json.loads(
        _request(server, "GET", "/api/episodes/ep-a/position?seq=11&kinds=tool_call")[2]
    )
    assert pos == {"index": 1}
    hits = json.loads(_request(server, "GET", "/api/search?q=shipped")[2])
    assert hits["rows"][0]["episode_id"] == "ep-b"
    assert json.loads(_request(server, "GET", "/api/compare/ep-a/ep-b")[2])["first_difference"] == 2


def test_ids_in_paths_are_url_decoded(server):
    status, _, body = _request(server, "GET", "/api/episodes/ep%2Da")
    assert status == 200 and json.loads(body)["id"] == "ep-a"


def test_bad_requests_say_what_was_wrong(server):
    status, _, body = _request(server, "GET", "/api/episodes/ep-a/events?offset=abc")
    assert status == 400 and "'offset' must be an integer" in json.loads(body)["error"]
    status, _, body = _request(server, "GET", "/api/runs/run-1/episodes?sort=nope")
    assert status == 400 and "cannot sort episodes by 'nope'" in json.loads(body)["error"]
    assert _request(server, "GET", "/api/episodes/nope")[0] == 404
    assert _request(server, "GET", "/api/no/such/endpoint")[0] == 404


@pytest.mark.parametrize(
    "path",
    [
        "/api/runs/run-1/episodes?offset=99999999999999999999",
        "/api/episodes/ep-a/events?offset=99999999999999999999",
        "/api/episodes/ep-a/events/99999999999999999999",
        "/api/episodes/ep-a/events/1_0",
        "/api/episodes/ep-a/position?seq=99999999999999999999",
        "/api/episodes/ep-a/children?parent=99999999999999999999",
    ],
)
def test_integers_sqlite_cannot_hold_are_a_bad_request_not_a_crash(server, path):
    status, _, body = _request(server, "GET", path)
    assert status == 400 and "must be an integer of at most 18 digits" in json.loads(body)["error"]


def test_two_servers_on_one_port_fail_clearly(server, shared_viewer_db):
    with pytest.raises(OSError):
        ViewerServer(shared_viewer_db, port=server.httpd.server_address[1])


def test_urllib_round_trip_like_a_browser(server):
    with urllib.request.urlopen(server.url + "api/runs") as r:
        assert {x["id"] for x in json.loads(r.read())} == {"run-1", "run-2"}
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(urllib.request.Request(server.url + "api/runs", data=b"{}"))
    assert err.value.code == 405


def test_a_refused_request_body_never_leaks_into_the_next_request(server):
    host, port = server.httpd.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    conn.request("POST", "/api/runs", body=b'{"x": 1}')
    refused = conn.getresponse()
    refused.read()
    conn.request("GET", "/api/runs")  # the same client; a kept-alive socket would see '{"x"'
    answer = conn.getresponse()
    assert (refused.status, answer.status) == (405, 200)
    assert {r["id"] for r in json.loads(answer.read())} == {"run-1", "run-2"}
    conn.close()


def test_static_files_and_api_calls_share_a_kept_alive_connection(server):
    host, port = server.httpd.server_address[:2]
    conn = http.client.HTTPConnection(host, port, timeout=10)
    for path in ("/", "/static/core.js", "/api/runs"):
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        assert response.status == 200 and response.getheader("Connection") != "close"
    assert conn.sock is not None  # still the first socket
    conn.close()


# --- under load: bounded threads, idle connections dropped, bounded queries ----------

HANG_GUARD = 60.0  # seconds: a request that takes this long hangs; not a timing assertion


def _open_half_open(address, count: int) -> list[socket.socket]:
    """``count`` connections that never finish a request: half say nothing, half send
    part of a request line."""
    held = []
    for i in range(count):
        sock = socket.create_connection(address[:2], timeout=HANG_GUARD)
        if i % 2:
            sock.sendall(b"GET /api/ru")
        held.append(sock)
    return held


async def _get_all(address, path: str, count: int) -> list[int]:
    """``count`` GETs of ``path`` at once, each on its own connection; their statuses."""

    async def one() -> int:
        reader, writer = await asyncio.open_connection(*address[:2])
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode()
        )
        status = int((await reader.readline()).split()[1])
        await reader.read()  # the rest, up to the server's close
        writer.close()
        return status

    return await asyncio.gather(*(asyncio.wait_for(one(), HANG_GUARD) for _ in range(count)))


def test_half_open_connections_hold_no_thread_and_real_requests_still_get_answers(
    shared_viewer_db,
):
    with ViewerServer(shared_viewer_db, port=0) as srv:
        address = srv.httpd.server_address
        before = threading.active_count()
        held = _open_half_open(address, 300)
        try:
            # Answered after every held connection was accepted (the listener is FIFO).
            assert _request(srv, "GET", "/api/runs")[0] == 200
            with_held = threading.active_count()
            statuses = in_a_thread(_get_all(address, "/api/runs", 100))
            after = threading.active_count()
        finally:
            for sock in held:
                sock.close()
    assert statuses == [200] * 100
    bound = before + srv.httpd.workers + 1
    assert with_held <= bound and after <= bound, (before, with_held, after)


def _read_until_closed(sock: socket.socket) -> bytes:
    """What the server sends until it closes the connection (HANG_GUARD per read)."""
    sock.settimeout(HANG_GUARD)
    data = b""
    while chunk := sock.recv(65536):
        data += chunk
    return data


def test_idle_and_half_open_connections_are_closed_after_the_idle_timeout(shared_viewer_db):
    with ViewerServer(shared_viewer_db, port=0, idle_timeout=0.5) as srv:
        address = srv.httpd.server_address
        silent, partial = _open_half_open(address, 2)
        kept = socket.create_connection(address[:2], timeout=HANG_GUARD)
        kept.sendall(b"GET /api/runs HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")  # keep-alive
        # A client that dribbles its head out, a header at a time, does not reset the clock.
        slow = socket.create_connection(address[:2], timeout=HANG_GUARD)
        slow.sendall(b"GET /api/runs HTTP/1.1\r\n")
        try:
            assert _read_until_closed(silent) == b"" and _read_until_closed(partial) == b""
            assert _read_until_closed(kept).startswith(b"HTTP/1.1 200")
            closed_while_sending = False
            for _ in range(600):  # a header every 0.1 s, for at most HANG_GUARD
                if select.select([slow], [], [], 0.1)[0]:  # readable: closed
                    closed_while_sending = True
                    break
                with contextlib.suppress(OSError):
                    slow.sendall(b"X-Slow: 1\r\n")
            assert closed_while_sending and _read_until_closed(slow) == b""
        finally:
            for sock in (silent, partial, kept, slow):
                sock.close()


def test_a_connection_over_the_open_connections_cap_is_closed_at_once(shared_viewer_db):
    # The idle timeout is far beyond HANG_GUARD: only the cap can close the extra one.
    with ViewerServer(shared_viewer_db, port=0, max_connections=3, idle_timeout=600) as srv:
        address = srv.httpd.server_address
        held = _open_half_open(address, 3)
        extra = socket.create_connection(address[:2], timeout=HANG_GUARD)
        try:
            with contextlib.suppress(ConnectionResetError):  # an end of stream, or a reset
                assert _read_until_closed(extra) == b""
            held.pop().close()  # one place free again: a request is answered once it is
            for _ in range(1000):
                try:
                    if _request(srv, "GET", "/api/runs")[0] == 200:
                        break
                except (ConnectionError, http.client.HTTPException):
                    continue  # the server has not yet seen that close
            else:
                raise AssertionError("no request was answered after a place was freed")
        finally:
            for sock in (*held, extra):
                sock.close()


def test_requests_on_one_connection_and_pipelined_requests_are_answered_in_order(server):
    host, port = server.httpd.server_address[:2]
    with socket.create_connection((host, port), timeout=HANG_GUARD) as sock:
        first = b"GET /api/episodes/ep-a HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
        second = b"GET /api/episodes/ep-b HTTP/1.0\r\n\r\n"  # 1.0: closes after
        sock.sendall(first + second)
        data = _read_until_closed(sock)
    assert data.count(b"HTTP/1.1 200") == 2
    assert data.index(b'"id": "ep-a"') < data.index(b'"id": "ep-b"')


def test_a_request_head_over_the_limit_is_refused_and_closed(server):
    host, port = server.httpd.server_address[:2]
    with socket.create_connection((host, port), timeout=HANG_GUARD) as sock:
        sock.sendall(b"GET /api/runs HTTP/1.1\r\n" + b"X-Big: " + b"y" * 70_000 + b"\r\n\r\n")
        data = _read_until_closed(sock)
    assert data.startswith(b"HTTP/1.1 431 ")


def test_a_very_long_search_query_is_a_bad_request_that_says_the_limit(server, viewer_api):
    status, _, body = _request(server, "GET", "/api/search?q=" + "a" * 60_000)
    assert status == 400 and "at most 1000 characters" in json.loads(body)["error"]
    with pytest.raises(ViewerError, match="at most 1000 characters"):
        viewer_api.search("é" * 1001)
    assert viewer_api.search("é" * 1000)["rows"] == []  # the limit itself is allowed


def test_stopping_with_connections_held_open_ends_them_and_returns(shared_viewer_db):
    srv = ViewerServer(shared_viewer_db, port=0).start()
    held = _open_half_open(srv.httpd.server_address, 10)
    try:
        assert _request(srv, "GET", "/api/runs")[0] == 200  # every held one was accepted
        stopper = threading.Thread(target=srv.stop)
        stopper.start()
        stopper.join(HANG_GUARD)
        assert not stopper.is_alive()
        for sock in held:  # closed: an end of stream, or a reset
            with contextlib.suppress(ConnectionResetError):
                assert _read_until_closed(sock) == b""
    finally:
        for sock in held:
            sock.close()
