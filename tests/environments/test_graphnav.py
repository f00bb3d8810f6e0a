"""The graphnav world: doors, the arrival validator, the generator and shortest paths."""

from __future__ import annotations

import itertools
import json
import random
from pathlib import Path

import pytest
from pydantic import ValidationError

from sandlot import load_tasks, run
from sandlot.environments.base import make_environment
from sandlot.environments.tasks import Task
from sandlot.environments.worlds.graphnav import (
    GraphnavEnvironment,
    graphnav_tasks,
    random_graph,
    shortest_path,
)
from sandlot.environments.worlds.graphnav.generate import main, task_file
from sandlot.tools import ToolCall, invoke_tool

ROOT = Path(__file__).resolve().parents[2]
SHIPPED = {6: (4, 6), 12: (4, 12), 24: (4, 24)}  # rooms -> (count, seed) of each shipped file
DOORS = {"a": ["b"], "b": ["a", "c"], "c": ["b"]}


async def _env(doors=DOORS, start="a", target="c") -> GraphnavEnvironment:
    env = make_environment("graphnav")
    task = Task(
        id="g",
        environment="graphnav",
        instruction="x",
        initial_state={"doors": doors, "start": start, "target": target},
    )
    await env.reset(task)
    assert isinstance(env, GraphnavEnvironment)
    return env


async def _call(env: GraphnavEnvironment, tool: str, **args: str):
    return await invoke_tool(
        env.toolset, ToolCall(id="c", name=tool, arguments=json.dumps(args)), env.context()
    )


async def test_moves_go_along_doors_only():
    env = await _env()
    look = await _call(env, "look")
    assert look.ok and look.value == {"room": "a", "doors": ["b"]}
    refused = await _call(env, "move", to="c")
    assert not refused.ok and "no door from a to c" in refused.content
    assert "no room 'z'" in (await _call(env, "move", to="z")).content
    assert env.snapshot() == {"at": "a", "target": "c", "moves": 0, "path": ["a"]}
    assert (await _call(env, "move", to="b")).ok
    assert (await _call(env, "move", to="c")).ok
    assert env.snapshot()["path"] == ["a", "b", "c"]


async def test_the_validator_passes_in_the_target_room_only():
    env = await _env()
    goal = GraphnavEnvironment.validate_state_check({"type": "state", "goal": True})
    assert (await env.check_state(goal))[0] is False
    await _call(env, "move", to="b")
    await _call(env, "move", to="a")
    await _call(env, "move", to="b")
    await _call(env, "move", to="c")
    passed, evidence = await env.check_state(goal)
    assert passed and evidence["expected"] == "c"
    snap = env.snapshot()
    at_b = GraphnavEnvironment.validate_state_check({"type": "state", "at": "b"})
    assert GraphnavEnvironment.check_snapshot(snap, at_b)[0] is False
    short = GraphnavEnvironment.validate_state_check({"type": "state", "max_moves": 3})
    assert GraphnavEnvironment.check_snapshot(snap, short)[0] is False  # 4 moves
    assert GraphnavEnvironment.check_snapshot(snap, short.model_copy(update={"max_moves": 4}))[0]


@pytest.mark.parametrize("check", [{"query": "x"}, {}, {"goal": True, "at": "a"}])
def test_a_check_outside_the_language_is_refused(check):
    with pytest.raises(ValidationError):
        GraphnavEnvironment.validate_state_check({"type": "state", **check})


async def test_a_one_sided_door_or_an_unknown_room_is_refused():
    with pytest.raises(ValueError, match="none back"):
        await _env({"a": ["b"], "b": []})
    with pytest.raises(ValueError, match="no room"):
        await _env(target="z")


@pytest.mark.parametrize(("rooms", "seed"), list(itertools.product((2, 6, 24, 60), range(3))))
def test_random_graphs_are_connected_and_symmetric(rooms, seed):
    graph = random_graph(rooms, random.Random(seed))
    assert len(graph) == rooms
    assert all(a in graph[b] for a in graph for b in graph[a])
    start = next(iter(graph))
    assert all(shortest_path(graph, start, r)[-1] == r for r in graph)


def _shortest_by_brute_force(graph, start, target) -> int:
    for length in range(len(graph)):
        for walk in itertools.product(*[list(graph)] * length):
            path = [start, *walk]
            if path[-1] == target and all(b in graph[a] for a, b in itertools.pairwise(path)):
                return length
    raise AssertionError("unreachable")


@pytest.mark.parametrize("seed", range(5))
def test_shortest_paths_are_shortest_against_brute_force(seed):
    rng = random.Random(seed)
    graph = random_graph(6, rng, extra=0.3)
    start, target = rng.sample(list(graph), 2)
    path = shortest_path(graph, start, target)
    assert all(b in graph[a] for a, b in itertools.pairwise(path))
    assert len(path) - 1 == _shortest_by_brute_force(graph, start, target)


@pytest.mark.parametrize("rooms", [2, 5, 12, 30])
def test_generated_tasks_are_deterministic_and_solved_by_their_reference(rooms):
    tasks = graphnav_tasks(rooms, 3, seed=1)
    assert tasks == graphnav_tasks(rooms, 3, seed=1)
    assert tasks != graphnav_tasks(rooms, 3, seed=2) or rooms == 2
    for t in tasks:
        start = t["initial_state"]
        doors, at = start["doors"], start["start"]
        assert at != start["target"] and f"rooms:{rooms}" in t["tags"]
        for call in t["reference"]["calls"]:
            assert call["args"]["to"] in doors[at]
            at = call["args"]["to"]
        assert at == start["target"]
        assert len(t["reference"]["calls"]) == t["metadata"]["shortest"]


@pytest.mark.parametrize("rooms", sorted(SHIPPED))
def test_the_shipped_files_are_what_the_generator_writes(rooms):
    count, seed = SHIPPED[rooms]
    shipped = ROOT / f"examples/tasks/graphnav/rooms-{rooms}.yaml"
    assert shipped.read_text() == task_file(rooms, count, seed)


def test_the_generator_command_writes_a_file(tmp_path):
    out = tmp_path / "g.yaml"
    assert main(["--rooms", "6", "--count", "2", "--seed", "6", "--out", str(out)]) == 0
    assert out.read_text() == task_file(6, 2, 6)


@pytest.mark.parametrize("agent", ["plan-execute", "single"])
async def test_the_oracle_passes_generated_tasks_and_the_null_model_fails(tmp_path, agent):
    path = tmp_path / "g.yaml"
    path.write_text(task_file(8, 2, 0))
    tasks = load_tasks([path])
    result = await run(tasks, model="oracle", agent=agent, db=tmp_path / "t.db")
    assert [e.score for e in result.episodes] == [1.0, 1.0]
    assert [e.outcome for e in result.episodes] == ["passed", "passed"]
    nothing = await run(tasks, model="null", agent=agent, db=tmp_path / "n.db")
    assert all(e.outcome != "passed" for e in nothing.episodes)


async def test_the_summary_has_a_row_per_size_in_numeric_order(tmp_path):
    files = []
    for rooms in (24, 6, 12):
        path = tmp_path / f"rooms-{rooms}.yaml"
        path.write_text(task_file(rooms, 1, 0))
        files.append(path)
    result = await run(load_tasks(files), model="oracle", db=tmp_path / "t.db")
    rows = [tag for tag in result.summary()["by_tag"] if tag.startswith("rooms:")]
    assert rows == ["rooms:6", "rooms:12", "rooms:24"]
