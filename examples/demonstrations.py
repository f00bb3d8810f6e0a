"""Demonstrations from past runs: show the agent how similar requests were solved.

    python examples/demonstrations.py

The oracle plays half of the store tasks into a trace file. The other half is then run
with ``demos=DemoSource(that file)`` (``sandlot run ... --demos FILE`` on the command
line): before each episode the most similar passed episodes of other tasks are picked
by BM25 over the instructions, and the executor is shown their tool calls and answers.
The model here is ``DemoFollowingModel``, a scripted model that replays the example it
is shown with this request's values; without examples it just calls the first tool.
See docs/demonstrations.md.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from sandlot import load_tasks, run
from sandlot.agents.graph.demos import DemoSource
from sandlot.testing.demo_following import DemoFollowingModel
from sandlot.traces.query import TraceReader

TASKS = Path(__file__).parent / "tasks" / "store"


async def main() -> None:
    tasks = load_tasks(TASKS)
    solved, asked = tasks[1::2], tasks[0::2]
    with tempfile.TemporaryDirectory() as tmp:
        source = Path(tmp) / "solved.db"
        await run(solved, model="oracle", db=source)
        plain = await run(asked, model=DemoFollowingModel())
        db = Path(tmp) / "with-demos.db"
        shown = await run(
            asked, model=DemoFollowingModel(), db=db, demos=DemoSource(str(source), k=2)
        )
        with TraceReader(db) as reader:
            for episode in reader.episodes(order_by="task_id"):
                (event,) = reader.events(episode["id"], kinds=("demonstrations",), messages=False)
                used = ", ".join(
                    f"{t} ({s:.1f})"
                    for t, s in zip(
                        event["payload"]["task_ids"], event["payload"]["scores"], strict=True
                    )
                )
                print(f"{episode['task_id']}: {episode['outcome']}; demos: {used or 'none'}")
    passed = [sum(e.outcome == "passed" for e in r.episodes) for r in (plain, shown)]
    print(f"without demonstrations: {passed[0]}/{len(asked)} passed")
    print(f"with demonstrations: {passed[1]}/{len(asked)} passed")


if __name__ == "__main__":
    asyncio.run(main())
