"""Add a model provider, so ``--model KIND:REST`` (and ``make_model``) can name it.

    python examples/custom_model.py

A provider is a function ``provider(rest, **options)`` that returns a ``Model``; ``rest``
is what follows ``KIND:`` in the spec. This one answers every request with a fixed
text; a real one would call an API. See docs/guides/model-provider.md.
"""

from __future__ import annotations

import asyncio
import tempfile
from pathlib import Path

from sandlot import Model, ScriptedModel, load_tasks, make_model, run
from sandlot.registry import MODELS


def parrot(rest: str, **options: object) -> Model:
    """parrot:TEXT: answers every request with TEXT and calls no tool."""
    if options:
        raise ValueError(f"parrot takes no options, got {sorted(options)}")
    text = rest or "squawk"
    return ScriptedModel(lambda request: text, name=f"parrot:{text}")


async def main() -> None:
    MODELS.register("parrot", parrot)  # or an entry point in sandlot.models
    model = make_model("parrot:order 1003 has shipped")
    print(f"made {model.name}")
    tasks = [t for t in load_tasks(["examples/tasks/store"]) if t.id == "store-lookup-001"]
    with tempfile.TemporaryDirectory() as tmp:
        result = await run(tasks, model=model, db=Path(tmp) / "traces.db")
    episode = result.episodes[0]
    print(f"{episode.task_id}: {episode.outcome} (score {episode.score:.2f})")


if __name__ == "__main__":
    asyncio.run(main())
