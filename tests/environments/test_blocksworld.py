"""The blocksworld world: its rules, its plan validator, its generator and its solvers."""

from __future__ import annotations

import itertools
import random
from pathlib import Path

import pytest
from pydantic import ValidationError

from sandlot import load_tasks, run
from sandlot.environments.base import make_environment
from sandlot.environments.tasks import Task
from sandlot.environments.worlds.blocksworld import (
    BlocksworldEnvironment,
    blocksworld_tasks,
    optimal_plan,
    tower_plan,
)
from sandlot.environments.worlds.blocksworld.domain import Blocks, goal_reached, relations_of
from sandlot.environments.worlds.blocksworld.generate import main, task_file
from sandlot.environments.worlds.blocksworld.tasks import random_stacks
from sandlot.tools import ToolCall, invoke_tool

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = {3: (4, 3), 5: (4, 5), 7: (4, 7)}  # size -> (count, seed) of each shipped file


def _task(stacks: list[list[str]], goal: list[str]) -> Task:
    return Task(
        id="bw",
        environment="blocksworld",
        instruction="x",
        initial_state={"stacks": stacks, "goal": goal},
    )


async def _env(stacks: list[list[str]], goal: list[str]) -> BlocksworldEnvironment:
    env = make_environment("blocksworld")
    await env.reset(_task(stacks, goal))
    assert isinstance(env, BlocksworldEnvironment)
    return env


async def _call(env: BlocksworldEnvironment, tool: str, **args: str):
    import json

    return await invoke_tool(
        env.toolset, ToolCall(id="c", name=tool, arguments=json.dumps(args)), env.context()
    )


async def test_legal_moves_change_the_stacks_and_count_moves():
    env = await _env([["A", "B"], ["C"]], ["A on B"])
    assert (await _call(env, "unstack", block="B", from_block="A")).ok
    assert (await _call(env, "put_down", block="B")).ok
    assert (await _call(env, "pick_up", block="A")).ok
    out = await _call(env, "stack", block="A", on="B")
    assert out.ok
    snap = env.snapshot()
    assert snap["stacks"] == [["C"], ["B", "A"]] and snap["holding"] is None
    assert snap["moves"] == 4
    look = await _call(env, "look")
    assert look.ok and "holding" in look.content


@pytest.mark.parametrize(
    ("tool", "args", "says"),
    [
        ("pick_up", {"block": "A"}, "B is on it"),  # A is under B
        ("pick_up", {"block": "B"}, "not on the table"),
        ("unstack", {"block": "B", "from_block": "C"}, "not on C"),
        ("unstack", {"block": "C", "from_block": "A"}, "not on A"),
        ("put_down", {"block": "C"}, "does not hold C: it is empty"),
        ("stack", {"block": "C", "on": "B"}, "does not hold C"),
        ("pick_up", {"block": "Z"}, "no block 'Z'"),
    ],
)
async def test_an_illegal_move_is_refused_and_changes_nothing(tool, args, says):
    env = await _env([["A", "B"], ["C"]], ["A on B"])
    before = env.snapshot()
    out = await _call(env, tool, **args)
    assert not out.ok and says in out.content
    assert env.snapshot() == before


async def test_a_second_pick_up_and_stacking_on_a_covered_block_are_refused():
    env = await _env([["A", "B"], ["C"]], [])
    assert (await _call(env, "pick_up", block="C")).ok
    assert "already holds C" in (await _call(env, "unstack", block="B", from_block="A")).content
    assert "B is on it" in (await _call(env, "stack", block="C", on="A")).content
    assert env.snapshot()["moves"] == 1


async def test_the_validator_passes_the_goal_state_only():
    env = await _env([["A"], ["B"]], ["A on B", "B on table"])
    goal = BlocksworldEnvironment.validate_state_check({"type": "state", "goal": True})
    assert (await env.check_state(goal))[0] is False
    await _call(env, "pick_up", block="A")
    passed, evidence = await env.check_state(goal)
    assert not passed and evidence["holding"] == "A"  # on nothing: held
    await _call(env, "stack", block="A", on="B")
    assert (await env.check_state(goal))[0] is True
    snap = env.snapshot()
    assert BlocksworldEnvironment.check_snapshot(snap, goal)[0] is True
    wrong = BlocksworldEnvironment.validate_state_check({"type": "state", "holds": ["B on A"]})
    passed, evidence = BlocksworldEnvironment.check_snapshot(snap, wrong)
    assert not passed and evidence["unmet"] == ["B on A"]
    short = BlocksworldEnvironment.validate_state_check({"type": "state", "max_moves": 1})
    assert BlocksworldEnvironment.check_snapshot(snap, short)[0] is False  # 2 moves


@pytest.mark.parametrize(
    "check",
    [{"query": "SELECT 1"}, {}, {"goal": True, "max_moves": 2}, {"holds": ["A under B"]}],
)
def test_a_check_outside_the_language_is_refused(check):
    with pytest.raises(ValidationError):
        BlocksworldEnvironment.validate_state_check({"type": "state", **check})


@pytest.mark.parametrize(
    "initial",
    [{"stacks": [["A", "A"]]}, {"stacks": [["A"]], "goal": ["B on A"]}, {"stacks": [[]]}],
)
def test_an_impossible_initial_state_is_refused(initial):
    with pytest.raises(ValueError):
        BlocksworldEnvironment.check_initial_state(
            Task(id="t", environment="blocksworld", instruction="x", initial_state=initial)
        )


def _shortest_by_brute_force(start: Blocks, goal, limit: int) -> int:
    """The length of the shortest action sequence reaching the goal, by trying every
    sequence of each length in turn."""
    for length in range(limit + 1):
        frontier = [start]
        for _ in range(length):
            nxt = []
            for s in frontier:
                for action in s.actions():
                    after = s.copy()
                    after.apply(action)
                    nxt.append(after)
            frontier = nxt
        if any(goal_reached(s, goal) for s in frontier):
            return length
    raise AssertionError("no plan within the limit")


@pytest.mark.parametrize("seed", range(6))
def test_the_search_is_optimal_against_brute_force(seed):
    rng = random.Random(seed)
    blocks = ["A", "B", "C"]
    start, goal_stacks = random_stacks(blocks, rng), random_stacks(blocks, rng)
    goal = relations_of(goal_stacks)
    plan = optimal_plan(Blocks(start), goal)
    assert len(plan) == _shortest_by_brute_force(Blocks(start), goal, 8)
    state = Blocks(start)
    for action in plan:
        state.apply(action)
    assert goal_reached(state, goal)


@pytest.mark.parametrize(("size", "seed"), list(itertools.product((4, 9, 14), range(3))))
def test_the_tower_plan_reaches_the_goal_and_is_never_shorter_than_optimal(size, seed):
    rng = random.Random(seed)
    blocks = [chr(ord("A") + i) for i in range(size)]
    start, goal = random_stacks(blocks, rng), relations_of(random_stacks(blocks, rng))
    plan = tower_plan(Blocks(start), goal)
    state = Blocks(start)
    for action in plan:
        state.apply(action)  # raises on an illegal action
    assert goal_reached(state, goal) and len(plan) <= 4 * size
    if size <= 4:
        assert len(plan) >= len(optimal_plan(Blocks(start), goal))


@pytest.mark.parametrize("size", [2, 3, 4, 5, 9])
def test_generated_tasks_are_deterministic_and_solved_by_their_reference(size):
    tasks = blocksworld_tasks(size, 3, seed=1)
    assert tasks == blocksworld_tasks(size, 3, seed=1)
    assert tasks != blocksworld_tasks(size, 3, seed=2)
    for t in tasks:
        assert f"size:{size}" in t["tags"]
        state = Blocks([list(s) for s in t["initial_state"]["stacks"]])
        goal = [tuple(r.split(" on ")) for r in t["initial_state"]["goal"]]
        assert not goal_reached(state, goal)  # the null model cannot pass
        for call in t["reference"]["calls"]:
            state.apply((call["tool"], tuple(call["args"].values())))
        assert goal_reached(state, goal)
        assert t["metadata"]["optimal"] is (size <= 7)


@pytest.mark.parametrize("size", sorted(SHIPPED))
def test_the_shipped_files_are_what_the_generator_writes(size):
    count, seed = SHIPPED[size]
    shipped = ROOT / f"examples/tasks/blocksworld/size-{size}.yaml"
    assert shipped.read_text() == task_file(size, count, seed)


def test_the_generator_command_writes_a_file(tmp_path, capsys):
    out = tmp_path / "bw.yaml"
    assert main(["--size", "3", "--count", "2", "--seed", "3", "--out", str(out)]) == 0
    assert out.read_text() == task_file(3, 2, 3)
    with pytest.raises(SystemExit):
        main(["--size", "40"])
    assert "2 to 26" in capsys.readouterr().err


@pytest.mark.parametrize("agent", ["plan-execute", "single"])
async def test_the_oracle_passes_generated_tasks_and_the_null_model_fails(tmp_path, agent):
    path = tmp_path / "bw.yaml"
    path.write_text(task_file(3, 2, 0) + "")
    tasks = load_tasks([path])
    result = await run(tasks, model="oracle", agent=agent, db=tmp_path / "t.db")
    assert [e.outcome for e in result.episodes] == ["passed", "passed"]
    assert all(e.score == 1.0 for e in result.episodes)
    nothing = await run(tasks, model="null", agent=agent, db=tmp_path / "n.db")
    assert all(e.outcome != "passed" for e in nothing.episodes)


async def test_the_summary_has_a_row_per_size_in_numeric_order(tmp_path):
    files = []
    for size in (12, 3, 5):
        path = tmp_path / f"size-{size}.yaml"
        path.write_text(task_file(size, 1, 0))
        files.append(path)
    result = await run(load_tasks(files), model="oracle", db=tmp_path / "t.db")
    rows = result.summary()["by_tag"]
    sizes = [tag for tag in rows if tag.startswith("size:")]
    assert sizes == ["size:3", "size:5", "size:12"]
    assert all(rows[s]["tasks"] == 1 and rows[s]["success_rate"] == 1.0 for s in sizes)
