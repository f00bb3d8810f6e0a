"""Ctrl-C during `sandlot run`: the summary of the episodes finished so far, and the
exact command that continues the run (which then does)."""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from sandlot import load_tasks

ROOT = Path(__file__).resolve().parents[1]
SANDLOT = str(Path(sys.executable).parent / "sandlot")
FILE = ROOT / "examples/tasks/store/orders.yaml"

HOLDING = """
import asyncio

from sandlot.agents.models import OracleModel


class FirstOnly(OracleModel):
    '''The oracle for the first task it is asked about; on any other it waits until the
    process is stopped.'''

    first = None

    async def complete(self, request):
        task = request.task.id if request.task is not None else None
        if self.first is None:
            self.first = task
        if task != self.first:
            await asyncio.sleep(3600)
        return await super().complete(request)


model = FirstOnly()
"""


def _finished(db: Path) -> list[tuple[str, str]]:
    """(task, outcome) of the episodes the trace holds as finished."""
    with (
        contextlib.suppress(sqlite3.OperationalError),  # no tables yet
        contextlib.closing(sqlite3.connect(db, timeout=30)) as conn,
    ):
        return conn.execute(
            "SELECT task_id, outcome FROM episodes WHERE status != 'running'"
        ).fetchall()
    return []


def _until_finished(db: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120  # a bound against a hang, not a timing assertion
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        if _finished(db):
            return
        time.sleep(0.05)  # polling interval of the wait above, not a synchronisation
    raise AssertionError(f"no episode finished in {db} within 120 s")


def test_ctrl_c_prints_the_summary_so_far_and_the_command_that_continues(tmp_path):
    source = tmp_path / "holding.py"
    source.write_text(HOLDING)
    db = tmp_path / "a run" / "t.db"  # a path that needs quoting in the command
    db.parent.mkdir()
    proc = subprocess.Popen(
        [SANDLOT, "run", str(FILE), "--db", str(db), "-q", "--concurrency", "1"]
        + ["--model", f"scripted:{source}:model"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "COLUMNS": "200"},
    )
    try:
        _until_finished(db, proc)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 130, out + err
    assert "Traceback" not in out + err
    ((task, outcome),) = _finished(db)[:1]
    with contextlib.closing(sqlite3.connect(db)) as conn:
        run_id, status = conn.execute("SELECT id, status FROM runs").fetchone()
    assert status == "interrupted"
    assert f"run {run_id}" in out and task in out and outcome in out  # the summary so far
    command = f"sandlot run --resume --run {run_id} --db {shlex.quote(str(db))}"
    assert command in err, err
    total = len(load_tasks([FILE]))
    assert f"interrupted: 1 of {total} episodes finished" in err, err

    resumed = subprocess.run(
        [SANDLOT, *shlex.split(command)[1:], "-q"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert resumed.returncode == 0, resumed.stdout + resumed.stderr
    with contextlib.closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT status FROM runs").fetchone()[0] == "done"
        assert conn.execute("SELECT count(*) FROM episodes").fetchone()[0] == total
