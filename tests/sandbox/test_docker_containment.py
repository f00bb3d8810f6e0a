"""Hostile code against the Docker backend: each case returns a result (no hang, no crash
of this process), leaves the sandbox usable (or says clearly that it is not), and leaves
the host untouched."""

from __future__ import annotations

import dataclasses
import re

import pytest

from sandlot.environments.sandbox.base import SandboxError
from sandlot.environments.sandbox.docker import DockerSandbox
from tests.docker_support import LIMITS
from tests.sandbox.conformance import CUT_MARKER_RE
from tests.sandbox.containment import (
    HIJACKER,
    HostListener,
    answered,
    plant_hijacker,
    still_works,
)

pytestmark = pytest.mark.docker

MB = 1024 * 1024


@pytest.fixture
async def sandbox():
    sb = await DockerSandbox.start(LIMITS, run_id="tests-containment")
    try:
        yield sb
    finally:
        await sb.close()


async def _cgroup(sb: DockerSandbox, path: str) -> int:
    return int((await sb.exec(f"cat /sys/fs/cgroup/{path}")).stdout)


async def test_fork_bomb_hits_the_pids_limit(sandbox):
    assert await _cgroup(sandbox, "pids/pids.max") == LIMITS.pids
    out = await answered(sandbox.exec("bomb() { bomb | bomb & }; bomb; sleep 2", timeout=3))
    assert re.search(r"Cannot fork|Resource temporarily unavailable", out.stderr), out
    left = await sandbox.exec("ps -e --no-headers | wc -l")
    assert int(left.stdout) < 10  # the bomb's whole process group was killed
    await still_works(sandbox)


async def test_memory_bomb_hits_the_memory_limit(sandbox):
    assert await _cgroup(sandbox, "memory/memory.limit_in_bytes") == LIMITS.memory_mb * MB
    out = await answered(
        sandbox.exec(["python3", "-c", "x = bytearray(1 << 30); print('ALLOCATED')"], timeout=20)
    )
    assert out.exit_code in (-9, 1) and "ALLOCATED" not in out.stdout, out
    await still_works(sandbox)


async def test_infinite_loop_times_out_and_the_group_is_killed(sandbox):
    out = await answered(sandbox.exec("while :; do :; done & while :; do :; done", timeout=1))
    assert out.timed_out and not out.ok
    ps = await sandbox.exec("ps -eo args | grep -c '^/bin/sh -c while' || true")
    assert ps.stdout.strip() == "0"
    await still_works(sandbox)


async def test_huge_files_are_stopped_and_nothing_reaches_the_host_disk(sandbox):
    one = await answered(sandbox.exec("head -c 200000000 /dev/zero > big.bin", timeout=20))
    assert "File size limit exceeded" in one.stderr or one.exit_code != 0
    assert int((await sandbox.exec("wc -c < big.bin")).stdout) <= LIMITS.file_size_mb * MB
    # Many files under the size limit fill the work dir's tmpfs, not the host.
    many = await answered(
        sandbox.exec("for i in 1 2 3 4 5 6; do head -c 15000000 /dev/zero > f$i; done", timeout=20)
    )
    assert "No space left on device" in many.stderr
    used = int((await sandbox.exec("du -sk /work | cut -f1")).stdout)
    assert used <= LIMITS.workdir_mb * 1024
    # The container's own layer on the host's disk: untouched.
    (listed,) = sandbox.client.api.containers(size=True, filters={"id": sandbox.container.id})
    assert listed.get("SizeRw", 0) == 0, listed
    await still_works(sandbox)


async def test_no_network_not_even_the_host(sandbox):
    code = (
        "import socket, sys\n"
        "for host in ('127.0.0.1', '203.0.113.1', '172.17.0.1'):\n"
        "    s = socket.socket(); s.settimeout(2)\n"
        "    try: s.connect((host, int(sys.argv[1]))); print('CONNECTED', host)\n"
        "    except OSError as e: print('blocked', host, type(e).__name__)\n"
    )
    with HostListener().running() as listener:
        out = await answered(sandbox.exec(["python3", "-c", code, str(listener.port)]))
    assert "CONNECTED" not in out.stdout, out
    assert out.stdout.count("blocked") == 3
    assert listener.accepted == []
    assert (await sandbox.exec("ls /sys/class/net")).stdout.split() == ["lo"]


async def test_host_files_are_not_visible(sandbox, tmp_path):
    canary = tmp_path / "canary.txt"
    canary.write_text("host secret")
    out = await answered(
        sandbox.exec(
            f"cat {canary}; grep -rs 'host secret' /work /tmp; "
            "ls /var/run/docker.sock /run/docker.sock; cat /proc/mounts"
        )
    )
    assert "host secret" not in out.stdout and str(tmp_path) not in out.stdout
    assert "docker.sock" not in out.stdout  # the engine's socket is not reachable
    assert canary.read_text() == "host secret"


@pytest.mark.parametrize("target", ["/etc/passwd", "/usr/bin/evil", "/evil", "/home/x"])
async def test_writing_outside_the_workdir_fails(sandbox, target):
    out = await answered(sandbox.exec(f"echo x >> {target}"))
    assert out.exit_code != 0
    assert re.search(r"Read-only file system|Permission denied", out.stderr), out


async def test_privilege_escalation_fails(sandbox):
    status = await sandbox.exec(
        "id -u; grep -E '^(CapEff|CapPrm|CapBnd|NoNewPrivs)' /proc/self/status"
    )
    assert status.stdout.split()[0] == "1000"
    for cap in ("CapEff", "CapPrm", "CapBnd"):
        assert f"{cap}:\t0000000000000000" in status.stdout
    assert "NoNewPrivs:\t1" in status.stdout
    assert (await answered(sandbox.exec("su -c id root </dev/null", timeout=5))).exit_code != 0
    assert (await sandbox.exec("mount -t tmpfs none /mnt")).exit_code != 0
    setuid = await sandbox.exec(["python3", "-c", "import os; os.setuid(0)"])
    assert "PermissionError" in setuid.stderr
    await still_works(sandbox)
    assert (await sandbox.exec("id -u")).stdout == "1000\n"


async def test_killing_the_command_server_gets_a_clear_result(sandbox):
    out = await answered(sandbox.exec("kill -9 -1"))  # every process of the sandbox user
    assert out.exit_code == -1 and "command server died" in out.stderr
    await still_works(sandbox)
    again = await answered(sandbox.exec("pkill -9 -f '[p]ython3 -I -S -u -c'; sleep 1"))
    assert again.exit_code == -1
    await still_works(sandbox)


async def test_stopping_the_command_server_gets_a_clear_result(sandbox):
    sandbox.answer_grace = 1.0  # how long past the timeout the host waits for an answer
    out = await answered(sandbox.exec("kill -STOP $PPID; sleep 30", timeout=1))
    assert out.exit_code == -1 and "did not answer within" in out.stderr
    # the restart's reset killed the stopped server and the command it had started
    left = await sandbox.exec("ps -eo stat=,args=")
    assert not [line for line in left.stdout.splitlines() if line.startswith("T")], left
    assert "sleep 30" not in left.stdout
    await still_works(sandbox)


async def test_the_command_servers_stream_cannot_be_written_into(sandbox):
    # Same uid as the server, but the server is not dumpable: its /proc entries are root's.
    inject = (
        "import os, subprocess\n"
        "pid = subprocess.check_output(['pgrep', '-o', '-f', 'python3 -I -S -u -c']).split()[0]\n"
        "try:\n"
        "    open(f'/proc/{int(pid)}/fd/1', 'wb').write(b'\\x00\\x00\\x00\\x02{}')\n"
        "    print('INJECTED')\n"
        "except OSError as exc:\n"
        "    print('refused', type(exc).__name__)\n"
    )
    out = await answered(sandbox.exec(["python3", "-c", inject]))
    assert out.stdout.strip() == "refused PermissionError", out
    await still_works(sandbox)


async def test_binary_garbage_on_stdout(sandbox):
    out = await answered(sandbox.exec("head -c 100000 /dev/urandom"))
    assert out.exit_code == 0 and "\ufffd" in out.stdout
    await still_works(sandbox)


async def test_100mb_on_stdout_is_capped_and_never_reaches_this_process(sandbox):
    await still_works(sandbox)  # the connection is up: count from here
    before = sandbox._conn.received
    out = await answered(sandbox.exec("head -c 100000000 /dev/zero | tr '\\0' a", timeout=60))
    marker = CUT_MARKER_RE.search(out.stdout)
    assert out.truncated and marker is not None
    assert marker.start() == LIMITS.output_bytes
    assert marker.start() + int(marker.group(1)) == 100_000_000
    # What crossed the socket: the kept head in base64, plus a little framing.
    assert sandbox._conn.received - before < LIMITS.output_bytes * 4 // 3 + 10_000
    await still_works(sandbox)


async def test_a_dead_container_raises_a_clear_error(sandbox):
    sandbox.container.kill()
    with pytest.raises(SandboxError, match="container is gone"):
        await answered(sandbox.exec("echo hi"))
    # and every later call says so too, rather than leaking a Docker API error
    with pytest.raises(SandboxError, match="container is gone"):
        await answered(sandbox.read_file("x.txt"))
    assert await sandbox.ping() is False


async def _server_pid(sb: DockerSandbox) -> int:
    reply, died = sb._request({"op": "ping"}, 30)
    assert reply is not None, died
    return int(reply["pid"])


async def test_a_process_left_behind_cannot_take_over_the_restarted_command_server(sandbox):
    killed = await plant_hijacker(sandbox)
    assert killed.exit_code == -1 and "command server died" in killed.stderr, killed
    # Neither a command that cannot succeed honestly nor a file never written is forged.
    etc = await answered(sandbox.exec("test -f /etc/forged"))
    assert (etc.exit_code, etc.stdout) == (1, ""), etc
    with pytest.raises(FileNotFoundError):
        await answered(sandbox.read_file("never-written.txt"))
    # every process of the sandbox user was gone before the new server started
    left = await sandbox.exec("ls /tmp/.hijacked; pgrep -f '[h]ijack.py'")
    assert "No such file" in left.stderr and left.stdout == "", left
    await still_works(sandbox)


async def test_quiesce_ends_every_process_of_the_user_before_a_fresh_server_starts(sandbox):
    await sandbox.write_file("/tmp/hijack.py", HIJACKER)
    # A hijacker waiting for the next server, and a plain process left behind.
    planted = await answered(
        sandbox.exec(
            "setsid nohup python3 /tmp/hijack.py $PPID 0 >/dev/null 2>&1 </dev/null & "
            "setsid nohup sleep 1000 >/dev/null 2>&1 </dev/null & "
            "while [ ! -e /tmp/.hijacker-ready ]; do :; done",
            timeout=20,
        )
    )
    assert planted.exit_code == 0, planted
    assert "sleep 1000" in (await sandbox.exec("ps -eo args")).stdout
    before = await _server_pid(sandbox)

    await answered(sandbox.quiesce())

    assert await _server_pid(sandbox) != before
    etc = await answered(sandbox.exec("test -f /etc/forged"))
    assert (etc.exit_code, etc.stdout) == (1, ""), etc
    ps = await sandbox.exec("ps -u 1000 -o args=")
    assert "sleep 1000" not in ps.stdout and "hijack" not in ps.stdout, ps
    assert (await sandbox.exec("ls /tmp/.hijacked")).exit_code != 0
    await still_works(sandbox)


async def test_the_command_server_imports_nothing_the_model_wrote(sandbox):
    planted = "import sys\nsys.stderr.write('MODEL CODE IN THE SERVER')\nraise SystemExit(3)\n"
    for module in ("struct.py", "json.py", "selectors.py", "subprocess.py"):
        await sandbox.write_file(module, planted)
        await sandbox.write_file(f"/tmp/{module}", planted)
    killed = await answered(sandbox.exec("kill -9 $PPID"))
    assert killed.exit_code == -1, killed
    await still_works(sandbox)
    assert (await answered(sandbox.exec("test -f /etc/forged"))).exit_code == 1


@pytest.mark.parametrize("where", ["/work", "/tmp", "/dev/shm"])
async def test_many_empty_files_hit_the_inode_limit_and_the_sandbox_goes_on(where):
    limits = dataclasses.replace(LIMITS, inodes=3000)
    create = (
        "import errno, os, sys\n"
        "n = 0\n"
        "try:\n"
        "    while n < int(sys.argv[2]):\n"
        "        os.close(os.open('%s/f%d' % (sys.argv[1], n), os.O_CREAT | os.O_WRONLY))\n"
        "        n += 1\n"
        "except OSError as exc:\n"
        "    print(n, errno.errorcode[exc.errno])\n"
        "else:\n"
        "    print(n, 'none')\n"
    )
    async with await DockerSandbox.start(limits, run_id="tests-containment") as sb:
        out = await answered(sb.exec(["python3", "-c", create, where, "20000"], timeout=60))
        count, error = out.stdout.split()
        assert error == "ENOSPC" and int(count) < limits.inodes, out
        await still_works(sb)
        with pytest.raises(SandboxError, match="No space left"):
            await sb.write_file(f"{where}/one-more", "x")
        # the other writable places are not touched by this one's limit
        other = "/tmp" if where != "/tmp" else "/work"
        await sb.write_file(f"{other}/still-room", "x")
        assert (await sb.exec(f"cat {other}/still-room")).stdout == "x"
