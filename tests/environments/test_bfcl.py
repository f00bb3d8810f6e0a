"""The bfcl world: BFCL multi-turn (bfcl-eval) as sandlot tasks, scored by sandlot's
``bfcl`` check kind with the same verdict as BFCL's own checker."""

from __future__ import annotations

import importlib.util
import os

import pytest
from typer.testing import CliRunner

from sandlot import run
from sandlot.cli import app
from sandlot.environments.base import make_environment
from sandlot.environments.loader import load_tasks
from sandlot.environments.tasks import Task
from sandlot.environments.trajectory import ToolCallRecord, Trajectory, UserTurnRecord
from sandlot.environments.worlds.bfcl import bfcl_task_set
from sandlot.environments.worlds.bfcl.agreement import (
    VARIANTS,
    AgreementRow,
    agreement_table,
    bfcl_verdict,
    variant_task,
)
from sandlot.environments.worlds.bfcl.backends import format_call, parse_call, render
from sandlot.environments.worlds.bfcl.scoring import calls_by_turn
from sandlot.errors import UserError
from sandlot.registry import CHECKS, TASKSETS, WORLDS
from sandlot.tools import ToolCall, invoke_tool

pytestmark = pytest.mark.bfcl


@pytest.fixture(autouse=True)
def _bfcl_installed() -> None:
    """Skip without bfcl-eval and the bfcl extra locally; under CI, fail: it must run."""
    missing = [m for m in ("bfcl_eval", "mpmath") if importlib.util.find_spec(m) is None]
    if not missing:
        return
    why = f"bfcl-eval or the bfcl extra is not installed ({', '.join(missing)}): make bfcl"
    if os.environ.get("CI"):
        pytest.fail(f"CI runs the BFCL tests: {why}")
    pytest.skip(why)


@pytest.fixture(scope="module")
def tasks() -> list[Task]:
    if importlib.util.find_spec("bfcl_eval") is None:
        pytest.skip("bfcl-eval is not installed")
    return load_tasks(["bfcl:multi_turn_base"])


def test_the_world_task_set_and_check_kind_are_registered():
    assert "bfcl" in WORLDS.names() and "bfcl" in TASKSETS.names() and "bfcl" in CHECKS.names()


def test_multi_turn_base_gives_200_tasks_with_a_scripted_user(tasks):
    assert len(tasks) == 200
    first = tasks[0]
    assert first.id == "multi_turn_base_0" and first.environment == "bfcl"
    assert first.instruction.startswith("Move 'final_report.pdf'")
    assert first.user is not None and len(first.user.replies) == 3
    assert first.reference is not None and len(first.reference.asks) == 3
    assert first.reference.calls[0].tool == "cd"


def test_an_unknown_subset_is_a_user_error_naming_the_subsets():
    with pytest.raises(UserError, match="multi_turn_base"):
        bfcl_task_set("multi_turn_nope")


async def test_a_task_offers_only_its_classes_tools_with_unique_names(tasks):
    env = make_environment("bfcl")
    await env.reset(tasks[0])  # TwitterAPI and GorillaFileSystem
    names = env.toolset.names()
    assert len(names) == len(set(names))
    assert "post_tweet" in names and "cd" in names and "send_message" not in names
    assert env.toolset["cd"].schema()["function"]["parameters"]["type"] == "object"


async def test_a_tool_call_runs_the_backend_method_and_returns_bfcls_result(tasks):
    env = make_environment("bfcl")
    await env.reset(tasks[0])
    ctx = env.context()
    out = await invoke_tool(env.toolset, ToolCall("1", "cd", '{"folder": "document"}'), ctx)
    assert out.ok and out.content == '{"current_working_directory": "document"}'
    bad = await invoke_tool(env.toolset, ToolCall("2", "cd", '{"nope": 1}'), ctx)
    assert not bad.ok
    assert env.snapshot()["GorillaFileSystem"]["root"]["name"] == "workspace"


async def test_an_episodes_root_event_records_only_its_tasks_tools(tasks, tmp_path):
    from sandlot.environments.worlds.bfcl.tools import tool_classes
    from sandlot.traces.store import TraceStore

    task = tasks[0]  # TwitterAPI and GorillaFileSystem
    db = tmp_path / "t.db"
    await run([task], model="oracle", db=db)
    with TraceStore(db) as store:
        (episode,) = store.episodes()
        (root,) = store.events(episode["id"], kinds=["episode"])
    offered = set(root["payload"]["tool_schemas"])
    owners = tool_classes()
    assert {owners[name] for name in offered} == {"TwitterAPI", "GorillaFileSystem"}
    assert offered == {n for n, c in owners.items() if c in task.initial_state["classes"]}


def test_call_strings_parse_with_positional_arguments_named():
    table = {"sort": lambda file_name: file_name}
    assert parse_call("sort('a.pdf')", table) == ("sort", {"file_name": "a.pdf"})
    assert format_call("cd", {"folder": ".."}) == "cd(folder='..')"
    assert render({"a": 1}) == '{"a": 1}' and render(3) == "3"


def test_calls_are_split_into_the_users_turns():
    call = [ToolCallRecord(name="cd", arguments={"folder": "x"}, ok=True, seq=s) for s in (1, 5)]
    trajectory = Trajectory(
        tool_calls=call,
        user_turns=[
            UserTurnRecord(turn=0, prompt="done", text="next", seq=3),
            UserTurnRecord(turn=1, prompt="done", text="", stop=True, seq=7),
        ],
    )
    assert calls_by_turn(trajectory) == [[("cd", {"folder": "x"})], [("cd", {"folder": "x"})]]


async def test_every_gold_solution_passes_under_the_oracle(tasks):
    result = await run(tasks, model="oracle", concurrency=8)
    failed = [e.task_id for e in result.episodes if e.outcome != "passed"]
    assert failed == []
    assert len(result.episodes) == 200


async def test_sandlot_agrees_with_bfcls_checker_on_gold_and_perturbed_trajectories(tasks):
    made = [variant_task(t, v, seed=0) for t in tasks for v in VARIANTS]
    runnable = {t.id: t for t in made if t is not None}
    result = await run(list(runnable.values()), model="oracle", agent="single", concurrency=8)
    rows = {v: AgreementRow(v) for v in VARIANTS}
    disagree = []
    for episode in result.episodes:
        task = runnable[episode.task_id]
        theirs, _ = bfcl_verdict(task, episode.trajectory)
        ours = episode.outcome == "passed"
        rows[task.id.rsplit(":", 1)[1]].add(theirs, ours)
        if theirs != ours:
            disagree.append(task.id)
    assert disagree == [], agreement_table(list(rows.values()))
    assert rows["gold"].episodes == 200 and rows["gold"].bfcl_pass == 200
    # the perturbations are not all passes: the verdicts had something to agree on
    assert rows["drop"].bfcl_pass < rows["drop"].episodes
    assert rows["change"].bfcl_pass < rows["change"].episodes
    # a different state-changing call added: every entry gets one, and most then fail
    assert rows["add_other"].episodes == 200
    assert rows["add_other"].bfcl_pass < rows["add_other"].episodes // 10
    assert sum(r.episodes for r in rows.values()) >= 900


def test_add_other_inserts_one_call_of_a_function_its_turn_does_not_call(tasks):
    from sandlot.environments.worlds.bfcl.agreement import gold_turns

    task = tasks[0]
    gold = gold_turns(task)
    changed = variant_task(task, "add_other", seed=0)
    assert changed is not None and changed.id == f"{task.id}:add_other"
    assert changed.checklist == task.checklist
    made = gold_turns(changed)  # the checklist's ground truth: unchanged
    assert made == gold
    calls = [c.tool for c in changed.reference.calls]
    assert len(calls) == sum(len(turn) for turn in gold) + 1
    extra = [n for n in set(calls) if calls.count(n) > sum(c.tool == n for t in gold for c in t)]
    assert len(extra) == 1 and all(c.tool != extra[0] for turn in gold for c in turn)
    assert variant_task(task, "add_other", seed=0) == changed  # seeded: the same draw


def test_the_cli_validates_the_task_set_and_lists_the_world():
    runner = CliRunner()
    out = runner.invoke(app, ["tasks", "validate", "bfcl:multi_turn_base"])
    assert out.exit_code == 0, out.output
    assert "200 tasks OK" in out.output
    listed = runner.invoke(app, ["worlds", "list"])
    assert "bfcl" in listed.output


def test_a_stored_record_with_redacted_arguments_is_skipped_not_failed(tasks):
    from sandlot.environments.check_kinds import CheckContext
    from sandlot.environments.checklist_checks import CheckSkipped
    from sandlot.environments.worlds.bfcl.scoring import BfclCheck, check_bfcl

    task = next(t for t in tasks if "TwitterAPI" in t.initial_state["classes"])
    args = {"username": "a", "password": "[REDACTED]"}
    call = ToolCallRecord(name="authenticate_twitter", arguments=args, ok=True, seq=1)
    check = BfclCheck(ground_truth=[["authenticate_twitter(username='a', password='b')"]])
    with pytest.raises(CheckSkipped, match="redact"):
        check_bfcl(check, CheckContext(task=task, trajectory=Trajectory(tool_calls=[call])))
