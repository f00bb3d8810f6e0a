"""Re-execution replay: run a recorded episode again with the recorded model outputs and
fresh tools, compare every tool result with the recorded one, and score it again."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sandlot.agents.after.stored import load_episode
from sandlot.agents.models.replay import ReplayModel
from sandlot.agents.running.results import EpisodeResult
from sandlot.agents.running.runner import (
    open_store,
    recorded_agent_config,
    run_episode,
    stored_agent_config,
)
from sandlot.agents.running.world_options import run_world_options, stored_world_options
from sandlot.environments.trajectory import SUBMIT_TOOL, trajectory_from_events
from sandlot.environments.users import RecordedUser
from sandlot.errors import ReplayError

__all__ = [
    "Divergence",
    "ReplayError",
    "ReplayReport",
    "compare_tool_calls",
    "ending_divergence",
    "replay_episode",
]


@dataclass
class Divergence:
    """Where the replay first differed from the recording.

    ``kind`` is ``tool_call`` (a tool result, a call made or not made), ``model`` (the
    replay asked for more model outputs than were recorded, or ended with recorded
    outputs unused), ``outcome`` or ``score`` (the replay ended otherwise).
    """

    index: int  # position among the episode's tool calls, from 0 (-1 when not a call)
    step: int | None  # the plan step it belonged to
    tool: str
    arguments: Any
    recorded: str | None
    new: str | None
    reason: str
    kind: str = "tool_call"

    def describe(self) -> str:
        if self.kind != "tool_call":
            return (
                f"{self.kind}: {self.reason}\n  recorded: {_short(self.recorded)}\n"
                f"  new:      {_short(self.new)}"
            )
        return (
            f"tool call {self.index + 1} (plan step {(self.step or 0) + 1}, {self.tool}): "
            f"{self.reason}\n  recorded: {_short(self.recorded)}\n  new:      {_short(self.new)}"
        )


@dataclass
class ReplayReport:
    original: str
    replay: EpisodeResult
    compared: int
    divergence: Divergence | None = None
    original_score: float | None = None
    comparisons: list[dict[str, Any]] = field(default_factory=list)
    original_outcome: str | None = None
    gaps: list[dict[str, Any]] = field(default_factory=list)  # lost stretches of the recording

    @property
    def matched(self) -> bool:
        return self.divergence is None


def _short(text: str | None, limit: int = 200) -> str:
    if text is None:
        return "(none)"
    return text if len(text) <= limit else text[:limit] + f"... ({len(text)} chars)"


def _tool_calls(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [
        e
        for e in sorted(events, key=lambda e: e["seq"])
        if e["kind"] == "tool_call" and e["name"] != SUBMIT_TOOL
    ]


def compare_tool_calls(
    recorded: list[dict[str, Any]], new: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], Divergence | None]:
    """Compare two episodes' tool_call events in order; (per-call comparisons, first
    divergence or None)."""
    comparisons: list[dict[str, Any]] = []
    first: Divergence | None = None
    for i in range(max(len(recorded), len(new))):
        old = recorded[i] if i < len(recorded) else None
        cur = new[i] if i < len(new) else None
        if old is None or cur is None:
            there = old or cur
            assert there is not None
            reason = (
                "the replay made an extra tool call"
                if old is None
                else "the replay stopped before this call"
            )
            match, fields = False, reason
        else:
            diffs = [f for f in ("name",) if old["name"] != cur["name"]]
            diffs += [
                f
                for f in ("arguments", "content", "ok")
                if old["payload"].get(f) != cur["payload"].get(f)
            ]
            match, fields = not diffs, ", ".join(diffs)
            there = old
        comparisons.append(
            {
                "index": i,
                "tool": there["name"],
                "match": match,
                "differs": None if match else fields,
            }
        )
        if not match and first is None:
            first = Divergence(
                index=i,
                step=there["payload"].get("step_index"),
                tool=there["name"],
                arguments=there["payload"].get("arguments"),
                recorded=None if old is None else old["payload"].get("content"),
                new=None if cur is None else cur["payload"].get("content"),
                reason=fields if old is not None and cur is not None else str(fields),
            )
    return comparisons, first


def ending_divergence(
    model: ReplayModel, original: EpisodeResult, replay: EpisodeResult
) -> Divergence | None:
    """How the replay's ending differs from the recording's, if it does: it ran out of
    recorded model outputs, left some unused, or ended with another outcome or score."""

    def ending(kind: str, reason: str, recorded: Any, new: Any) -> Divergence:
        return Divergence(-1, None, "", None, str(recorded), str(new), reason, kind=kind)

    if model.overrun:
        purpose = model.overrun[0]
        recorded = len(model.recorded.get(purpose, []))
        return ending(
            "model",
            f"the replay asked for more {purpose!r} model outputs than the {recorded} recorded",
            recorded,
            recorded + 1,
        )
    unused = model.unused()
    if unused:
        left = ", ".join(f"{n} {p!r}" for p, n in sorted(unused.items()))
        return ending("model", f"the replay ended with recorded outputs unused ({left})", left, 0)
    if original.outcome != replay.outcome:
        return ending(
            "outcome", "the replay ended with another outcome", original.outcome, replay.outcome
        )
    old, new = original.score, replay.score
    if (old is None) != (new is None) or (
        old is not None and new is not None and abs(old - new) > 1e-9
    ):
        return ending("score", "the replay scored differently", old, new)
    return None


async def replay_episode(
    db: str | Path,
    episode_id: str,
    *,
    env_options: dict[str, Any] | None = None,
) -> ReplayReport:
    """Replay ``episode_id`` of trace file ``db`` and record the replay beside it."""
    async with open_store(db, existing=True) as store:
        assert store is not None
        row = store.episode(episode_id)
        if row is None:
            raise ReplayError(f"no episode {episode_id!r} in {db}")
        original = load_episode(store, row)
        task = store.task(row["run_id"], row["task_id"])
        if task is None:
            raise ReplayError(f"the trace holds no definition of task {row['task_id']!r}")
        events = store.events(episode_id)
        gaps = [e["payload"] for e in events if e["kind"] == "gap"]
        model = ReplayModel.from_events(events)
        original_run = store.run(row["run_id"])
        cfg = stored_agent_config(original_run or {"agent": row.get("agent")})
        options, recorded_tools = run_world_options(stored_world_options(original_run, env_options))
        run_id = store.start_run(
            model=f"replay:{episode_id}",
            agent=cfg.agent,
            kind="replay",
            parent_run=row["run_id"],
            n_tasks=1,
            config={
                "replay_of": episode_id,
                "original_model": row.get("model"),
                "agent": recorded_agent_config(cfg),
                "retriever": recorded_agent_config(cfg)["retriever"],
                "tools": recorded_tools,
            },
        )
        store.save_tasks(run_id, [task])
        # the user's recorded replies are fed back, never asked of a model again
        user = RecordedUser(trajectory_from_events(events).user_turns) if task.user else None
        result = await run_episode(
            task,
            model=model,
            agent=cfg,
            store=store,
            run_id=run_id,
            env_options=options,
            user=user,
            # the judge's recorded verdicts are served again, as the agent's outputs are
            judge=model if model.recorded.get("judge") else None,
        )
        store.flush()
        comparisons, divergence = compare_tool_calls(
            _tool_calls(events), _tool_calls(store.events(result.episode_id))
        )
        if divergence is None:
            divergence = ending_divergence(model, original, result)
        recorder = store.resume_episode(result.episode_id, reopen=False)
        for c in comparisons:
            recorder.event("replay", c["tool"], c, parent=0)
        recorder.event(
            "replay",
            "summary",
            {
                "matched": divergence is None,
                "compared": len(comparisons),
                "divergence": None if divergence is None else vars(divergence),
                "recorded": {"outcome": original.outcome, "score": original.score},
                "replayed": {"outcome": result.outcome, "score": result.score},
                "gaps": gaps,
            },
            parent=0,
        )
        store.update_episode(result.episode_id, replay_of=episode_id)
        store.finish_run(run_id, "done")
    return ReplayReport(
        original=episode_id,
        replay=result,
        compared=len(comparisons),
        divergence=divergence,
        original_score=original.score,
        comparisons=comparisons,
        original_outcome=original.outcome,
        gaps=gaps,
    )
