"""The planner prompt at catalog scale: the store world with 400 generated extra tools.

Runs the oracle over the store tasks twice — the planner shown the whole catalog
(``planner_catalog_limit=0``) and shown the retriever's shortlist (the defaults) — and
prints the planner prompt's size in characters (the user message that lists the tools,
and the whole prompt with the system message and policy), whether the oracle still
passes, and its retrieval hit rate (every plan step's need offered among the top k).
The same figures without the extra tools come first, for scale.

    python bench/bench_planner_prompt.py [--extra 400] [--tasks examples/tasks/store]
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import statistics
import tempfile
from pathlib import Path
from typing import Any

from sandlot.agents.graph.runtime import AgentConfig
from sandlot.agents.models import ModelRequest, ModelResponse, OracleModel
from sandlot.agents.running.runner import run
from sandlot.environments.loader import load_tasks
from sandlot.tools import Tool, Toolset, tool
from sandlot.traces.store import TraceStore

VERBS = [
    ("get", "Look up"),
    ("list", "List"),
    ("create", "Create"),
    ("update", "Update"),
    ("delete", "Delete"),
    ("archive", "Archive"),
    ("export", "Export"),
    ("approve", "Approve"),
    ("search", "Search"),
    ("sync", "Synchronise"),
]
NOUNS = [
    "invoice",
    "supplier",
    "warehouse",
    "pallet",
    "shift",
    "employee",
    "timesheet",
    "payroll_run",
    "purchase_order",
    "contract",
    "asset",
    "budget",
    "expense_claim",
    "vehicle",
    "route",
    "delivery_slot",
    "coupon_campaign",
    "newsletter",
    "survey",
    "review",
    "loyalty_program",
    "gift_card",
    "price_list",
    "tax_rate",
    "currency",
    "region",
    "store_location",
    "opening_hours",
    "inventory_count",
    "stock_transfer",
    "return_label",
    "courier",
    "parcel",
    "customs_form",
    "bank_account",
    "ledger_entry",
    "audit_log",
    "api_key",
    "webhook",
    "report",
]


def _extra_tool(verb: str, doing: str, noun: str) -> Tool:
    words = noun.replace("_", " ")

    def handler(item_id: str, note: str = "") -> str:
        """Placeholder (replaced by the description below).

        Args:
            item_id: The id of the record.
            note: Free text to keep with the change.
        """
        return item_id

    description = f"{doing} a {words} record of the back office by its id."
    return tool(name=f"{verb}_{noun}", description=description)(handler)


def extra_tools(n: int) -> Toolset:
    """``n`` generated back-office tools (verb x noun), none of them the store's."""
    made = [_extra_tool(v, d, noun) for noun in NOUNS for v, d in VERBS][:n]
    return Toolset("back_office", made)


class PromptRecorder(OracleModel):
    """The oracle, keeping the size of every planner prompt it is sent."""

    def __init__(self) -> None:
        self.user: list[int] = []
        self.whole: list[int] = []

    async def complete(self, request: ModelRequest) -> ModelResponse:
        if request.purpose == "plan":
            texts = [str(m.get("content") or "") for m in request.messages]
            self.user.append(len(texts[-1]))
            self.whole.append(sum(len(t) for t in texts))
        return await super().complete(request)


async def measure(tasks: list[Any], extra: int, config: AgentConfig, db: Path) -> dict[str, Any]:
    model = PromptRecorder()
    options = {"extra_tools": [extra_tools(extra)]} if extra else None
    result = await run(
        tasks, model=model, db=db, agent=config, env_options=options, checkpoints=False
    )
    hits: list[bool] = []
    with TraceStore(db) as store:
        for episode in store.episodes():
            for event in store.events(episode["id"], kinds=["retrieval"]):
                if event["payload"].get("hit") is not None:
                    hits.append(bool(event["payload"]["hit"]))
    return {
        "passed": sum(e.success for e in result.episodes),
        "episodes": len(result.episodes),
        "user chars (mean)": statistics.mean(model.user),
        "user chars (max)": max(model.user),
        "prompt chars (mean)": statistics.mean(model.whole),
        "hit rate": sum(hits) / len(hits) if hits else float("nan"),
        "steps judged": len(hits),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--extra", type=int, default=400, help="generated tools to add")
    parser.add_argument("--tasks", default="examples/tasks/store")
    args = parser.parse_args()
    tasks = load_tasks([args.tasks])
    default = AgentConfig()
    whole = dataclasses.replace(default, planner_catalog_limit=0)
    cases = [
        ("store only, whole catalog", 0, whole),
        (f"+{args.extra} tools, whole catalog (before)", args.extra, whole),
        (f"+{args.extra} tools, shortlist (after)", args.extra, default),
    ]
    print(
        f"{len(tasks)} tasks; shortlist above {default.planner_catalog_limit} tools: "
        f"top {default.planner_shortlist}; executor k={default.k}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        for i, (label, extra, config) in enumerate(cases):
            row = asyncio.run(measure(tasks, extra, config, Path(tmp) / f"{i}.db"))
            print(
                f"{label:40} planner user message {row['user chars (mean)']:>8,.0f} chars "
                f"(max {row['user chars (max)']:,}), whole prompt "
                f"{row['prompt chars (mean)']:>8,.0f}; oracle passed "
                f"{row['passed']}/{row['episodes']}; retrieval hit "
                f"{row['hit rate']:.1%} of {row['steps judged']} steps"
            )


if __name__ == "__main__":
    main()
