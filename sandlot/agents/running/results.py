"""What running episodes returns: per-episode results and the run's summary.

An :class:`EpisodeResult` wraps the episode's one record (its
:class:`~sandlot.environments.trajectory.Trajectory`) with its verdicts and outcome; its
counters are read from the record, never copied.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandlot.environments.checklist import Verdict
from sandlot.environments.trajectory import Outcome, Trajectory, is_success
from sandlot.traces.query import TraceReader
from sandlot.traces.summary import pass_at_k, summarize

__all__ = ["EpisodeResult", "RunResult", "pass_at_k"]


@dataclass
class EpisodeResult:
    """One episode: its record, verdicts, score and outcome (None while unfinished)."""

    episode_id: str
    task_id: str
    epoch: int = 0
    trajectory: Trajectory = field(default_factory=Trajectory)
    outcome: Outcome | None = None
    score: float | None = None
    verdicts: list[Verdict] = field(default_factory=list)
    duration: float = 0.0
    graph_time: float = 0.0  # seconds inside the LangGraph run
    node_runs: int = 0  # graph node executions
    sandbox_backend: str | None = None

    @property
    def success(self) -> bool:
        return is_success(self.outcome)

    @property
    def status(self) -> str:
        """The lifecycle: running, done, error or interrupted."""
        if self.outcome is None:
            return "running"
        return self.outcome if self.outcome in ("error", "interrupted") else "done"

    @property
    def answer(self) -> str | None:
        return self.trajectory.answer

    @property
    def error(self) -> str | None:
        return self.trajectory.error

    @property
    def end_reason(self) -> str | None:
        return self.trajectory.ended

    @property
    def steps(self) -> int:
        return self.trajectory.steps

    @property
    def model_calls(self) -> int:
        return self.trajectory.n_model_calls

    @property
    def tool_calls(self) -> int:
        return self.trajectory.n_tool_calls

    @property
    def tool_errors(self) -> int:
        return self.trajectory.tool_errors

    @property
    def prompt_tokens(self) -> int:
        return self.trajectory.prompt_tokens

    @property
    def completion_tokens(self) -> int:
        return self.trajectory.completion_tokens

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def cost(self) -> float | None:
        """USD its model calls cost, or None when the model had no price."""
        return self.trajectory.cost

    @property
    def model_time(self) -> float:
        """Seconds inside model calls."""
        return sum(m.latency for m in self.trajectory.model_calls)

    @property
    def tool_time(self) -> float:
        """Seconds inside tool calls."""
        return sum(c.duration for c in self.trajectory.tool_calls)

    @property
    def overhead(self) -> float:
        """Seconds of framework time in the graph: outside the model and the tools."""
        return max(0.0, self.graph_time - self.model_time - self.tool_time)

    def row(self) -> dict[str, Any]:
        """What the run summary reads of this episode."""
        return {
            "task_id": self.task_id,
            "outcome": self.outcome,
            "score": self.score,
            "tokens": self.tokens,
            "model_calls": self.model_calls,
            "tool_calls": self.tool_calls,
            "duration": self.duration,
            "cost": self.cost,
        }


@dataclass
class RunResult:
    run_id: str
    episodes: list[EpisodeResult]
    epochs: int = 1
    db: str | None = None

    def summary(self) -> dict[str, Any]:
        """The run's summary: the same function the trace reader and viewer use (the
        per-tag rows need the run's trace file, where the tasks' tags are saved)."""
        tags: dict[str, list[str]] = {}
        if self.db and Path(self.db).exists():
            with TraceReader(self.db) as reader:
                tags = reader.task_tags(self.run_id)
        return summarize(
            (e.row() for e in self.episodes), run_id=self.run_id, epochs=self.epochs, tags=tags
        )
