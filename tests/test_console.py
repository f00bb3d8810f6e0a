"""The run summary on the terminal: past 60 episodes there is no table, but every
episode that did not pass is still listed with why."""

from __future__ import annotations

from rich.console import Console

from sandlot import console as cli_console
from sandlot.agents.running.results import EpisodeResult, RunResult
from sandlot.environments.checklist import Verdict
from sandlot.environments.trajectory import Trajectory


def test_episodes_that_did_not_pass_are_listed_with_why_above_sixty_rows(monkeypatch):
    out = Console(width=200, record=True)
    monkeypatch.setattr(cli_console, "console", out)
    monkeypatch.setattr(cli_console, "err_console", Console(width=200, record=True))
    passed = [
        EpisodeResult(f"p{i}", f"easy-{i:02d}", outcome="passed", score=1.0) for i in range(70)
    ]
    failed = EpisodeResult(
        "f1",
        "refund-task",
        outcome="failed",
        score=0.0,
        verdicts=[Verdict("refund-made", "a refund", "state", False, 1.0, True)],
    )
    budget = EpisodeResult(
        "b1",
        "long-task",
        outcome="budget",
        trajectory=Trajectory(ended="budget", error="model-call budget spent: 5 of 5"),
    )
    cli_console.print_run_summary(RunResult("r", [*passed, failed, budget]))
    text = out.export_text()
    assert "72 episodes (more than 60: no table); 2 did not pass:" in text
    assert "failed refund-task (epoch 0): failed: refund-made" in text
    assert "budget long-task (epoch 0): budget: model calls 5 of 5" in text
    assert "easy-05" not in text
