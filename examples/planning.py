"""Planning worlds that scale: generate blocksworld and graph-navigation tasks at several
sizes, run the oracle and the null model, and print success by size.

Run it from the repository root::

    python examples/planning.py

See docs/worlds/blocksworld.md and docs/worlds/graphnav.md.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from sandlot import load_tasks, run
from sandlot.environments.worlds.blocksworld.generate import task_file as blocks_file
from sandlot.environments.worlds.graphnav.generate import task_file as rooms_file


async def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for size in (3, 4, 5):
            (folder / f"blocks-{size}.yaml").write_text(blocks_file(size, 2, seed=0))
        for rooms in (6, 12, 24):
            (folder / f"rooms-{rooms}.yaml").write_text(rooms_file(rooms, 2, seed=0))
        tasks = load_tasks([folder])
        print(f"generated {len(tasks)} tasks")
        for model in ("oracle", "null"):
            result = await run(tasks, model=model, db=folder / f"{model}.db")
            rows = result.summary()["by_tag"]
            for tag, row in rows.items():
                if tag.startswith(("size:", "rooms:")):
                    print(f"{model} {tag}: {row['passed']}/{row['episodes']} passed")


if __name__ == "__main__":
    asyncio.run(main())
