"""The viewer's HTTP server: GET only, security headers on every answer, loopback by
default, Host checked against DNS rebinding, clear errors for bad requests."""

from __future__ import annotations

import http.client
import json
import urllib.error
import urllib.request

import pytest

from sandlot.traces.viewer.server import ViewerServer


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
