"""BFCL multi-turn in sandlot, measured against BFCL's own checker.

Every task of a BFCL multi-turn subset is run with the oracle five times: playing the
ground truth, and the ground truth with one call dropped, one argument changed, one call
repeated, or one call of another state-changing function added (seeded draws). Each episode gets sandlot's verdict (its ``bfcl`` check)
and BFCL's (``multi_turn_checker`` on the same calls); the table counts how often they
agree. Needs the bfcl extra and bfcl-eval (``make bfcl``).

    python examples/bfcl_agreement.py                 # all 200 multi_turn_base entries
    python examples/bfcl_agreement.py --limit 10 --subset multi_turn_miss_param
"""

from __future__ import annotations

import argparse
import asyncio
import time

from sandlot.agents.running.runner import run
from sandlot.environments.loader import load_tasks
from sandlot.environments.worlds.bfcl.agreement import (
    VARIANTS,
    AgreementRow,
    agreement_table,
    bfcl_verdict,
    variant_task,
)


async def agreement(
    subset: str = "multi_turn_base", limit: int | None = None, seed: int = 0
) -> tuple[list[AgreementRow], list[str]]:
    """The agreement rows for ``subset`` (its first ``limit`` tasks), and the ids of the
    episodes where the two verdicts differ."""
    tasks = load_tasks([f"bfcl:{subset}"])[:limit]
    made = [variant_task(task, variant, seed) for task in tasks for variant in VARIANTS]
    runnable = {t.id: t for t in made if t is not None}
    result = await run(list(runnable.values()), model="oracle", agent="single", concurrency=8)
    rows = {variant: AgreementRow(variant) for variant in VARIANTS}
    disagree = []
    for episode in result.episodes:
        task = runnable[episode.task_id]
        theirs, _ = bfcl_verdict(task, episode.trajectory)
        ours = episode.outcome == "passed"
        rows[task.id.rsplit(":", 1)[1]].add(theirs, ours)
        if theirs != ours:
            disagree.append(task.id)
    return list(rows.values()), sorted(disagree)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subset", default="multi_turn_base")
    parser.add_argument("--limit", type=int, default=None, help="only the first N tasks")
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args()
    t0 = time.perf_counter()
    rows, disagree = asyncio.run(agreement(options.subset, options.limit, options.seed))
    print(agreement_table(rows))
    print(f"\n{sum(r.episodes for r in rows)} episodes in {time.perf_counter() - t0:.1f} s")
    if disagree:
        print("verdicts differ:", ", ".join(disagree))
        raise SystemExit(1)


if __name__ == "__main__":
    main()
