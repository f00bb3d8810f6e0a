"""Trace writer throughput: events per second from emit() to committed rows.

Writes N events with realistic payloads (a mix of tool calls, model calls and node
spans, a few hundred bytes of JSON each) through StoreRecorder, and prints, per
configuration: the producer's cost per emit (what the agent loop pays) and events per
second end to end (until flush() returns). Run from the repository root:

    PYTHONPATH=. python bench/bench_trace_writer.py [--events 200000]
"""

from __future__ import annotations

import argparse
import tempfile
import threading
import time
from pathlib import Path

from sandlot.traces import TraceStore
from sandlot.traces.redact import Redactor, dumps

__all__ = ["PAYLOADS", "main", "measure"]

TOOL_CALL = {
    "call_id": "call_8f2a91",
    "arguments": {"order_id": 1042, "reason": "customer asked", "items": [1, 2, 3]},
    "arguments_raw": '{"order_id": 1042, "reason": "customer asked", "items": [1, 2, 3]}',
    "ok": True,
    "error_kind": None,
    "content": '{"order_id":1042,"status":"cancelled","refund":129.5,"note":"' + "x" * 120 + '"}',
    "offered": True,
    "step_index": 2,
}
MODEL_CALL = {
    "purpose": "execute",
    "step_index": 2,
    "messages": [
        {"role": "system", "content": "You are a careful support agent. Use the tools."},
        {"role": "user", "content": "Cancel order 1042 and refund the customer."},
    ],
    "tools": ["get_order", "cancel_order", "refund"],
    "response": {
        "content": None,
        "tool_calls": [
            {"id": "call_8f2a91", "name": "cancel_order", "arguments": '{"order_id": 1042}'}
        ],
    },
    "usage": {"prompt_tokens": 412, "completion_tokens": 23},
    "latency": 0.8123,
    "model": "gpt-4o-mini",
}
NODE = {"step_index": 2}
PAYLOADS = [
    ("tool_call", "cancel_order", TOOL_CALL),
    ("model_call", "execute", MODEL_CALL),
    ("node", "executor", NODE),
]


def _produce(store: TraceStore, run_id: str, n: int, costs: list[float]) -> None:
    rec = store.start_episode(run_id, "bench")
    t0 = time.perf_counter()
    for i in range(n):
        kind, name, payload = PAYLOADS[i % len(PAYLOADS)]
        rec.event(kind, name, payload, parent=0, duration=0.001)
    costs.append(time.perf_counter() - t0)


def measure(events: int, *, batch_size: int = 1000, producers: int = 1) -> dict[str, float]:
    """Write ``events`` events from ``producers`` threads; producer and end-to-end figures."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "bench.db"
        store = TraceStore(path, batch_size=batch_size, secrets=["sk-bench-0123456789abcdef"])
        run_id = store.start_run(model="bench", agent="bench", config={})
        store.flush()
        per = events // producers
        costs: list[float] = []
        threads = [
            threading.Thread(target=_produce, args=(store, run_id, per, costs))
            for _ in range(producers)
        ]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        store.flush()
        total = time.perf_counter() - t0
        batches = store._writer.batches if store._writer else 0
        store.close()
        size = sum(p.stat().st_size for p in Path(tmp).iterdir())
    n = per * producers
    return {
        "emit_us": 1e6 * sum(costs) / n,
        "events_per_s": n / total,
        "batches": batches,
        "mb": size / 1e6,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=200_000)
    args = parser.parse_args()
    sizes = [len(dumps(p)) for _, _, p in PAYLOADS]
    redactor = Redactor(["sk-bench-0123456789abcdef"])
    n = 20_000
    t0 = time.perf_counter()
    for i in range(n):
        redactor.json(PAYLOADS[i % len(PAYLOADS)][2])
    encode_us = 1e6 * (time.perf_counter() - t0) / n
    print(f"{args.events:,} events; payload JSON sizes {sizes} bytes")
    print(f"encoding + redaction alone: {encode_us:.1f} us per payload\n")
    print(f"{'configuration':<34} {'us/emit':>8} {'events/s':>11} {'batches':>8} {'file MB':>8}")
    for label, kwargs in [
        ("batch 1000 (default), 1 producer", {}),
        ("batch 5000, 1 producer", {"batch_size": 5000}),
        ("batch 1000, 4 producer threads", {"producers": 4}),
    ]:
        r = measure(args.events, **kwargs)
        print(
            f"{label:<34} {r['emit_us']:>8.1f} {r['events_per_s']:>11,.0f} "
            f"{r['batches']:>8.0f} {r['mb']:>8.1f}"
        )


if __name__ == "__main__":
    main()
