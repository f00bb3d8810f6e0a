"""AgentDojo's suites as sandlot worlds, checked against AgentDojo itself.

For every user task of the chosen suites, the gold call list and three wrong ones (a
call dropped, an argument changed, a call added) run twice: as a sandlot episode (the
oracle model plays the list through the planner/executor graph in the suite's world,
and the checklist scores it) and through AgentDojo's own benchmark path (its
environment loading, tool execution and utility check). The table counts how often the
two verdicts agree.

Needs the agentdojo extra (pip install 'sandlot[agentdojo]').

    python examples/agentdojo_agreement.py banking slack
"""

from __future__ import annotations

import asyncio
import sys
import warnings
from dataclasses import dataclass

from sandlot import load_tasks, run
from sandlot.environments.worlds.agentdojo.agreement import (
    VARIANTS,
    Variant,
    agentdojo_verdict,
    variant_task,
    variants,
)
from sandlot.environments.worlds.agentdojo.source import VERSION


@dataclass(frozen=True)
class Episode:
    """One call list's two verdicts."""

    variant: Variant
    agentdojo: bool
    sandlot: bool
    agentdojo_error: str | None = None

    @property
    def agree(self) -> bool:
        return self.agentdojo == self.sandlot


async def measure(suite: str, version: str = VERSION, seed: int = 0) -> list[Episode]:
    """Both verdicts on every variant of every user task of ``suite``."""
    tasks = load_tasks(
        [f"agentdojo:{suite}" if version == VERSION else f"agentdojo:{suite}@{version}"]
    )
    runs = []
    for task in tasks:
        user_task = task.metadata["agentdojo"]["user_task"]
        for variant in variants(suite, version, user_task, seed):
            runs.append((variant, variant_task(task, variant)))
    # Task ids must be unique within a run: one run per variant kind.
    verdicts: dict[tuple[str, str], bool] = {}
    for kind in VARIANTS:
        batch = [t for v, t in runs if v.kind == kind]
        result = await run(batch, model="oracle", concurrency=8)
        for episode in result.episodes:
            verdicts[(kind, episode.task_id)] = episode.success
    out = []
    for variant, task in runs:
        theirs, error = agentdojo_verdict(variant, version)
        out.append(Episode(variant, theirs, verdicts[(variant.kind, task.id)], error))
    return out


def table(episodes_by_suite: dict[str, list[Episode]]) -> str:
    """The agreement table in Markdown: suite, variant, episodes, AgentDojo pass,
    sandlot pass, agree."""
    lines = [
        "| suite | variant | episodes | AgentDojo pass | sandlot pass | agree |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for suite, episodes in episodes_by_suite.items():
        for kind in VARIANTS:
            rows = [e for e in episodes if e.variant.kind == kind]
            lines.append(
                f"| {suite} | {kind} | {len(rows)} | {sum(e.agentdojo for e in rows)} "
                f"| {sum(e.sandlot for e in rows)} | {sum(e.agree for e in rows)}/{len(rows)} |"
            )
    return "\n".join(lines)


async def main(suites: list[str]) -> int:
    warnings.filterwarnings("ignore")  # agentdojo's own deprecation warnings
    found = {suite: await measure(suite) for suite in suites}
    print(table(found))
    disagreements = [e for episodes in found.values() for e in episodes if not e.agree]
    for e in disagreements:
        print(
            f"DISAGREE {e.variant.suite} {e.variant.user_task} {e.variant.kind}: "
            f"AgentDojo {e.agentdojo}, sandlot {e.sandlot} {e.variant.change}"
        )
    total = sum(len(episodes) for episodes in found.values())
    print(f"agreement: {total - len(disagreements)}/{total}")
    return 1 if disagreements else 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main(sys.argv[1:] or ["banking", "slack"])))
