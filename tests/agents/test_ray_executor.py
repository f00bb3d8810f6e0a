"""``sandlot run --executor ray``: episodes on a Ray cluster of several nodes started by
the tests with ``ray start``, every episode in the one trace exactly once — also when a
worker process dies mid-episode — scored as a local run scores it; and the resume of a
Ray run that was stopped."""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sandlot.environments.loader import load_tasks
from sandlot.environments.sandbox.docker import LABEL

pytestmark = [pytest.mark.ray, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SANDLOT = str(Path(sys.executable).parent / "sandlot")
FILES = [ROOT / "examples/tasks/store/orders.yaml", ROOT / "examples/tasks/store/returns.yaml"]
TASK_IDS = [t.id for t in load_tasks(FILES)]


@pytest.fixture(autouse=True)
def _ray_installed() -> None:
    """Skip without the ray extra on a developer's machine; under CI, fail: it must run."""
    if importlib.util.find_spec("ray") is not None:
        return
    why = "the ray extra is not installed: make ray"
    if os.environ.get("CI"):
        pytest.fail(f"CI runs the Ray tests: {why}")
    pytest.skip(why)


@pytest.fixture(scope="module")
def cluster() -> Iterator[str]:
    if importlib.util.find_spec("ray") is None:
        pytest.skip("the ray extra is not installed: make ray")
    from tests.agents.ray_cluster import local_ray_cluster

    with local_ray_cluster(workers=2) as address:
        yield address


def _sandlot(*args: str | Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [SANDLOT, *map(str, args)], cwd=ROOT, capture_output=True, text=True, timeout=600
    )


def _episodes(db: Path) -> list[dict]:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM episodes ORDER BY task_id, epoch")]


def _outcomes(db: Path) -> dict[tuple[str, int], tuple[str, float]]:
    return {(e["task_id"], e["epoch"]): (e["outcome"], e["score"]) for e in _episodes(db)}


def _assert_whole(db: Path, epochs: int) -> list[dict]:
    """Exactly one episode per task and epoch, each finished, every event and check of
    an episode that is in the trace (nothing half-written)."""
    episodes = _episodes(db)
    keys = [(e["task_id"], e["epoch"]) for e in episodes]
    assert sorted(keys) == sorted((t, e) for t in TASK_IDS for e in range(epochs))
    assert all(e["status"] == "done" for e in episodes), episodes
    with contextlib.closing(sqlite3.connect(db)) as conn:
        for table in ("events", "checks", "messages"):
            orphans = conn.execute(
                f"SELECT count(*) FROM {table} WHERE episode_id NOT IN (SELECT id FROM episodes)"
            ).fetchone()[0]
            assert orphans == 0, table
        for e in episodes:  # each episode's events are there, numbered once from 0
            seqs = [
                r[0]
                for r in conn.execute(
                    "SELECT seq FROM events WHERE episode_id = ? ORDER BY seq", (e["id"],)
                )
            ]
            assert seqs and seqs == list(range(len(seqs))), e["id"]
    return episodes


def test_run_on_a_cluster_records_every_episode_once_scored_as_locally(cluster, tmp_path):
    local, remote = tmp_path / "local.db", tmp_path / "ray.db"
    done = _sandlot("run", *FILES, "--epochs", "2", "--db", local, "-q")
    assert done.returncode == 0, done.stdout + done.stderr
    done = _sandlot(
        "run", *FILES, "--epochs", "2", "--db", remote, "-q",
        "--executor", "ray", "--address", cluster, "--concurrency", "3",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr

    episodes = _assert_whole(remote, epochs=2)
    assert _outcomes(remote) == _outcomes(local)
    assert all(e["outcome"] == "passed" for e in episodes)
    with contextlib.closing(sqlite3.connect(remote)) as conn:
        config, status = conn.execute("SELECT config, status FROM runs").fetchone()
    assert json.loads(config)["executor"] == "ray"
    assert json.loads(config)["address"] == cluster
    assert status == "done"
    # the episodes ran in Ray's worker processes, not in the driver
    assert {e["pid"] for e in episodes}.isdisjoint({os.getpid()})


DYING = """
import os
from pathlib import Path
from sandlot.agents.models import OracleModel

MARK = Path(__file__).with_name("died")


class DyingOracle(OracleModel):
    '''The oracle, except that the first time it plays task {task!r} past its first tool
    call, it kills its own (worker) process.'''

    async def complete(self, request):
        calls = sum(
            len(m.get("tool_calls") or ()) for m in request.messages if m.get("role") == "assistant"
        )
        if request.task.id == {task!r} and calls >= 1 and not MARK.exists():
            MARK.write_text(str(os.getpid()))
            os._exit(1)
        return await super().complete(request)


model = DyingOracle()
"""


def test_a_worker_that_dies_mid_episode_loses_nothing_and_doubles_nothing(cluster, tmp_path):
    victim = TASK_IDS[0]
    source = tmp_path / "dying.py"
    source.write_text(DYING.format(task=victim))
    db = tmp_path / "ray.db"
    done = _sandlot(
        "run", *FILES, "--db", db, "-q", "--model", f"scripted:{source}:model",
        "--executor", "ray", "--address", cluster, "--concurrency", "3",
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr

    died = tmp_path / "died"
    assert died.is_file()  # a worker did die in the middle of the episode
    episodes = _assert_whole(db, epochs=1)
    assert all(e["outcome"] == "passed" and e["score"] == 1.0 for e in episodes)
    redone = next(e for e in episodes if e["task_id"] == victim)
    assert redone["pid"] != int(died.read_text())  # run again, in another worker


HANGING = """
import asyncio
from pathlib import Path
from sandlot.agents.models import OracleModel

HOLD = Path(__file__).with_name("hold")


class HoldingOracle(OracleModel):
    '''The oracle, except that it stops on task {task!r} past its first tool call while
    the file "hold" exists beside this one.'''

    async def complete(self, request):
        calls = sum(
            len(m.get("tool_calls") or ()) for m in request.messages if m.get("role") == "assistant"
        )
        while request.task.id == {task!r} and calls >= 1 and HOLD.exists():
            await asyncio.sleep(0.1)
        return await super().complete(request)


model = HoldingOracle()
"""


def _until_episodes(db: Path, n: int, proc: subprocess.Popen) -> None:
    """Wait until ``n`` episodes are in the trace (the driver writes each when its worker
    is done)."""
    deadline = time.monotonic() + 300  # a bound against a hang, not a timing assertion
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()[0]
        with (
            contextlib.suppress(sqlite3.OperationalError),  # no tables yet
            contextlib.closing(sqlite3.connect(db, timeout=30)) as conn,
        ):
            if conn.execute("SELECT count(*) FROM episodes").fetchone()[0] >= n:
                return
        time.sleep(0.1)  # polling interval of the wait above, not a synchronisation
    raise AssertionError(f"fewer than {n} episodes reached {db} within 300 s")


@pytest.mark.parametrize(("stop", "resume_on"), [(signal.SIGINT, "ray"), (signal.SIGKILL, "local")])
def test_a_stopped_ray_run_resumes(cluster, tmp_path, stop, resume_on):
    held = TASK_IDS[1]
    source = tmp_path / "holding.py"
    source.write_text(HANGING.format(task=held))
    (tmp_path / "hold").touch()
    db = tmp_path / "ray.db"
    spec = f"scripted:{source}:model"
    proc = subprocess.Popen(
        [SANDLOT, "run", *map(str, FILES), "--db", str(db), "-q", "--model", spec]
        + ["--executor", "ray", "--address", cluster, "--concurrency", "3"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        _until_episodes(db, len(TASK_IDS) - 1, proc)  # every episode but the held one
        proc.send_signal(stop)
        proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    episodes = _episodes(db)
    assert held not in {e["task_id"] for e in episodes}  # not finished: not in the trace
    assert len(episodes) == len(TASK_IDS) - 1

    (tmp_path / "hold").unlink()
    where = ["--executor", "ray", "--address", cluster] if resume_on == "ray" else []
    done = _sandlot("run", "--resume", "--db", db, "-q", "--model", spec, *where)
    assert done.returncode == 0, done.stdout + done.stderr
    episodes = _assert_whole(db, epochs=1)
    assert all(e["outcome"] == "passed" for e in episodes)
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT status FROM runs").fetchone()[0] == "done"


def test_the_ray_example_runs_the_store_tasks_on_a_local_instance(tmp_path):
    db = tmp_path / "example.db"
    done = subprocess.run(
        [sys.executable, "examples/ray_run.py", str(db)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    n = len(load_tasks([ROOT / "examples/tasks/store"]))
    assert f"{n}/{n} episodes passed on Ray" in done.stdout
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT count(*) FROM episodes").fetchone()[0] == n


LOCAL_RUN = """
import asyncio, sys
from tests.agents.hanging import HangingOracle
from sandlot.agents.running.runner import run
from sandlot.environments.loader import load_tasks
from sandlot.environments.sandbox.docker import LABEL

tasks = load_tasks(sys.argv[3:])
asyncio.run(run(tasks, model=HangingOracle(sys.argv[2]), db=sys.argv[1], concurrency=1))
"""


def test_a_killed_local_run_resumes_on_ray_its_checkpointed_episode_here(cluster, tmp_path):
    """Resuming a local run with --executor ray: the episode that stopped mid-way goes on
    from its checkpoint on this machine, the episodes never started run on the cluster."""
    db, held = tmp_path / "local.db", TASK_IDS[1]
    proc = subprocess.Popen(
        [sys.executable, "-c", LOCAL_RUN, str(db), held, *map(str, FILES)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert "HANGING" in proc.stdout.readline()  # the held episode made a tool call
        sql = (
            "SELECT count(*) FROM events JOIN episodes ON events.episode_id = episodes.id "
            "WHERE episodes.task_id = ? AND events.kind = 'tool_call'"
        )
        deadline = time.monotonic() + 120  # a bound against a hang, not a timing assertion
        while time.monotonic() < deadline:
            with contextlib.closing(sqlite3.connect(db, timeout=30)) as conn:
                if conn.execute(sql, (held,)).fetchone()[0] >= 1:
                    break
            time.sleep(0.05)  # polling interval of the wait above, not a synchronisation
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    before = {e["task_id"]: e for e in _episodes(db)}
    assert set(before) == {TASK_IDS[0], held}  # the rest never started

    done = _sandlot("run", "--resume", "--db", db, "-q", "--executor", "ray", "--address", cluster)
    assert done.returncode == 0, done.stdout + done.stderr
    episodes = _episodes(db)
    assert sorted(e["task_id"] for e in episodes) == sorted(TASK_IDS)  # each exactly once
    assert all(e["outcome"] == "passed" for e in episodes)
    after = {e["task_id"]: e for e in episodes}
    assert after[held]["id"] == before[held]["id"]  # continued, not started again
    driver = after[held]["pid"]
    assert all(after[t]["pid"] != driver for t in TASK_IDS[2:])  # those ran on Ray workers


def test_an_address_where_nothing_listens_is_refused_before_anything_is_recorded(tmp_path):
    from tests.agents.ray_cluster import free_ports

    (closed,) = free_ports(1)  # free: nothing listens there
    db = tmp_path / "t.db"
    done = _sandlot(
        "run", FILES[0], "--db", db, "--executor", "ray", "--address", f"127.0.0.1:{closed}"
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"nothing answers at the Ray address 127.0.0.1:{closed}" in done.stdout + done.stderr
    assert not db.exists()


WORKSPACE = ROOT / "examples/tasks/workspace/code.yaml"
WS_TASKS = ["ws-code-001", "ws-code-002", "ws-code-004"]
NO_DOCKER = "unix:///nonexistent/docker.sock"  # a DOCKER_HOST where no engine answers


def _picked(ids: list[str]) -> list[str]:
    return [arg for task in ids for arg in ("--task", task)]


def _run_id(db: Path) -> str:
    with contextlib.closing(sqlite3.connect(db)) as conn:
        return conn.execute("SELECT id FROM runs").fetchone()[0]


def _run_containers(run_id: str) -> list[str]:
    """The sandbox containers of run ``run_id`` that exist, running or not."""
    listed = subprocess.run(
        ["docker", "ps", "-aq", "--filter", f"label={LABEL}.run={run_id}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return listed.stdout.split()


class _ContainerCreations:
    """``docker events``' container creations of sandlot sandboxes, as they happen: the
    labels of each (the run and the process that created it), read by a thread."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            ["docker", "events", "--format", "{{json .Actor.Attributes}}"]
            + ["--filter", "type=container", "--filter", "event=create"]
            + ["--filter", f"label={LABEL}=1"],
            stdout=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line)

    def of_run(self, run_id: str, n: int) -> list[dict[str, str]]:
        """The labels of the first ``n`` containers run ``run_id`` created."""
        found: list[dict[str, str]] = []
        deadline = time.monotonic() + 120  # a bound against a hang, not a timing assertion
        while len(found) < n:
            try:
                line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(
                    f"docker events told {len(found)} creations of run {run_id}, not {n}"
                ) from None
            labels = json.loads(line)
            if labels.get(f"{LABEL}.run") == run_id:
                found.append(labels)
        return found

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()


@pytest.mark.docker
def test_workspace_tasks_run_in_docker_sandboxes_of_the_ray_workers(
    cluster, tmp_path, docker_ready
):
    local, remote = tmp_path / "local.db", tmp_path / "ray.db"
    done = _sandlot("run", WORKSPACE, *_picked(WS_TASKS), "--db", local, "-q")
    assert done.returncode == 0, done.stdout + done.stderr

    creations = _ContainerCreations()
    try:
        driver = subprocess.Popen(
            [SANDLOT, "run", str(WORKSPACE), *_picked(WS_TASKS), "--db", str(remote), "-q"]
            + ["--executor", "ray", "--address", cluster, "--concurrency", "3"],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        out, _ = driver.communicate(timeout=600)
        assert driver.returncode == 0, out
        run_id = _run_id(remote)
        episodes = _episodes(remote)
        created = creations.of_run(run_id, len(episodes))
    finally:
        creations.close()

    assert sorted(e["task_id"] for e in episodes) == sorted(WS_TASKS)  # one episode each
    assert _outcomes(remote) == _outcomes(local)
    assert all(e["outcome"] == "passed" for e in episodes), episodes
    assert {e["sandbox_backend"] for e in episodes} == {"docker"}
    with contextlib.closing(sqlite3.connect(remote)) as conn:
        sandbox_events = conn.execute(
            "SELECT episode_id, name, payload FROM events WHERE kind = 'sandbox'"
        ).fetchall()
    assert sorted(e for e, _, _ in sandbox_events) == sorted(e["id"] for e in episodes)
    assert all(n == "docker" and json.loads(p)["backend"] == "docker" for _, n, p in sandbox_events)
    # each episode's container was created by the Ray worker process that ran the episode,
    # never by the driver
    assert sorted(int(c[f"{LABEL}.pid"]) for c in created) == sorted(e["pid"] for e in episodes)
    assert driver.pid not in {e["pid"] for e in episodes}
    assert _run_containers(run_id) == []  # every container of the run is gone


@pytest.mark.docker
def test_a_driver_without_docker_runs_workspace_tasks_on_workers_that_have_it(
    cluster, tmp_path, docker_ready
):
    """The driver's machine needs neither Docker nor the image (docs/ray.md): with the
    default --sandbox auto it does not refuse the run; the workers start the sandboxes."""
    db = tmp_path / "ray.db"
    done = subprocess.run(
        [SANDLOT, "run", str(WORKSPACE), *_picked(WS_TASKS[:1]), "--db", str(db), "-q"]
        + ["--executor", "ray", "--address", cluster],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "DOCKER_HOST": NO_DOCKER},
    )
    assert done.returncode == 0, done.stdout + done.stderr
    (episode,) = _episodes(db)
    assert (episode["outcome"], episode["sandbox_backend"]) == ("passed", "docker")
    assert _run_containers(_run_id(db)) == []


def test_a_driver_without_docker_still_refuses_a_local_workspace_run(tmp_path):
    """Without Ray, --sandbox auto and no Docker is refused before anything runs."""
    db = tmp_path / "local.db"
    done = subprocess.run(
        [SANDLOT, "run", str(WORKSPACE), *_picked(WS_TASKS[:1]), "--db", str(db), "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "DOCKER_HOST": NO_DOCKER},
    )
    assert done.returncode == 2, done.stdout + done.stderr
    assert "--sandbox local" in done.stdout + done.stderr
    assert not db.exists()
