"""A Ray cluster of several nodes on this machine, started with real ``ray start``
processes (a head and worker nodes, each with its own temp dir and ports), and torn down
by killing exactly the processes it started (never ``ray stop``, which stops every Ray
on the machine)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

__all__ = ["free_ports", "local_ray_cluster"]

RAY = str(Path(sys.executable).parent / "ray")
# small nodes: one CPU each, a 100 MB object store, no dashboard
NODE = ["--num-cpus", "1", "--object-store-memory", "100000000", "--disable-usage-stats"]


def free_ports(n: int) -> list[int]:
    """``n`` distinct free ports (their sockets held together, so none is given twice)."""
    held = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("", 0))
            held.append(s)
        return [s.getsockname()[1] for s in held]
    finally:
        for s in held:
            s.close()


def _agent_ports() -> list[str]:
    metrics, listen, grpc, runtime_env, manager, objects = free_ports(6)
    return [
        "--metrics-export-port", str(metrics),
        "--dashboard-agent-listen-port", str(listen),
        "--dashboard-agent-grpc-port", str(grpc),
        "--runtime-env-agent-port", str(runtime_env),
        "--node-manager-port", str(manager),
        "--object-manager-port", str(objects),
    ]  # fmt: skip


def _descendants(roots: list[int]) -> list[int]:
    """The processes under ``roots`` (Ray's workers start in sessions of their own, so a
    process group does not hold them all), read from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        children.setdefault(ppid, []).append(int(entry))
    found, todo = [], list(roots)
    while todo:
        pid = todo.pop()
        found.append(pid)
        todo.extend(children.get(pid, ()))
    return found


def _wait(condition, what: str, limit: float = 120) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + limit  # a bound against a hang, not a timing assertion
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"the local Ray cluster did not come up: {what}")
        time.sleep(0.2)  # polling interval of the wait, not a synchronisation


@contextlib.contextmanager
def local_ray_cluster(workers: int = 2) -> Iterator[str]:
    """A head node and ``workers`` worker nodes; yields the head's ``HOST:PORT``."""
    procs: list[subprocess.Popen] = []
    auth = os.environ.get("RAY_AUTH_MODE")
    dirs: list[str] = []
    # Token authentication off for a cluster of this machine that lives for the tests: a
    # token file in ~/.ray (which a local ray.init() writes) would otherwise turn it on.
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}

    def node(args: list[str], name: str) -> None:
        # short paths: Ray's unix sockets live under the temp dir
        tmp = tempfile.mkdtemp(prefix="slray", dir="/tmp")
        dirs.append(tmp)
        log = open(Path(tmp) / f"{name}.log", "w")  # noqa: SIM115 (closed with the node)
        procs.append(
            subprocess.Popen(
                [RAY, "start", "--block", "--temp-dir", tmp, *args, *_agent_ports(), *NODE],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
                start_new_session=True,
            )
        )
        log.close()

    try:
        (port, dashboard) = free_ports(2)
        node(
            ["--head", "--port", str(port), "--include-dashboard=false"]
            + ["--dashboard-port", str(dashboard)],
            "head",
        )
        head_log = Path(dirs[0]) / "head.log"
        _wait(
            lambda: "Ray runtime started" in head_log.read_text() or procs[0].poll() is not None,
            "head",
        )
        assert procs[0].poll() is None, head_log.read_text()[-3000:]
        address = f"127.0.0.1:{port}"
        for i in range(workers):
            node(
                ["--address", address, "--min-worker-port", "0", "--max-worker-port", "0"], f"w{i}"
            )
        import ray

        os.environ["RAY_AUTH_MODE"] = "disabled"  # this process and the drivers it starts
        ray.init(address=address, log_to_driver=False)
        try:
            _wait(
                lambda: sum(n["Alive"] for n in ray.nodes()) >= workers + 1,
                "worker nodes",
            )
        finally:
            ray.shutdown()
        yield address
    finally:
        if auth is None:
            os.environ.pop("RAY_AUTH_MODE", None)
        else:
            os.environ["RAY_AUTH_MODE"] = auth
        pids = _descendants([p.pid for p in procs])
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for p in procs:
            p.wait(timeout=60)
        for tmp in dirs:
            shutil.rmtree(tmp, ignore_errors=True)
