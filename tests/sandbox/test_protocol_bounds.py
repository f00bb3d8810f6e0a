"""What the host keeps of the command server's answers is bounded by the host itself, not
by the server: a forged answer (a process of the sandbox user speaking for the server)
may claim anything, and the host still keeps at most the output cap and refuses frames
larger than the request can need."""

from __future__ import annotations

import base64
import socket
import struct

import pytest

from sandlot.environments.sandbox.output import CUT_MARKER, to_exec_result
from sandlot.environments.sandbox.protocol import AgentConnection, AgentGone, exec_frame_limit


def _raw(stdout: bytes, stderr: bytes = b"", cut: tuple[int, int] = (0, 0)) -> dict:
    return {
        "exit_code": 0,
        "stdout": base64.b64encode(stdout).decode(),
        "stderr": base64.b64encode(stderr).decode(),
        "cut": list(cut),
    }


def test_output_past_the_cap_is_cut_on_the_host_with_a_marker():
    result = to_exec_result(_raw(b"a" * 5_000_000, b"e" * 3000, cut=(7, 0)), cap=1000)
    assert result.truncated
    assert result.stdout == "a" * 1000 + CUT_MARKER.format(n=5_000_000 - 1000 + 7)
    assert result.stderr == "e" * 1000 + CUT_MARKER.format(n=2000)


def test_output_within_the_cap_is_kept_whole():
    result = to_exec_result(_raw(b"hello", b"", cut=(0, 0)), cap=5)
    assert (result.stdout, result.stderr, result.truncated) == ("hello", "", False)


def test_an_exec_answer_larger_than_the_cap_allows_means_the_server_is_gone():
    host, server = socket.socketpair()
    limit = exec_frame_limit(1000)
    assert 2 * 1000 * 4 // 3 < limit < 1_000_000
    # a Docker stdout frame announcing a reply far larger than the cap allows
    server.sendall(struct.pack(">BxxxI", 1, 4) + struct.pack(">I", limit + 1))
    conn = AgentConnection(host)
    with pytest.raises(AgentGone, match="corrupt"):
        conn.request({"op": "exec"}, timeout=5, limit=limit)
    conn.close()
    server.close()


@pytest.mark.parametrize("inodes", [0, -1])
def test_an_inode_limit_that_would_lift_the_limit_is_refused(inodes):
    from sandlot.environments.sandbox.base import SandboxLimits
    from sandlot.environments.sandbox.docker import container_options
    from sandlot.errors import UserError

    with pytest.raises(UserError, match="inodes must be at least 1"):
        container_options(SandboxLimits(inodes=inodes), "run", "image")
