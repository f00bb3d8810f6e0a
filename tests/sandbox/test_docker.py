"""The Docker backend beyond the conformance kit: the hardening it is created with, its
limits, and how it survives a command server that dies, hangs or is tampered with."""

from __future__ import annotations

import dataclasses

import pytest

from sandlot.environments.sandbox.base import SandboxError
from sandlot.environments.sandbox.docker import IDLE_USER, LABEL, DockerSandbox
from sandlot.environments.sandbox.image import docker_client
from tests.docker_support import LIMITS

pytestmark = pytest.mark.docker


async def test_the_container_is_created_hardened_and_labelled(docker_sandbox):
    attrs = docker_sandbox.client.api.inspect_container(docker_sandbox.container.id)
    host = attrs["HostConfig"]
    assert host["NetworkMode"] == "none"
    assert host["Memory"] == host["MemorySwap"] == LIMITS.memory_mb * 1024 * 1024
    assert host["NanoCpus"] == int(LIMITS.cpus * 1e9)
    assert host["PidsLimit"] == LIMITS.pids
    assert host["CapDrop"] == ["ALL"] and not host["CapAdd"]
    assert host["SecurityOpt"] == ["no-new-privileges"]
    assert host["ReadonlyRootfs"] is True and host["Init"] is True
    assert not host["Binds"] and not attrs["Mounts"]  # nothing of the host is mounted
    assert set(host["Tmpfs"]) == {"/work", "/tmp", "/dev/shm"}
    assert f"size={LIMITS.workdir_mb}m" in host["Tmpfs"]["/work"]
    for options in host["Tmpfs"].values():  # many empty files cost memory, not bytes
        assert f"nr_inodes={LIMITS.inodes}" in options.split(","), options
    assert attrs["Config"]["User"] == IDLE_USER
    labels = attrs["Config"]["Labels"]
    assert labels[LABEL] == "1" and labels[f"{LABEL}.run"] == "tests-sandbox"
    assert {f"{LABEL}.pid", f"{LABEL}.host", f"{LABEL}.created"} <= set(labels)


async def test_limits_are_configurable_per_sandbox():
    limits = dataclasses.replace(
        LIMITS, memory_mb=160, pids=40, workdir_mb=24, cpus=0.5, extra={"tmp_mb": "8"}
    )
    async with await DockerSandbox.start(limits, run_id="tests-sandbox") as sb:
        out = await sb.exec(
            "cat /sys/fs/cgroup/pids/pids.max /sys/fs/cgroup/memory/memory.limit_in_bytes; "
            "df -k /work /tmp | tail -n 2 | tr -s ' ' | cut -d' ' -f2"
        )
    assert out.stdout.split() == [str(40), str(160 * 1024 * 1024), str(24 * 1024), str(8 * 1024)]


async def test_every_writable_place_holds_at_most_limits_inodes_files():
    limits = dataclasses.replace(LIMITS, inodes=1234)
    async with await DockerSandbox.start(limits, run_id="tests-sandbox") as sb:
        out = await sb.exec("df -i /work /tmp /dev/shm | tail -n 3 | tr -s ' ' | cut -d' ' -f2")
    assert out.stdout.split() == ["1234"] * 3, out


async def test_commands_run_as_the_sandbox_user_and_nothing_runs_as_root(docker_sandbox):
    out = await docker_sandbox.exec("ps -eo uid= | sort -u")
    assert sorted(out.stdout.split()) == ["1000", "65534"]


async def test_writing_outside_the_writable_dirs_raises_a_clear_error(docker_sandbox):
    await docker_sandbox.write_file("/tmp/scratch.txt", "ok")
    assert (await docker_sandbox.exec("cat /tmp/scratch.txt")).stdout == "ok"
    with pytest.raises(SandboxError, match=r"write /etc/evil: OSError: .*Read-only"):
        await docker_sandbox.write_file("/etc/evil", "x")


async def test_a_command_may_outlast_the_sdk_clients_socket_timeout(monkeypatch):
    # docker-py's hijacked exec socket inherits the client's timeout; the connection must
    # wait for the command's own deadline instead.
    from sandlot.environments.sandbox import docker as docker_module

    monkeypatch.setattr(docker_module, "docker_client", lambda: _client(timeout=1))
    async with await DockerSandbox.start(LIMITS, run_id="tests-sandbox") as sb:
        out = await sb.exec("sleep 2; echo finished", timeout=10)
    assert (out.exit_code, out.stdout) == (0, "finished\n")


def _client(timeout: float):
    import docker

    return docker.from_env(timeout=timeout)


async def test_read_and_write_raise_sandbox_error_when_the_server_died(docker_sandbox):
    _kill_server_from_outside(docker_sandbox)
    with pytest.raises(SandboxError, match="command server died"):
        await docker_sandbox.read_file("anything.txt")
    await docker_sandbox.write_file("after.txt", "fine")
    assert await docker_sandbox.read_file("after.txt") == "fine"


def _kill_server_from_outside(sandbox: DockerSandbox) -> None:
    api = sandbox.client.api
    exec_id = api.exec_create(
        sandbox.container.id, ["pkill", "-9", "-f", "python3 -I -S -u -c"], user="1000:1000"
    )
    api.exec_start(exec_id)  # returns when pkill is done


async def test_ping_tells_a_live_sandbox_from_a_removed_one(docker_sandbox):
    assert await docker_sandbox.ping() is True
    docker_client().containers.get(docker_sandbox.container.id).remove(force=True)
    assert await docker_sandbox.ping() is False


async def test_a_missing_image_is_a_clear_sandbox_error():
    with pytest.raises(SandboxError, match="sandlot-sandbox:no-such-tag.*sandbox doctor"):
        await DockerSandbox.start(LIMITS, image="sandlot-sandbox:no-such-tag")
