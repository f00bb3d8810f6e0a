"""Add a sandbox backend and select it by name, as ``--sandbox NAME`` does.

    python examples/custom_sandbox.py

A backend is a function ``backend(limits, *, run_id="")`` that returns a started
``Sandbox`` (or an awaitable of one). This one reuses the local backend's process
handling in a directory of its own choosing; a real backend would start a VM or a
remote container. See docs/guides/sandbox-backend.md: check a backend with the
conformance kit in ``sandlot.testing``.
"""

from __future__ import annotations

import asyncio
import tempfile
import warnings
from pathlib import Path

from sandlot import load_tasks, run
from sandlot.environments.sandbox.factory import make_sandbox
from sandlot.environments.sandbox.local import LocalSandbox
from sandlot.registry import SANDBOXES

warnings.filterwarnings("ignore", "the local sandbox does not isolate")


class ScratchSandbox(LocalSandbox):
    """A local sandbox under another name (what the trace records as the backend)."""

    backend = "scratch"


def scratch_backend(limits=None, *, run_id: str = "") -> ScratchSandbox:
    return ScratchSandbox(limits)


async def main() -> None:
    SANDBOXES.register("scratch", scratch_backend)  # or an entry point in sandlot.sandboxes
    async with await make_sandbox("scratch") as sandbox:
        out = await sandbox.exec("echo hello from $0")
        print(f"{sandbox.backend}: {out.stdout.strip()} (exit {out.exit_code})")
    tasks = [t for t in load_tasks(["examples/tasks/workspace"]) if t.reference][:2]
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "traces.db"
        result = await run(tasks, model="oracle", db=db, env_options={"sandbox": "scratch"})
    for episode in result.episodes:
        print(f"{episode.task_id}: {episode.outcome} on {episode.sandbox_backend}")


if __name__ == "__main__":
    asyncio.run(main())
