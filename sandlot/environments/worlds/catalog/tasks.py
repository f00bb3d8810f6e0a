"""Tasks of the catalog world: one labelled query each, checked by the tool called."""

from __future__ import annotations

import random

from sandlot.environments.tasks import (
    CalledCheck,
    ChecklistItem,
    ReferenceCall,
    ReferenceSolution,
    Task,
)
from sandlot.environments.worlds.catalog.catalog import CatalogQuery, load_catalog

__all__ = ["catalog_task", "catalog_tasks"]

ANSWER = "Done."


def catalog_task(query: CatalogQuery, original_name: str | None = None) -> Task:
    """The task of one query: its text is the instruction, the checklist asks for a
    successful call of the expected tool, and the reference solution is that call with
    the ground-truth arguments (none when they are not plain JSON the tool takes)."""
    reference = None
    if query.args is not None:
        reference = ReferenceSolution(
            calls=[ReferenceCall(tool=query.tool, args=query.args)], answer=ANSWER
        )
    return Task(
        id=f"catalog-{query.id}",
        environment="catalog",
        instruction=query.text,
        reference=reference,
        checklist=[
            ChecklistItem(
                id="called",
                description=f"calls {query.tool}",
                check=CalledCheck(tool=query.tool),
            )
        ],
        max_tool_calls=10,
        tags=["catalog", query.category],
        metadata={"bfcl_id": query.id, "bfcl_function": original_name or query.tool},
    )


def catalog_tasks(
    n: int | None = None, seed: int = 0, *, with_reference: bool = True
) -> list[Task]:
    """``n`` tasks of the catalog's queries drawn at random with ``seed`` (every one when
    ``n`` is None, in BFCL's order).

    Args:
        n: How many (at most as many as there are).
        seed: The draw's seed: the same seed gives the same tasks.
        with_reference: Only queries with a reference solution (so the ``oracle`` model
            can play them).

    Raises:
        UserError: ``bfcl-eval`` is not installed.
        ValueError: ``n`` is negative.
    """
    if n is not None and n < 0:
        raise ValueError(f"n must be at least 0, got {n}")
    catalog = load_catalog()
    queries = [q for q in catalog.queries if q.args is not None or not with_reference]
    if n is not None:
        queries = random.Random(seed).sample(queries, min(n, len(queries)))
    return [catalog_task(q, catalog.original_names.get(q.tool)) for q in queries]
