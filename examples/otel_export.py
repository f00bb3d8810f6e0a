"""A stored episode as OpenTelemetry spans: run one store task with the oracle model,
then print the span tree `sandlot export --format otlp` would send (the otel extra).

    python examples/otel_export.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

from sandlot.traces.otel import episode_spans
from sandlot.traces.query import TraceReader

TASKS = Path(__file__).parent / "tasks/store/orders.yaml"

with tempfile.TemporaryDirectory() as tmp:
    db = Path(tmp) / "t.db"
    run = [sys.executable, "-m", "sandlot.cli", "run", str(TASKS), "--model", "oracle"]
    subprocess.run([*run, "--db", str(db)], check=True, capture_output=True)
    with TraceReader(db) as reader:
        episode = reader.episodes()[0]
        spans = episode_spans(reader, episode["id"])
    depth = {}
    for span in spans:
        parent = span.parent.span_id if span.parent else None
        depth[span.context.span_id] = depth.get(parent, -1) + 1
        attrs = span.attributes or {}
        tokens = ""
        if "gen_ai.usage.input_tokens" in attrs:
            tokens = f" in={attrs['gen_ai.usage.input_tokens']} out={attrs['gen_ai.usage.output_tokens']}"
        print("  " * depth[span.context.span_id] + span.name + tokens)
    print(f"{len(spans)} spans, one trace: {spans[0].context.trace_id:032x}")
