"""Fork a recorded episode: continue it from its first tool call with another model.

Records one store episode with the oracle, then forks it after its first tool call
twice — with the null model (which does nothing more) and with the oracle again (which
finishes the task) — and prints how each fork ended beside the original.

    python examples/fork.py
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from sandlot.agents.after.fork import fork_episode
from sandlot.agents.running.runner import run
from sandlot.environments.loader import load_tasks

HERE = Path(__file__).resolve().parent


async def main() -> None:
    tasks = {t.id: t for t in load_tasks([HERE / "tasks/store"])}
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "traces.db"
        original = (await run([tasks["store-orders-005"]], model="oracle", db=db)).episodes[0]
        print(f"original {original.episode_id}: {original.outcome} (score {original.score:.2f})")
        for model in ("null", "oracle"):
            report = await fork_episode(db, original.episode_id, at=1, model=model)
            fork = report.fork
            calls = [c.name for c in fork.trajectory.tool_calls]
            print(
                f"fork at call 1 with {model}: {fork.outcome} (score {fork.score:.2f}), "
                f"calls {calls}"
            )


if __name__ == "__main__":
    asyncio.run(main())
