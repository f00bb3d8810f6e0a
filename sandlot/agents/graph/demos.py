"""Demonstrations: past successful episodes of similar requests, shown to the agent.

A :class:`DemoSource` names a trace file. Before an episode starts, :func:`select_demos`
ranks the episodes of that file that passed by how close their task's instruction is
to this task's (Okapi BM25 over the instructions, :func:`sandlot.retrieval.text.tokenize`
terms) and keeps the ``k`` best. Each one is shown in a compact form
(:func:`demo_text`): its request, its tool calls with their arguments and short
results, and its answer, at most ``max_chars`` characters.

Never shown: an episode of the same task id, an episode of the run being recorded, or
(``before``) one that ended after the run started — so a run whose source is its own
trace file never learns from itself, and a resume or a replay selects the same
demonstrations again.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sandlot.environments.trajectory import SUBMIT_TOOL
from sandlot.retrieval.text import tokenize
from sandlot.traces.query import TraceReader

__all__ = ["Demo", "DemoSource", "demo_text", "rank_instructions", "select_demos"]

RESULT_CHARS = 160
"""How much of each tool result a demonstration shows."""


@dataclass(frozen=True)
class DemoSource:
    """Where demonstrations come from: a trace file, how many to show (``k``), how long
    each may be (``max_chars``), and the time before which a shown episode must have
    ended (``before``; ``run`` sets it to the run's start when it is None)."""

    path: str
    k: int = 2
    max_chars: int = 1500
    before: float | None = None

    def __post_init__(self) -> None:
        if not str(self.path).strip():
            raise ValueError("a demonstration source needs a trace file path")
        if self.k < 1:
            raise ValueError(f"demos k must be at least 1, got {self.k}")
        if self.max_chars < 200:
            raise ValueError(f"demos max_chars must be at least 200, got {self.max_chars}")

    def recorded(self) -> dict[str, Any]:
        """As ``runs.config`` records it (:meth:`from_recorded` reads it back)."""
        return {
            "path": str(self.path),
            "k": self.k,
            "max_chars": self.max_chars,
            "before": self.before,
        }

    @classmethod
    def from_recorded(cls, value: Any) -> DemoSource | None:
        """The source a run recorded (None when it had none)."""
        if isinstance(value, DemoSource) or value is None:
            return value
        if not isinstance(value, dict) or not value.get("path"):
            return None
        return cls(
            path=str(value["path"]),
            k=int(value.get("k") or 2),
            max_chars=int(value.get("max_chars") or 1500),
            before=value.get("before"),
        )


@dataclass(frozen=True)
class Demo:
    """One demonstration chosen for an episode."""

    episode_id: str
    task_id: str
    run_id: str
    score: float  # BM25 similarity of its instruction to the request's
    instruction: str
    text: str  # its compact form, as the agent is shown it


def rank_instructions(query: str, docs: list[str]) -> list[tuple[int, float]]:
    """Okapi BM25 of each instruction in ``docs`` against ``query``: (index, score) for
    those sharing a term with it, best first (ties keep the order of ``docs``)."""
    k1, b = 1.5, 0.75
    terms = [Counter(tokenize(d)) for d in docs]
    n = len(terms)
    if not n:
        return []
    avg = sum(sum(t.values()) for t in terms) / n or 1.0
    df: Counter[str] = Counter()
    for t in terms:
        df.update(t.keys())
    scores: dict[int, float] = {}
    for term in dict.fromkeys(tokenize(query, query=True)):
        if not df[term]:
            continue
        idf = math.log(1 + (n - df[term] + 0.5) / (df[term] + 0.5))
        for i, t in enumerate(terms):
            tf = t.get(term, 0)
            if tf:
                norm = k1 * (1 - b + b * sum(t.values()) / avg)
                scores[i] = scores.get(i, 0.0) + idf * tf * (k1 + 1) / (tf + norm)
    return sorted(((i, round(s, 4)) for i, s in scores.items() if s > 0), key=lambda p: -p[1])


def _short(text: Any, limit: int) -> str:
    text = " ".join(str(text if text is not None else "").split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


def demo_text(
    instruction: str,
    calls: list[dict[str, Any]],
    answer: str | None,
    max_chars: int = 1500,
) -> str:
    """A demonstration's compact form: the request, each tool call as
    ``N. name {arguments} -> result`` (the result cut to a short line), and the answer;
    calls that do not fit in ``max_chars`` are left out and counted."""
    head = f"Request: {_short(instruction, 400)}\nTool calls:"
    tail = f"Answer: {_short(answer, 300)}" if answer else "Answer: (none)"
    lines: list[str] = []
    used = len(head) + len(tail) + 2
    for i, c in enumerate(calls):
        args = json.dumps(c.get("arguments") or {}, ensure_ascii=False, sort_keys=True)
        line = f"{i + 1}. {c['name']} {args} -> {_short(c.get('content'), RESULT_CHARS)}"
        if used + len(line) + 1 > max_chars - 40:
            lines.append(f"({len(calls) - i} more calls not shown)")
            break
        lines.append(line)
        used += len(line) + 1
    if not lines:
        lines.append("(none)")
    return "\n".join([head, *lines, tail])[:max_chars]


def _episode_calls(reader: TraceReader, episode_id: str) -> list[dict[str, Any]]:
    """The successful tool calls an episode made, in order (submit_answer left out)."""
    calls = []
    for e in reader.events(episode_id, kinds=("tool_call",), messages=False):
        p = e["payload"]
        if e["name"] == SUBMIT_TOOL or not p.get("ok"):
            continue
        calls.append(
            {"name": e["name"], "arguments": p.get("arguments"), "content": p.get("content")}
        )
    return calls


def select_demos(
    source: DemoSource,
    instruction: str,
    task_id: str,
    *,
    run_id: str | None = None,
) -> list[Demo]:
    """The ``source.k`` passed episodes of ``source.path`` whose instructions are closest
    to ``instruction``: never one of task ``task_id``, of run ``run_id``, or that ended
    after ``source.before``; at most one per task (its latest). Empty when the file is
    missing or nothing is similar."""
    path = Path(source.path)
    if not path.exists():
        return []
    with TraceReader(path) as reader:
        instructions: dict[str, str] = {}  # per (run, task): its instruction
        candidates: dict[str, dict[str, Any]] = {}  # per task: its latest passed episode
        for row in reader.episodes(success=True, order_by="started"):
            if row.get("outcome") != "passed" or row["task_id"] == task_id:
                continue
            if run_id is not None and row["run_id"] == run_id:
                continue
            ended = row.get("ended")
            if source.before is not None and (ended is None or ended >= source.before):
                continue
            key = f"{row['run_id']}\0{row['task_id']}"
            if key not in instructions:
                task = reader.task(row["run_id"], row["task_id"])
                if task is None:
                    continue
                instructions[key] = task.instruction
            candidates[row["task_id"]] = {**row, "instruction": instructions[key]}
        rows = list(candidates.values())
        ranked = rank_instructions(instruction, [r["instruction"] for r in rows])
        demos = []
        for i, score in ranked[: source.k]:
            row = rows[i]
            text = demo_text(
                row["instruction"],
                _episode_calls(reader, row["id"]),
                row.get("answer"),
                source.max_chars,
            )
            demos.append(
                Demo(row["id"], row["task_id"], row["run_id"], score, row["instruction"], text)
            )
    return demos
