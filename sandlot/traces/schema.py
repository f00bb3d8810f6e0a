"""The trace database's tables. Table and column names here are a public contract:
add columns freely, never rename or drop one."""

from __future__ import annotations

__all__ = ["EPISODE_STATUSES", "EVENT_KINDS", "SCHEMA_SQL", "SCHEMA_VERSION"]

SCHEMA_VERSION = 1

EPISODE_STATUSES = ("running", "done", "error", "interrupted")

# Kinds of events. Others may be added; the viewer shows unknown kinds generically.
EVENT_KINDS = (
    "episode",  # the root span of an episode
    "node",  # a LangGraph node run (planner, retriever, executor, finish)
    "plan",  # a plan or re-plan: steps and why
    "retrieval",  # ranked tools for a step, the top k offered, hit or miss
    "model_call",  # message refs (see the messages table), tools offered, response, ...
    "tool_call",  # arguments, result or error, duration
    "check",  # one checklist verdict
    "answer",  # the final answer
    "error",  # an error that ended or disturbed the episode
    "sandbox",  # sandbox lifecycle (backend, acquire, close)
    "replay",  # replay comparison of a tool result
    "fork",  # a forked episode's fork point: the original, the calls replayed to reach it
    "gap",  # events a kill lost that a resume could not write again
    "demonstrations",  # the past episodes shown to the agent as examples
)

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS meta (
    key TEXT PRIMARY KEY,
    value TEXT
);
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    started REAL,
    ended REAL,
    status TEXT,             -- running / done / error / interrupted
    model TEXT,
    agent TEXT,
    config TEXT,             -- JSON, secrets removed
    pid INTEGER,
    host TEXT,
    n_tasks INTEGER,
    epochs INTEGER,
    parent_run TEXT,         -- the run this one replays or resumes
    kind TEXT DEFAULT 'run', -- run / replay / resume
    pid_started REAL,        -- when process pid started: a later process given the same
                             -- pid is not taken for it
    store_id TEXT            -- the store of that process writing it: once it is closed
                             -- the row is no longer running, though the process is
);
CREATE TABLE IF NOT EXISTS episodes (
    id TEXT PRIMARY KEY,
    run_id TEXT REFERENCES runs(id),
    task_id TEXT,
    epoch INTEGER DEFAULT 0,
    status TEXT,             -- running / done / error / interrupted (the lifecycle)
    success INTEGER,         -- 1 when the outcome is 'passed', else 0; NULL until it ends
    score REAL,
    steps INTEGER DEFAULT 0,
    model_calls INTEGER DEFAULT 0,
    tool_calls INTEGER DEFAULT 0,
    tool_errors INTEGER DEFAULT 0,
    prompt_tokens INTEGER DEFAULT 0,
    completion_tokens INTEGER DEFAULT 0,
    tokens INTEGER DEFAULT 0,
    started REAL,
    ended REAL,
    duration REAL,
    error TEXT,
    answer TEXT,
    model TEXT,
    agent TEXT,
    environment TEXT,
    sandbox_backend TEXT,
    final_state TEXT,        -- JSON snapshot of the environment, for re-scoring
    replay_of TEXT,          -- the episode this one replays
    thread_id TEXT,          -- LangGraph checkpoint thread, for resume
    pid INTEGER,             -- the process writing it (started or resumed it), so that
    host TEXT,               -- a crash is detected even when its run row is finished
    outcome TEXT,            -- passed / failed / gave_up / budget / error / interrupted
    end_reason TEXT,         -- answered / plan_finished / tool_ended / budget / gave_up / model_error /
                             -- error / interrupted (sandlot.environments.trajectory)
    pid_started REAL,        -- as in runs: the writing process's start time and store
    store_id TEXT,
    cost REAL,               -- USD its model calls cost; NULL when the model had no price
    forked_from TEXT,        -- the episode this one continues from a fork point
    fork_at INTEGER          -- the fork point: the original's tool calls replayed first
);
CREATE INDEX IF NOT EXISTS episodes_run ON episodes(run_id);
CREATE INDEX IF NOT EXISTS episodes_task ON episodes(task_id);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    episode_id TEXT,
    seq INTEGER,             -- order within the episode, from 0
    parent INTEGER,          -- seq of the parent span, NULL for the root
    ts REAL,                 -- unix time the event (or span) started
    kind TEXT,
    name TEXT,
    payload TEXT,            -- JSON
    duration REAL,           -- seconds, for spans
    superseded INTEGER       -- 1: from an attempt a resume replaced (kept, not counted)
);
CREATE INDEX IF NOT EXISTS events_episode ON events(episode_id, seq);
CREATE TABLE IF NOT EXISTS checks (
    id INTEGER PRIMARY KEY,
    episode_id TEXT,
    item_id TEXT,
    description TEXT,
    kind TEXT,               -- state / called / not_called / order / max_steps / answer / judge
    passed INTEGER,          -- 1 / 0; NULL when skipped
    weight REAL,
    required INTEGER,
    evidence TEXT,           -- JSON
    skipped_reason TEXT,
    scored_at REAL
);
CREATE INDEX IF NOT EXISTS checks_episode ON checks(episode_id);
CREATE TABLE IF NOT EXISTS tasks (
    run_id TEXT,
    task_id TEXT,
    environment TEXT,
    definition TEXT,         -- JSON of the Task as run
    PRIMARY KEY (run_id, task_id)
);
CREATE TABLE IF NOT EXISTS messages (
    episode_id TEXT,
    n INTEGER,               -- the message's number within the episode, from 0
    hash BLOB,               -- digest of the message as stored, so it is stored once
    message TEXT,            -- JSON (redacted); a long string an event holds is null here
    refs TEXT,               -- JSON [[path in message, event seq, path in payload], ...]
    PRIMARY KEY (episode_id, n)
);
"""
