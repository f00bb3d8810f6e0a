"""The workspace's snapshot stays within its budget whatever the sandbox sends back (a
forged or broken answer), and however many files the workspace holds."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest

from sandlot.environments.sandbox.base import ExecResult, Sandbox, SandboxLimits
from sandlot.environments.worlds.workspace.snapshot import (
    FILE_LIMIT,
    FILES_LIMIT,
    TOTAL_LIMIT,
    capture_snapshot,
    snapshot_file,
)
from tests.docker_support import LIMITS

_SLACK = 10_000  # the JSON's own punctuation beyond what each entry is charged


class Answers(Sandbox):
    """A sandbox whose every command prints ``stdout`` (as a forged server would)."""

    backend = "fake"

    def __init__(self, stdout: str, output_bytes: int = 100_000_000) -> None:
        self.stdout = stdout
        self.limits = SandboxLimits(output_bytes=output_bytes)

    async def exec(
        self, cmd: Any, timeout: Any = None, stdin: Any = None, env: Any = None, cwd: Any = None
    ) -> ExecResult:
        return ExecResult(exit_code=0, stdout=self.stdout)

    async def read_file(self, path: str, *, binary: bool = False) -> str | bytes:
        raise FileNotFoundError(path)

    async def write_file(self, path: str, content: str | bytes) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        return None


def _size(snapshot: dict[str, Any]) -> int:
    return len(json.dumps(snapshot, ensure_ascii=False).encode())


async def test_a_snapshot_over_the_budget_is_cut_on_the_host_with_a_marker():
    files = {f"big{i}.txt": "x" * 60_000 for i in range(50)}  # 3 MB against 2 MB
    snap = await capture_snapshot(Answers(json.dumps({"files": files})))
    assert _size(snap) <= TOTAL_LIMIT + _SLACK
    assert "budget" in snap["cut"]
    assert 0 < len(snap["files"]) < 50
    assert snap.get("more_omitted", 0) + len(snap["files"]) + len(snap["omitted"]) == 50
    # what was kept is still read as the snapshot's files
    assert snapshot_file(snap, "big0.txt") == ("x" * 60_000, True, None)
    assert snapshot_file(snap, "big49.txt")[:2] == (None, True)


async def test_a_snapshot_larger_than_the_budget_is_not_even_parsed():
    files = {f"big{i}.txt": "x" * 60_000 for i in range(1000)}  # 60 MB
    snap = await capture_snapshot(Answers(json.dumps({"files": files})))
    assert snap["files"] == {} and "budget" in snap["cut"]
    assert _size(snap) < 2000


async def test_one_file_longer_than_the_file_limit_keeps_its_start():
    snap = await capture_snapshot(Answers(json.dumps({"files": {"a.txt": "y" * (FILE_LIMIT * 3)}})))
    text, exists, note = snapshot_file(snap, "a.txt")
    assert exists and text == "y" * FILE_LIMIT and note and "first" in note
    assert "cut" in snap


@pytest.mark.parametrize(
    "answer",
    [
        [1, 2, 3],
        {"files": {"a.txt": 5, "b.txt": "ok"}, "omitted": ["x"], "more_omitted": "many"},
        {"files": "nope", "truncated": {"a": 1}},
    ],
    ids=["not an object", "wrong types inside", "wrong types"],
)
async def test_a_malformed_snapshot_keeps_only_what_has_the_right_shape(answer):
    snap = await capture_snapshot(Answers(json.dumps(answer)))
    assert isinstance(snap["files"], dict)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in snap["files"].items())
    assert isinstance(snap.get("omitted", {}), dict)
    assert isinstance(snap.get("more_omitted", 0), int)
    assert "cut" in snap or "error" in snap


async def test_an_honest_snapshot_is_kept_as_it_is():
    honest = {"files": {"a.txt": "hi"}, "truncated": [], "omitted": {"b.bin": "binary"}}
    assert await capture_snapshot(Answers(json.dumps(honest))) == honest


@pytest.mark.docker
async def test_a_workspace_with_very_many_files_gives_a_bounded_snapshot():
    from sandlot.environments.sandbox.docker import DockerSandbox

    many = FILES_LIMIT + 2000
    # an output cap that leaves the whole byte budget to the snapshot: only the count binds
    limits = dataclasses.replace(LIMITS, output_bytes=3_000_000)
    async with await DockerSandbox.start(limits, run_id="tests-workspace") as sb:
        made = await sb.exec(
            ["python3", "-c", f"for i in range({many}): open('f%05d.txt' % i, 'w').write('t')"],
            timeout=60,
        )
        assert made.ok, made
        snap = await capture_snapshot(sb)
    assert "error" not in snap, snap.get("error")
    assert len(snap["files"]) + len(snap["omitted"]) <= FILES_LIMIT
    assert snap["more_omitted"] >= many - FILES_LIMIT
    assert _size(snap) <= TOTAL_LIMIT + _SLACK
