"""Tool retrieval at catalog scale: recall@1/3/5/10, MRR@10 and latency per query over
the catalog world's labelled queries (BFCL's requests, ~1,300 tools).

Each retriever is built once for the catalog (the build time is reported: an index,
or the embedding of every tool with a cold embedding cache), then ranks every query
for its top 10; latency is that ranking alone. Retrievers:

* ``today``: the BM25 retriever sandlot had before ``sandlot.retrieval``
  (bench/legacy_bm25.py, kept verbatim);
* ``bm25``, ``embedding``, ``hybrid``: through ``sandlot.retrieval.retriever_for``
  (one that cannot be built here, e.g. without the embeddings extra, is skipped with a
  note);
* ``hybrid w=E:B k=K``: the hybrid fusion re-weighted (``--hybrid-weights``,
  ``--rrf-k``) over the same two rankings of each query (computed once: these rows'
  latency is the fusion alone); the best setting is reported.

    python bench/bench_retrieval.py                 # every query
    python bench/bench_retrieval.py --sample 2000   # a seeded sample
    python bench/bench_retrieval.py --hybrid-weights 1:0.3,1:1 --rrf-k 60,10

Needs ``bfcl-eval`` (``make catalog``); the embedding rows need the embeddings extra.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))  # legacy_bm25, beside this file

from sandlot.environments.worlds.catalog import CatalogQuery, load_catalog  # noqa: E402
from sandlot.tools import Toolset  # noqa: E402

__all__ = ["Row", "evaluate", "main"]

CUTOFFS = (1, 3, 5, 10)
TARGETS = (
    "hybrid recall@5 >= today + 20 points; bm25 recall@5 >= today + 6 points; "
    "hybrid latency < 20 ms per query"
)


@dataclass
class Row:
    """One retriever's figures (recalls and MRR in percent, times in milliseconds)."""

    retriever: str
    queries: int
    recall: dict[int, float]
    mrr: float
    mean_ms: float
    p95_ms: float
    build_s: float


def evaluate(
    name: str,
    rank: Callable[[str, int], list[Any]],
    queries: Sequence[CatalogQuery],
    build_s: float,
) -> Row:
    """Rank every query's text for its top 10 and score where the expected tool came."""
    found = {k: 0 for k in CUTOFFS}
    reciprocal = 0.0
    times: list[float] = []
    for q in queries:
        t0 = time.perf_counter()
        ranking = rank(q.text, max(CUTOFFS))
        times.append(time.perf_counter() - t0)
        names = [r.tool for r in ranking]
        if q.tool in names:
            position = names.index(q.tool) + 1
            reciprocal += 1 / position
            for k in CUTOFFS:
                found[k] += position <= k
    n = len(queries)
    times.sort()
    return Row(
        retriever=name,
        queries=n,
        recall={k: 100 * found[k] / n for k in CUTOFFS},
        mrr=100 * reciprocal / n,
        mean_ms=1000 * statistics.fmean(times),
        p95_ms=1000 * times[min(n - 1, int(0.95 * n))],
        build_s=build_s,
    )


def _timed(build: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    built = build()
    return built, time.perf_counter() - t0


def _new_retriever(toolset: Toolset, spec: str) -> tuple[Any, float] | str:
    """The retriever and its build time, or why it cannot be built here."""
    try:
        from sandlot.retrieval import retriever_for
    except ImportError as exc:
        return f"sandlot.retrieval is not importable ({exc})"
    try:
        return _timed(lambda: retriever_for(toolset, spec))
    except Exception as exc:  # a missing extra, a module not written yet
        return f"{type(exc).__name__}: {exc}"


class _Memo:
    """A retriever's rankings, each computed once."""

    def __init__(self, retriever: Any) -> None:
        self.retriever = retriever
        self.name = retriever.name
        self._seen: dict[tuple[str, int | None], list[Any]] = {}

    def rank(self, query: str, k: int | None = None) -> list[Any]:
        key = (query, k)
        if key not in self._seen:
            self._seen[key] = self.retriever.rank(query, k)
        return self._seen[key]


def _weights(text: str) -> list[tuple[float, float]]:
    pairs = []
    for part in text.split(","):
        embedding, _, bm25 = part.partition(":")
        pairs.append((float(embedding), float(bm25)))
    return pairs


def _table(rows: list[Row]) -> str:
    head = "| retriever | " + " | ".join(f"recall@{k}" for k in CUTOFFS)
    head += " | MRR@10 | mean ms | p95 ms | build s |"
    lines = [head, "|" + " --- |" * (len(CUTOFFS) + 5)]
    for r in rows:
        recalls = " | ".join(f"{r.recall[k]:.1f}" for k in CUTOFFS)
        build = f"{r.build_s:.2f}" if r.build_s >= 0 else "(shared)"
        lines.append(
            f"| {r.retriever} | {recalls} | {r.mrr:.1f} | {r.mean_ms:.2f} | {r.p95_ms:.2f} "
            f"| {build} |"
        )
    return "\n".join(lines)


def _verdicts(rows: dict[str, Row], hybrid: Row | None) -> list[str]:
    today = rows.get("today")
    out = []
    if today is None:
        return out
    base = today.recall[5]
    if "bm25" in rows:
        gain = rows["bm25"].recall[5] - base
        out.append(f"bm25 recall@5 {gain:+.1f} points over today (target +6): {_ok(gain >= 6)}")
    if hybrid is not None:
        gain = hybrid.recall[5] - base
        out.append(
            f"{hybrid.retriever} recall@5 {gain:+.1f} points over today (target +20): "
            f"{_ok(gain >= 20)}"
        )
        out.append(
            f"{hybrid.retriever} mean latency {hybrid.mean_ms:.2f} ms (target < 20): "
            f"{_ok(hybrid.mean_ms < 20)}"
        )
    return out


def _ok(met: bool) -> str:
    return "met" if met else "MISSED"


def main(argv: list[str] | None = None) -> list[Row]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sample", type=int, default=0, help="a seeded sample (0: all)")
    parser.add_argument("--seed", type=int, default=0, help="the sample's seed")
    parser.add_argument(
        "--retrievers",
        default="today,bm25,embedding,hybrid",
        help="which to measure, comma-separated (today, bm25, embedding, hybrid)",
    )
    parser.add_argument(
        "--hybrid-weights",
        default="1:0.3,1:0.5,1:1,0.5:1",
        help="embedding:bm25 weight pairs to try for the hybrid fusion, comma-separated",
    )
    parser.add_argument(
        "--rrf-k", default="60,20", help="reciprocal-rank offsets to try, comma-separated"
    )
    parser.add_argument(
        "--warm-cache",
        action="store_true",
        help="keep the on-disk embedding cache (default: a fresh one, so the build is cold)",
    )
    parser.add_argument("--json", type=Path, help="also write the rows to this JSON file")
    args = parser.parse_args(argv)
    if not args.warm_cache:
        os.environ["XDG_CACHE_HOME"] = tempfile.mkdtemp(prefix="sandlot-bench-cache-")

    catalog, load_s = _timed(load_catalog)
    queries = list(catalog.queries)
    if args.sample and args.sample < len(queries):
        queries = random.Random(args.seed).sample(queries, args.sample)
    toolset = catalog.toolset
    print(
        f"catalog: {len(toolset)} tools ({len(catalog.variants)} names defined several ways, "
        f"one definition kept each), {len(catalog.queries)} labelled queries, "
        f"{len(queries)} measured; loaded in {load_s:.2f} s"
    )
    wanted = [w.strip() for w in args.retrievers.split(",") if w.strip()]
    rows: dict[str, Row] = {}
    built: dict[str, Any] = {}
    for name in wanted:
        if name == "today":
            from legacy_bm25 import BM25ToolRetriever

            retriever, build_s = _timed(lambda: BM25ToolRetriever(toolset))
        else:
            made = _new_retriever(toolset, name)
            if isinstance(made, str):
                print(f"skipped {name}: {made}")
                continue
            retriever, build_s = made
        built[name] = retriever
        rows[name] = evaluate(name, retriever.rank, queries, build_s)
        print(f"measured {name}", flush=True)

    tuned: list[Row] = []
    if "embedding" in built and "bm25" in built:
        from sandlot.retrieval.hybrid import HybridRetriever

        # Each setting fuses the same two rankings of a query: they are computed once
        # (the recalls are exact; a setting's latency is the fusion alone, to which the
        # two rankings' time adds — see the hybrid row).
        embedding, bm25 = _Memo(built["embedding"]), _Memo(built["bm25"])
        for q in queries:
            embedding.rank(q.text, None)
            bm25.rank(q.text, None)
        for embedding_weight, bm25_weight in _weights(args.hybrid_weights):
            for rrf_k in (float(k) for k in args.rrf_k.split(",")):
                fused = HybridRetriever(
                    embedding,
                    bm25,
                    embedding_weight=embedding_weight,
                    bm25_weight=bm25_weight,
                    rrf_k=rrf_k,
                )
                label = f"hybrid w={embedding_weight:g}:{bm25_weight:g} k={rrf_k:g}"
                tuned.append(evaluate(label, fused.rank, queries, -1.0))
    all_rows = [*rows.values(), *tuned]
    print()
    print(_table(all_rows))
    best = max(tuned, key=lambda r: (r.recall[5], r.mrr), default=None)
    if best is not None:
        print(f"\nbest fusion: {best.retriever} (recall@5 {best.recall[5]:.1f})")
    print(f"\ntargets: {TARGETS}")
    for line in _verdicts(rows, rows.get("hybrid")):
        print(f"  {line}")
    if best is not None and "hybrid" in rows and best.recall[5] > rows["hybrid"].recall[5]:
        # its recall only: its latency row is the fusion alone
        print(f"  {_verdicts(rows, best)[1]}")
    if args.json:
        args.json.write_text(json.dumps([asdict(r) for r in all_rows], indent=1))
    return all_rows


if __name__ == "__main__":
    main()
