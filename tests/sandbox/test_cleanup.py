"""cleanup(): containers of dead owners go, live owners' stay; by run; never others'."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import time
import uuid

import pytest

from sandlot.environments.sandbox.cleanup import cleanup, leftover_containers, owner_alive
from sandlot.environments.sandbox.docker import LABEL
from sandlot.environments.sandbox.image import IMAGE, docker_client


def _labels(pid: int, created: float, host: str | None = None, run: str = "x") -> dict[str, str]:
    return {
        LABEL: "1",
        f"{LABEL}.run": run,
        f"{LABEL}.pid": str(pid),
        f"{LABEL}.host": host or socket.gethostname(),
        f"{LABEL}.created": str(int(created)),
    }


def _dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_owner_alive_for_this_process_and_dead_for_a_finished_one():
    assert owner_alive(_labels(os.getpid(), time.time()))
    assert not owner_alive(_labels(_dead_pid(), time.time()))
    assert not owner_alive(_labels(0, time.time()))
    assert not owner_alive({**_labels(1, time.time()), f"{LABEL}.pid": "junk"})


def test_a_reused_pid_does_not_keep_an_old_container_alive():
    # This process started after a container "created" a day ago: that owner is gone.
    assert not owner_alive(_labels(os.getpid(), time.time() - 86_400))


def test_other_hosts_containers_are_not_judged():
    assert owner_alive(_labels(_dead_pid(), time.time(), host="another-machine"))


@pytest.mark.docker
def test_cleanup_removes_dead_owners_containers_and_keeps_live_ones():
    client = docker_client()
    run = f"tests-cleanup-{uuid.uuid4().hex[:6]}"
    now = time.time()

    def create(pid: int) -> str:
        container = client.containers.create(IMAGE, ["true"], labels=_labels(pid, now, run=run))
        return container.id

    dead, live = create(_dead_pid()), create(os.getpid())
    try:
        leftovers = {c.id for c in leftover_containers(client=client)}
        assert dead in leftovers and live not in leftovers
        assert {c.id for c in leftover_containers(all=True, client=client)} >= {dead, live}
        assert cleanup(client=client) >= 1
        left = {
            c.id
            for c in client.containers.list(
                all=True, sparse=True, filters={"label": f"{LABEL}.run={run}"}
            )
        }
        assert left == {live}
        assert cleanup(run_id=run, client=client) == 1  # a run's containers, owner alive or not
        assert (
            client.containers.list(all=True, sparse=True, filters={"label": f"{LABEL}.run={run}"})
            == []
        )
    finally:
        for cid in (dead, live):
            with contextlib.suppress(Exception):  # already removed by the test
                client.containers.get(cid).remove(force=True)


def test_a_killed_owner_not_yet_reaped_is_gone():
    # A run killed while its parent has not waited for it yet is a zombie: dead.
    proc = subprocess.Popen(["true"])
    deadline = time.monotonic() + 30  # a bound against a hang, not a timing assertion
    while time.monotonic() < deadline:
        with open(f"/proc/{proc.pid}/stat") as f:
            if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                break
        time.sleep(0.01)  # polling interval of the wait above, not a synchronisation
    try:
        assert not owner_alive(_labels(proc.pid, time.time()))
    finally:
        proc.wait()
