"""What running episodes returns: per-episode results and the run's summary."""

from __future__ import annotations

from dataclasses import dataclass, field
from math import comb
from typing import Any

__all__ = ["EpisodeResult", "RunResult", "pass_at_k"]


@dataclass
class EpisodeResult:
    """One episode's outcome. ``status`` is done / error / interrupted; ``success`` is
    None only when the episode was never scored."""

    episode_id: str
    task_id: str
    epoch: int = 0
    status: str = "done"
    success: bool | None = None
    score: float | None = None
    answer: str | None = None
    error: str | None = None
    verdicts: list[Any] = field(default_factory=list)
    steps: int = 0
    model_calls: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    duration: float = 0.0
    graph_time: float = 0.0  # seconds inside the LangGraph run
    model_time: float = 0.0  # seconds inside model calls
    tool_time: float = 0.0  # seconds inside tool calls
    node_runs: int = 0  # graph node executions
    sandbox_backend: str | None = None

    @property
    def tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens

    @property
    def overhead(self) -> float:
        """Seconds of framework time in the graph: outside the model and the tools."""
        return max(0.0, self.graph_time - self.model_time - self.tool_time)


def pass_at_k(n: int, c: int, k: int) -> float:
    """The unbiased pass@k estimator for c successes in n samples (Chen et al., 2021)."""
    if k > n:
        raise ValueError(f"pass@k needs k <= n (k={k}, n={n})")
    if n - c < k:
        return 1.0
    return 1.0 - comb(n - c, k) / comb(n, k)


@dataclass
class RunResult:
    run_id: str
    episodes: list[EpisodeResult]
    epochs: int = 1
    db: str | None = None

    def summary(self) -> dict[str, Any]:
        eps = self.episodes
        n = len(eps)
        scores = [e.score for e in eps if e.score is not None]
        by_task: dict[str, list[EpisodeResult]] = {}
        for e in eps:
            by_task.setdefault(e.task_id, []).append(e)
        out: dict[str, Any] = {
            "run_id": self.run_id,
            "episodes": n,
            "tasks": len(by_task),
            "done": sum(e.status == "done" for e in eps),
            "errors": sum(e.status == "error" for e in eps),
            "interrupted": sum(e.status == "interrupted" for e in eps),
            "success_rate": (sum(bool(e.success) for e in eps) / n) if n else 0.0,
            "mean_score": (sum(scores) / len(scores)) if scores else 0.0,
            "tokens": sum(e.tokens for e in eps),
            "model_calls": sum(e.model_calls for e in eps),
            "tool_calls": sum(e.tool_calls for e in eps),
            "duration": sum(e.duration for e in eps),
        }
        if self.epochs > 1 and by_task:
            k = self.epochs
            out[f"pass@{k}"] = sum(
                pass_at_k(len(v), sum(bool(e.success) for e in v), min(k, len(v)))
                for v in by_task.values()
            ) / len(by_task)
        return out
