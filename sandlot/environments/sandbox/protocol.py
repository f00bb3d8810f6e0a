"""Talking to the in-sandbox command server over a Docker exec's hijacked socket.

Requests and responses are length-prefixed JSON frames (4-byte big-endian length). With
tty off, Docker wraps the exec's output in 8-byte headers (stream type, 3 zero bytes,
size): the demuxer strips them, keeps stdout and collects a little stderr (the server's
own errors) for diagnostics.

Everything that comes back is treated as untrusted: the model's code runs as the same
user as the server. A reply that is not a well-formed frame answering *this* request
(garbage, a huge length, a stale or foreign id), a closed stream, or no answer before the
deadline all raise :class:`AgentGone`; the caller restarts the server.
"""

from __future__ import annotations

import contextlib
import itertools
import json
import secrets
import socket
import struct
import time
from typing import Any

__all__ = ["MAX_FRAME", "AgentConnection", "AgentGone", "encode_request", "exec_frame_limit"]

_FRAME = struct.Struct(">I")
_DOCKER = struct.Struct(">BxxxI")
MAX_FRAME = 256 * 1024 * 1024  # a 64 MB file read is ~86 MB of base64; more is corruption
_STDERR_KEPT = 4096


class AgentGone(ConnectionError):
    """The command server cannot be talked to any more: its stream ended, it stopped
    answering before the deadline, or it sent something that is not an answer."""


def exec_frame_limit(cap: int) -> int:
    """The largest answer an ``exec`` with output cap ``cap`` can honestly take: both
    streams' kept heads in base64, and a little JSON around them."""
    return 2 * 4 * ((cap + 2) // 3) + 64 * 1024


def encode_request(request: dict[str, Any]) -> bytes:
    """One request frame."""
    body = json.dumps(request).encode()
    return _FRAME.pack(len(body)) + body


class AgentConnection:
    """Blocking request/response over the exec socket (call from a worker thread).

    Attributes:
        stderr: the last few KB the server wrote on its stderr.
        received: bytes read from the socket so far (a bound the tests check).
    """

    def __init__(self, sock: Any) -> None:
        # docker-py returns a SocketIO wrapper around the real socket; use the socket.
        self._sock: socket.socket = getattr(sock, "_sock", sock)
        self._stdout = bytearray()
        self._raw = bytearray()
        self._token = secrets.token_hex(4)
        self._ids = itertools.count(1)
        self.stderr = bytearray()
        self.received = 0

    def send_raw(self, data: bytes) -> None:
        """Write bytes to the server's stdin as they are (the bootstrap's source)."""
        try:
            self._sock.sendall(data)
        except OSError as exc:
            raise AgentGone(f"cannot send to the command server: {exc}") from exc

    def request(
        self, request: dict[str, Any], timeout: float | None = None, limit: int = MAX_FRAME
    ) -> dict[str, Any]:
        """Send one request and wait for its answer (at most ``timeout`` seconds); an
        answer announced as longer than ``limit`` bytes is never read."""
        rid = f"{self._token}-{next(self._ids)}"
        self.send_raw(encode_request({**request, "id": rid}))
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            reply = self._next_frame(min(limit, MAX_FRAME))
            if reply is not None:
                if not isinstance(reply, dict) or reply.get("id") != rid:
                    raise AgentGone(
                        f"the command server answered out of turn (expected id {rid}, "
                        f"got {str(reply)[:80]!r}); its stream was tampered with"
                    )
                return reply
            self._fill(deadline, timeout)

    def _next_frame(self, limit: int) -> Any:
        if len(self._stdout) < _FRAME.size:
            return None
        (size,) = _FRAME.unpack_from(self._stdout)
        if size > limit:
            raise AgentGone(
                f"the command server's stream is corrupt or it never started: "
                f"{self._preview()!r} (a {size}-byte frame; this answer may take at most "
                f"{limit})"
            )
        if len(self._stdout) < _FRAME.size + size:
            return None
        body = bytes(self._stdout[_FRAME.size : _FRAME.size + size])
        del self._stdout[: _FRAME.size + size]
        try:
            return json.loads(body)
        except ValueError as exc:
            raise AgentGone(
                f"the command server sent a frame that is not JSON: {body[:200]!r} ({exc})"
            ) from exc

    def _preview(self) -> str:
        # What the stream holds, readable: an exec that failed to start sends the
        # engine's error text (e.g. "OCI runtime exec failed: ...") instead of frames.
        text = bytes(self._stdout[:300]).decode("utf-8", errors="replace")
        return "".join(c if c.isprintable() else " " for c in text).strip()

    def _fill(self, deadline: float | None, timeout: float | None) -> None:
        left = None if deadline is None else max(0.001, deadline - time.monotonic())
        try:
            self._sock.settimeout(left)
            chunk = self._sock.recv(1 << 20)
        except TimeoutError as exc:
            raise AgentGone(
                f"the command server did not answer within {timeout:g} s (stopped or hung)"
            ) from exc
        except OSError as exc:
            raise AgentGone(f"reading from the command server failed: {exc}") from exc
        if not chunk:
            raise AgentGone("the command server's stream ended")
        self.received += len(chunk)
        self._raw += chunk
        while len(self._raw) >= _DOCKER.size:
            stream, size = _DOCKER.unpack_from(self._raw)
            if len(self._raw) < _DOCKER.size + size:
                break
            payload = self._raw[_DOCKER.size : _DOCKER.size + size]
            del self._raw[: _DOCKER.size + size]
            if stream == 2:
                self.stderr += payload
                del self.stderr[:-_STDERR_KEPT]
            else:
                self._stdout += payload

    def abort(self) -> None:
        """From another thread: end the stream, so a request waiting on it fails at once
        (AgentGone) and its caller restarts the server, killing what it ran."""
        with contextlib.suppress(OSError):
            self._sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Close the socket; the server sees its stdin end and exits."""
        with contextlib.suppress(OSError):
            self._sock.close()
