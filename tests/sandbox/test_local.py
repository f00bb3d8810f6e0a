"""The local backend: says it does not isolate, maps /work into its own directory,
applies its rlimits, passes none of this process's secrets to its commands, leaves no
process or file behind, and — run as root — confines commands to a user of their own
without network."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import socket
import tempfile
import time
import warnings
from pathlib import Path

import pytest

from sandlot.environments.sandbox import local
from sandlot.environments.sandbox.base import SandboxError
from sandlot.environments.sandbox.local import LocalSandbox, NotIsolatedWarning
from tests.docker_support import LIMITS

pytestmark = pytest.mark.filterwarnings("ignore:the local sandbox does not isolate")


@pytest.fixture
async def sandbox():
    sb = LocalSandbox(LIMITS)
    try:
        yield sb
    finally:
        await sb.close()


def test_it_warns_once_per_process_that_it_does_not_isolate(monkeypatch):
    monkeypatch.setattr(local, "_warned", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("ignore")  # e.g. a ResourceWarning from an earlier test's GC
        warnings.simplefilter("always", NotIsolatedWarning)
        first, second = LocalSandbox(), LocalSandbox()
    assert [w.category for w in caught] == [NotIsolatedWarning]
    assert "does not isolate" in str(caught[0].message)
    assert first.isolated is False and first.backend == "local"
    for sb in (first, second):
        os.rmdir(sb.root)


async def test_work_paths_map_into_its_own_directory(sandbox):
    await sandbox.write_file("/work/data/in.txt", "mapped")
    assert (Path(sandbox.workdir) / "data/in.txt").read_text() == "mapped"
    assert await sandbox.read_file("data/in.txt") == "mapped"
    out = await sandbox.exec("cat in.txt; echo; echo $SANDLOT_WORKDIR", cwd="/work/data")
    assert out.stdout.splitlines() == ["mapped", sandbox.workdir]


async def test_the_file_size_limit_stops_a_huge_file(sandbox):
    out = await sandbox.exec("head -c 50000000 /dev/zero > big.bin; wc -c < big.bin")
    assert int(out.stdout.split()[-1]) <= LIMITS.file_size_mb * 1024 * 1024
    assert "File size limit exceeded" in out.stderr or out.exit_code != 0


async def test_the_memory_limit_stops_a_memory_bomb():
    small = dataclasses.replace(LIMITS, memory_mb=200)
    async with LocalSandbox(small) as sb:
        out = await sb.exec(["python3", "-c", "x = bytearray(1 << 30); print('ALLOCATED')"])
    assert out.exit_code != 0 and "MemoryError" in out.stderr and "ALLOCATED" not in out.stdout


async def test_close_removes_its_directory_and_refuses_more_work(sandbox):
    await sandbox.write_file("x.txt", "x")
    await sandbox.close()
    assert not Path(sandbox.workdir).exists()
    for call in (sandbox.exec("true"), sandbox.read_file("x.txt"), sandbox.write_file("y", "y")):
        with pytest.raises(SandboxError, match="closed"):
            await call


async def test_paths_that_leave_the_work_dir_are_refused(sandbox):
    name = f"escape-{Path(sandbox.workdir).name}.txt"  # unique: no other run's leftover
    outside = Path(sandbox.workdir).parent / "tmp" / name
    for path in (f"/work/../tmp/{name}", f"../tmp/{name}", f"a/../../{name}"):
        with pytest.raises(SandboxError, match="leads out of the work directory"):
            await sandbox.write_file(path, "x")
        with pytest.raises(SandboxError, match="leads out of the work directory"):
            await sandbox.read_file(path)
    assert not outside.exists()
    with pytest.raises(SandboxError, match="leads out"):
        await sandbox.exec("pwd", cwd="/work/..")
    await sandbox.write_file("/work/a/../inside.txt", "in")  # normalised, still inside
    assert (Path(sandbox.workdir) / "inside.txt").read_text() == "in"


async def test_errors_name_files_under_work_not_the_temporary_directory(sandbox):
    await sandbox.write_file("afile", "x")
    with pytest.raises(FileNotFoundError) as missing:
        await sandbox.read_file("no/such.txt")
    with pytest.raises(FileExistsError) as under_a_file:
        await sandbox.write_file("afile/b.txt", "x")
    await sandbox.exec("mkfifo pipe")
    with pytest.raises(SandboxError) as fifo:
        await sandbox.read_file("pipe")
    for caught in (missing, under_a_file, fifo):
        assert sandbox.workdir not in str(caught.value) and "/work/" in str(caught.value)


# --- what commands can reach -------------------------------------------------------

as_root = pytest.mark.skipif(os.geteuid() != 0, reason="confinement needs root")
HANG_GUARD = 30.0  # seconds: a bound for polling, not a timing assertion


async def test_commands_get_a_minimal_environment_without_this_process_secrets(
    sandbox, monkeypatch
):
    secrets = {
        "OPENAI_API_KEY": "sk-test-secret-1",
        "AWS_SECRET_ACCESS_KEY": "aws-secret-2",
        "GITHUB_TOKEN": "ghp-secret-3",
        "MY_SERVICE_PASSWORD": "pw-secret-4",
    }
    for name, value in secrets.items():
        monkeypatch.setenv(name, value)
    out = await sandbox.exec("env")
    names = {line.split("=", 1)[0] for line in out.stdout.splitlines() if "=" in line}
    given = {"PATH", "HOME", "LANG", "TMPDIR", "SANDLOT_WORKDIR"}
    assert names <= given | {"PWD", "SHLVL", "_"}, names  # and what the shell sets itself
    assert not any(value in out.stdout for value in secrets.values())


@as_root
async def test_as_root_commands_run_as_a_user_of_their_own_per_sandbox():
    async with LocalSandbox(LIMITS) as a, LocalSandbox(LIMITS) as b:
        ids = [int((await sb.exec("id -u")).stdout) for sb in (a, b)]
        groups = (await a.exec("id -G")).stdout.split()
        assert (await a.exec("touch made; stat -c %u made")).stdout.strip() == str(ids[0])
    assert 0 not in ids and ids[0] != ids[1] and 65534 not in ids
    assert "0" not in groups


@as_root
def test_as_root_a_temporary_directory_other_users_cannot_enter_is_refused(tmp_path, monkeypatch):
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    monkeypatch.setattr(tempfile, "tempdir", str(closed))
    with pytest.raises(SandboxError, match="set TMPDIR to a directory every user can enter"):
        LocalSandbox(LIMITS)
    assert list(closed.iterdir()) == []  # nothing left behind


@as_root
async def test_as_root_setuid_files_grant_nothing(sandbox):
    out = await sandbox.exec("grep NoNewPrivs /proc/self/status; su -c id root < /dev/null")
    assert out.stdout.split()[:2] == ["NoNewPrivs:", "1"] and "uid=0" not in out.stdout


@as_root
async def test_as_root_commands_cannot_read_this_process_environ_or_root_files(sandbox, tmp_path):
    secret = tmp_path / "root-only.txt"
    secret.write_text("root's secret")
    secret.chmod(0o600)
    out = await sandbox.exec(
        f"cat /proc/{os.getpid()}/environ; cat /proc/$PPID/environ; cat {secret}"
    )
    assert out.exit_code != 0 and "Permission denied" in out.stderr
    assert "PATH=" not in out.stdout and "root's secret" not in out.stdout
    with pytest.raises((PermissionError, SandboxError)):
        await sandbox.read_file(f"/proc/{os.getpid()}/environ")
    with pytest.raises((PermissionError, SandboxError)):
        await sandbox.read_file(str(secret))


@as_root
async def test_as_root_commands_and_file_writes_cannot_change_host_files(sandbox, tmp_path):
    host = tmp_path / "host.txt"
    host.write_text("original")
    host.chmod(0o644)
    out = await sandbox.exec(f"echo changed > {host}; rm -f {host}; touch {tmp_path}/new")
    assert out.exit_code != 0
    with pytest.raises((PermissionError, SandboxError)):
        await sandbox.write_file(str(host), "changed")
    # A link the model plants in its own directory does not lead a write out of it.
    await sandbox.exec(f"ln -s {host} link.txt")
    with pytest.raises((PermissionError, SandboxError)):
        await sandbox.write_file("link.txt", "changed through a link")
    assert host.read_text() == "original" and sorted(os.listdir(tmp_path)) == ["host.txt"]


@as_root
async def test_as_root_commands_reach_no_host_listener_and_no_docker_socket(sandbox):
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    probe = (
        "import socket, sys\n"
        "for family, address in ((socket.AF_INET, ('127.0.0.1', PORT)),"
        " (socket.AF_UNIX, '/var/run/docker.sock')):\n"
        "    s = socket.socket(family)\n"
        "    s.settimeout(5)\n"
        "    try:\n"
        "        s.connect(address); print('CONNECTED', address)\n"
        "    except OSError as exc:\n"
        "        print('BLOCKED', exc)\n"
    ).replace("PORT", str(port))
    try:
        out = await sandbox.exec(["python3", "-c", probe])
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody came
    finally:
        listener.close()
    assert "CONNECTED" not in out.stdout and out.stdout.count("BLOCKED") == 2, out


@as_root
async def test_as_root_loopback_inside_the_sandbox_is_shared_by_its_commands(sandbox):
    server = (
        "import socket\n"
        "s = socket.socket(); s.bind(('127.0.0.1', 0)); s.listen(1)\n"
        "open('port', 'w').write(str(s.getsockname()[1]))\n"
        "c, _ = s.accept(); c.sendall(b'hello from the sandbox'); c.close()\n"
    )
    await sandbox.write_file("server.py", server)
    started = await sandbox.exec(
        "setsid python3 server.py > /dev/null 2>&1 < /dev/null & "
        "for i in $(seq 100); do [ -s port ] && break; sleep 0.1; done"
    )
    assert started.ok
    client = "import socket; s = socket.create_connection(('127.0.0.1', int(open('port').read()))); print(s.recv(100).decode())"
    out = await sandbox.exec(["python3", "-c", client])
    assert out.stdout.strip() == "hello from the sandbox", out


@as_root
async def test_as_root_the_process_limit_holds_for_the_sandbox_user():
    small = dataclasses.replace(LIMITS, pids=12)
    bomb = (
        "import os, time\n"
        "n = 0\n"
        "try:\n"
        "    for _ in range(200):\n"
        "        if os.fork() == 0:\n"
        "            time.sleep(60); os._exit(0)\n"
        "        n += 1\n"
        "except OSError:\n"
        "    pass\n"
        "print(n)\n"
    )
    async with LocalSandbox(small) as sb:
        out = await sb.exec(["python3", "-c", bomb], timeout=20)
    assert int(out.stdout) < 12, out


# --- nothing outlives the sandbox ----------------------------------------------------

_DETACH = (
    "setsid sh -c 'echo $$ > a.pid; exec sleep 1001' < /dev/null > /dev/null 2>&1 &\n"
    # a double fork: the daemon's parent exits at once, it is adopted by init
    "sh -c 'setsid sh -c \"echo \\$\\$ > b.pid; exec sleep 1002\" < /dev/null > /dev/null 2>&1 &'\n"
    "for f in a.pid b.pid; do i=0; while [ ! -s $f ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done; done\n"
    "cat a.pid b.pid\n"
)


def _alive(pid: int) -> bool:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return False
    return fields[0] != "Z"


async def _none_survive(pids: list[int]) -> list[int]:
    deadline = time.monotonic() + HANG_GUARD
    while any(_alive(p) for p in pids) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    return [p for p in pids if _alive(p)]


@pytest.mark.parametrize("confine", [pytest.param(True, marks=as_root), False])
async def test_no_process_it_started_survives_close(confine):
    sb = LocalSandbox(LIMITS, confine=confine)
    try:
        out = await sb.exec(_DETACH)
        pids = [int(p) for p in out.stdout.split()]
        assert len(pids) == 2 and all(_alive(p) for p in pids), out
        assert all(_alive(p) for p in pids)  # they outlive the command that started them
    finally:
        await sb.close()
    assert await _none_survive(pids) == []


@pytest.mark.parametrize("confine", [pytest.param(True, marks=as_root), False])
async def test_quiesce_ends_what_commands_left_and_the_sandbox_goes_on(confine):
    async with LocalSandbox(LIMITS, confine=confine) as sb:
        pids = [int(p) for p in (await sb.exec(_DETACH)).stdout.split()]
        await sb.quiesce()
        assert await _none_survive(pids) == []
        assert (await sb.exec("cat a.pid")).stdout.strip() == str(pids[0])
