"""The command server and the host's connection to it, without Docker: the server's
framing and ops over pipes, and the host's demuxing of Docker's stream headers, out-of-turn
or corrupt answers, deadlines and ends of stream over a socket pair."""

from __future__ import annotations

import base64
import io
import json
import socket
import struct
import threading

import pytest

from sandlot.environments.sandbox import agent
from sandlot.environments.sandbox.protocol import (
    MAX_FRAME,
    AgentConnection,
    AgentGone,
    encode_request,
)


def _serve(*requests: dict | bytes) -> list[dict]:
    stdin = io.BytesIO(b"".join(r if isinstance(r, bytes) else encode_request(r) for r in requests))
    stdout = io.BytesIO()
    agent.serve(stdin, stdout)
    data, replies = stdout.getvalue(), []
    while data:
        (size,) = struct.unpack(">I", data[:4])
        replies.append(json.loads(data[4 : 4 + size]))
        data = data[4 + size :]
    return replies


def test_the_server_answers_each_request_in_turn_with_its_id(tmp_path):
    path = str(tmp_path / "f.bin")
    replies = _serve(
        {"op": "ping", "id": "a"},
        {"op": "exec", "cmd": ["printf", "hi"], "id": "b"},
        {"op": "write", "path": path, "data": base64.b64encode(b"\x00\xff").decode(), "id": "c"},
        {"op": "read", "path": path, "id": "d"},
        {"op": "read", "path": str(tmp_path / "missing"), "id": "e"},
    )
    assert [r["id"] for r in replies] == ["a", "b", "c", "d", "e"]
    assert replies[0]["ok"] is True
    assert base64.b64decode(replies[1]["stdout"]) == b"hi" and replies[1]["exit_code"] == 0
    assert base64.b64decode(replies[3]["data"]) == b"\x00\xff"
    assert replies[4]["error"] == "FileNotFoundError"


def test_a_broken_request_gets_an_error_and_the_server_goes_on():
    body = b"{not json"
    replies = _serve(
        struct.pack(">I", len(body)) + body,
        {"op": "dance", "id": "x"},
        {"op": "exec", "id": "y"},  # no cmd
        {"op": "ping", "id": "z"},
    )
    assert replies[0]["error"] == "JSONDecodeError" and replies[0]["id"] is None
    assert replies[1] == {"error": "ValueError", "message": "unknown op 'dance'", "id": "x"}
    assert replies[2]["error"] == "KeyError" and replies[2]["id"] == "y"
    assert replies[3]["ok"] is True and replies[3]["id"] == "z"


def _docker_frame(stream: int, payload: bytes) -> bytes:
    return struct.pack(">BxxxI", stream, len(payload)) + payload


class FakeServer:
    """The other end of a socket pair, answering like Docker's multiplexed exec stream."""

    def __init__(self, answer) -> None:
        self.host, self.server = socket.socketpair()
        self.answer = answer  # request dict -> bytes to send (already Docker-framed)
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        buf = b""
        while True:
            chunk = self.server.recv(65536)
            if not chunk:
                return
            buf += chunk
            while len(buf) >= 4 and len(buf) >= 4 + struct.unpack(">I", buf[:4])[0]:
                size = struct.unpack(">I", buf[:4])[0]
                request, buf = json.loads(buf[4 : 4 + size]), buf[4 + size :]
                out = self.answer(request)
                if out is None:
                    self.server.close()
                    return
                for i in range(len(out)):  # one byte at a time: framing must not care
                    self.server.sendall(out[i : i + 1])


def _reply(request: dict, **fields) -> bytes:
    body = json.dumps({"id": request["id"], **fields}).encode()
    framed = struct.pack(">I", len(body)) + body
    half = len(framed) // 2  # a reply split over two Docker frames, with stderr between
    return (
        _docker_frame(1, framed[:half])
        + _docker_frame(2, b"server warning\n")
        + _docker_frame(1, framed[half:])
    )


def test_replies_split_across_docker_frames_are_reassembled_and_stderr_kept():
    fake = FakeServer(lambda r: _reply(r, ok=True, echo=r["op"]))
    conn = AgentConnection(fake.host)
    assert conn.request({"op": "ping"}, timeout=5)["echo"] == "ping"
    assert conn.request({"op": "again"}, timeout=5)["echo"] == "again"
    assert bytes(conn.stderr) == b"server warning\n" * 2
    assert conn.received > 0
    conn.close()


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (lambda r: _reply({"id": "forged"}, ok=True), "out of turn"),
        (lambda r: _docker_frame(1, struct.pack(">I", 3) + b"{x]"), "not JSON"),
        (lambda r: _docker_frame(1, struct.pack(">I", MAX_FRAME + 1)), "corrupt"),
        (lambda r: None, "stream ended"),
        (lambda r: b"", "did not answer within 0.2 s"),
    ],
    ids=["forged id", "garbage", "huge length", "end of stream", "silence"],
)
def test_anything_but_a_proper_answer_means_the_server_is_gone(answer, why):
    fake = FakeServer(answer)
    conn = AgentConnection(fake.host)
    with pytest.raises(AgentGone, match=why):
        conn.request({"op": "ping"}, timeout=0.2)
    conn.close()
