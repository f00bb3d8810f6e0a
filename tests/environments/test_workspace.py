"""The workspace world: its tasks pass with the oracle on both backends, its tools answer
clearly on both backends, its checks run in the sandbox, and its snapshots re-score.
Hostile code inside episodes: test_workspace_containment.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sandlot.agents.after.rescore import rescore
from sandlot.agents.models import ScriptedModel
from sandlot.agents.running.runner import run, run_episode
from sandlot.environments.base import make_environment
from sandlot.environments.loader import load_tasks
from sandlot.environments.sandbox.base import SandboxLimits
from sandlot.environments.tasks import StateCheck, Task
from sandlot.environments.worlds.workspace import WorkspaceEnvironment
from sandlot.environments.worlds.workspace.snapshot import FILE_LIMIT
from sandlot.environments.worlds.workspace.tools import LIST_LIMIT, READ_LIMIT
from sandlot.tools import ToolCall, invoke_tool
from tests.docker_support import LIMITS

ROOT = Path(__file__).resolve().parents[2]
TASKS = load_tasks([ROOT / "examples/tasks/workspace"])

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")

BACKENDS = [
    "local",
    pytest.param("docker", marks=pytest.mark.docker),
]


def _task(**extra) -> Task:
    return Task.model_validate(
        {"id": "ws-t", "environment": "workspace", "instruction": "x", **extra}
    )


def _failures(result) -> dict:
    return {
        e.task_id: e.error or [v.item_id for v in e.verdicts if v.passed is False]
        for e in result.episodes
        if not e.success
    }


@pytest.fixture(params=BACKENDS)
async def env(request):
    if request.param == "docker":
        request.getfixturevalue("docker_ready")  # skips without Docker; fails under CI
    environment = make_environment("workspace", sandbox=request.param, limits=LIMITS)
    yield environment
    await environment.close()


async def _call(env, tool: str, **args):
    return await invoke_tool(env.toolset, ToolCall("c1", tool, json.dumps(args)), env.context())


# --- the tasks ---------------------------------------------------------------------------


def test_there_are_at_least_15_workspace_tasks_checked_in_the_sandbox_and_beyond():
    assert len(TASKS) >= 15
    assert len({t.id for t in TASKS}) == len(TASKS)
    for task in TASKS:
        kinds = {item.check.type for item in task.checklist}
        assert task.reference is not None, task.id
        assert "state" in kinds, f"{task.id} has no state check"
        assert kinds - {"state"}, f"{task.id} has no trajectory or answer check"


async def test_oracle_passes_every_workspace_task_locally(tmp_path):
    result = await run(
        TASKS, model="oracle", db=tmp_path / "t.db", env_options={"sandbox": "local"}
    )
    assert not _failures(result), _failures(result)
    assert {e.sandbox_backend for e in result.episodes} == {"local"}


@pytest.mark.docker
@pytest.mark.usefixtures("docker_ready")
async def test_oracle_passes_every_workspace_task_in_docker(tmp_path):
    result = await run(
        TASKS,
        model="oracle",
        db=tmp_path / "t.db",
        concurrency=2,
        env_options={"sandbox": "docker", "limits": LIMITS},
    )
    assert not _failures(result), _failures(result)
    assert {e.sandbox_backend for e in result.episodes} == {"docker"}


async def test_stored_snapshots_rescore_file_checks_and_skip_command_checks(tmp_path):
    tasks = [t for t in TASKS if t.id in ("ws-data-002", "ws-code-001")]
    db = tmp_path / "t.db"
    await run(tasks, model="oracle", db=db, env_options={"sandbox": "local"})

    same = {r.task_id: r for r in await rescore(db, tasks, write=False)}
    assert same["ws-data-002"].new_success and same["ws-data-002"].unchecked == []
    assert [item for item, _ in same["ws-code-001"].unchecked] == ["tests-pass"]

    changed = next(t for t in tasks if t.id == "ws-data-002").model_copy(deep=True)
    changed.checklist[0].check.equals = "KeyError 2"
    again = await rescore(db, [changed], write=False)
    assert not again[0].new_success  # the stored errors.txt says "KeyError 1"


# --- options and initial state -------------------------------------------------------------


async def test_options_take_a_limits_dict_and_tolerate_unknown_options():
    env = make_environment("workspace", sandbox="local", limits={"timeout": 7}, extra_tools=[])
    assert env.limits == SandboxLimits(timeout=7)
    with pytest.raises(ValueError, match=r"limits: unknown field\(s\) \['memory'\]"):
        make_environment("workspace", limits={"memory": 1})


async def test_reset_writes_the_files_then_runs_the_setup_commands():
    env = make_environment("workspace", sandbox="local")
    state = {"files": {"a.txt": "hello\n", "/work/d/b.txt": "b"}, "setup": ["cat a.txt > c.txt"]}
    await env.reset(_task(initial_state=state))
    try:
        assert await env.sandbox.read_file("d/b.txt") == "b"
        assert await env.sandbox.read_file("c.txt") == "hello\n"
    finally:
        await env.close()


async def test_a_failing_setup_command_names_the_task_and_command_and_frees_the_sandbox():
    env = make_environment("workspace", sandbox="local")
    with pytest.raises(ValueError, match=r"ws-t.*setup command 'exit 3' failed with exit code 3"):
        await env.reset(_task(initial_state={"setup": ["echo ok", "exit 3"]}))
    assert env.sandbox is None


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ({"sql": ["x"]}, r"unknown initial_state key\(s\) \['sql'\]"),
        ({"files": {"../escape.txt": "x"}}, "outside the workspace"),
        ({"files": {"/etc/x": "x"}}, "outside the workspace"),
        ({"files": {"a.txt": 3}}, r"initial_state.files\['a.txt'\] must be text"),
        ({"setup": [["ls"]]}, "setup must be a list of shell commands"),
    ],
)
async def test_a_malformed_initial_state_is_refused_before_any_sandbox_starts(state, message):
    env = make_environment("workspace", sandbox="local")
    with pytest.raises(ValueError, match=message):
        await env.reset(_task(initial_state=state))
    assert env.sandbox is None


# --- tools ----------------------------------------------------------------------------------


def test_the_toolset_has_the_six_workspace_tools_without_the_context():
    toolset = WorkspaceEnvironment.default_toolset()
    assert set(toolset.names()) == {
        "run_shell",
        "run_python",
        "read_file",
        "write_file",
        "list_files",
        "search_files",
    }
    for tool in toolset:
        assert "ctx" not in tool.schema()["function"]["parameters"]["properties"]


async def test_run_shell_reports_exit_code_and_both_streams_and_a_failure_is_data(env):
    await env.reset(_task())
    out = await _call(env, "run_shell", command="echo out; echo err >&2; exit 3")
    assert out.ok
    assert out.content == "exit code 3\nstdout:\nout\nstderr:\nerr"


async def test_run_shell_says_when_a_command_timed_out(env):
    await env.reset(_task())
    out = await _call(env, "run_shell", command="echo started; sleep 30", timeout=0.5)
    assert out.ok and "timed out after 0.5 s" in out.content and "started" in out.content
    bad = await _call(env, "run_shell", command="true", timeout=0)
    assert bad.error_kind == "tool_error" and "timeout must be more than 0" in bad.content


async def test_run_python_runs_the_code_in_the_workspace(env):
    await env.reset(_task(initial_state={"files": {"n.txt": "41"}}))
    out = await _call(env, "run_python", code="print(int(open('n.txt').read()) + 1)")
    assert out.content == "exit code 0\nstdout:\n42"
    err = await _call(env, "run_python", code="raise SystemExit('boom')")
    assert err.content.startswith("exit code 1") and "boom" in err.content


async def test_output_is_cut_in_the_middle_and_binary_noise_is_labelled(env):
    await env.reset(_task())
    big = await _call(env, "run_shell", command="seq 1 20000")
    assert "characters cut" in big.content and big.content.endswith("\n20000")
    assert len(big.content) < 17_000
    binary = await _call(env, "run_shell", command="printf 'a\\000b\\033c'")
    assert "\x00" not in binary.content and "\x1b" not in binary.content
    assert "binary output: 2 control characters" in binary.content


async def test_read_file_names_a_missing_path_and_cuts_long_files_with_a_note(env):
    await env.reset(_task(initial_state={"files": {"d/a.txt": "hi\n", "big.txt": "x" * 50_000}}))
    assert (await _call(env, "read_file", path="d/a.txt")).content == "hi\n"
    assert (await _call(env, "read_file", path="/work/d/a.txt")).content == "hi\n"
    missing = await _call(env, "read_file", path="nope.txt")
    assert missing.error_kind == "tool_error" and "no file 'nope.txt'" in missing.content
    folder = await _call(env, "read_file", path="d")
    assert "'d' is a directory" in folder.content
    long = await _call(env, "read_file", path="big.txt")
    assert long.content.startswith("x" * READ_LIMIT)
    assert f"showing the first {READ_LIMIT} of 50000 bytes" in long.content


async def test_read_file_describes_a_binary_file_instead_of_dumping_it(env):
    await env.reset(_task(initial_state={"setup": ["printf 'a\\000b' > blob.bin"]}))
    out = await _call(env, "read_file", path="blob.bin")
    assert out.content.startswith("blob.bin is a binary file (3 bytes)")


async def test_write_file_creates_folders_and_refuses_paths_outside_the_workspace(env):
    await env.reset(_task())
    out = await _call(env, "write_file", path="out/r.json", content="{}\n")
    assert out.content == "wrote 3 bytes to out/r.json"
    assert await env.sandbox.read_file("out/r.json") == "{}\n"
    for outside in ("../x.txt", "/etc/x.txt", "."):
        refused = await _call(env, "write_file", path=outside, content="x")
        assert refused.error_kind == "tool_error" and "inside the workspace" in refused.content


async def test_list_files_is_recursive_with_sizes_and_capped(env):
    setup = ["mkdir many && cd many && for i in $(seq 1 250); do echo $i > f$i; done"]
    await env.reset(
        _task(initial_state={"files": {"a.txt": "abc", "src/b.py": "x"}, "setup": setup})
    )
    small = await _call(env, "list_files", path="src")
    assert small.content == "src/b.py (1 bytes)\n1 files, 1 bytes"
    everything = await _call(env, "list_files")
    assert everything.content.startswith("a.txt (3 bytes)\n")
    assert f"[... {252 - LIST_LIMIT} more; list a subfolder]" in everything.content
    assert everything.content.endswith("252 files, 896 bytes")
    missing = await _call(env, "list_files", path="nope")
    assert missing.error_kind == "tool_error" and "no file or folder 'nope'" in missing.content


async def test_search_files_finds_text_literally_or_by_regex(env):
    files = {"src/a.py": "print(1)\n# TODO: x\n", "src/b.py": "y = 2\n"}
    await env.reset(_task(initial_state={"files": files}))
    literal = await _call(env, "search_files", pattern="print(", path="src")
    assert literal.content == "src/a.py:1:print(1)"
    regex = await _call(env, "search_files", pattern="TODO|y =", regex=True)
    assert regex.content.splitlines() == ["src/a.py:2:# TODO: x", "src/b.py:1:y = 2"]
    none = await _call(env, "search_files", pattern="zzz")
    assert none.ok and none.content == "no match for 'zzz' under ."
    bad = await _call(env, "search_files", pattern="x", path="nope")
    assert bad.error_kind == "tool_error" and "nope" in bad.content


async def test_tool_errors_reach_the_model_inside_an_episode():
    model = ScriptedModel(
        [
            {"tool": "read_file", "args": {"path": "missing.txt"}},
            {"tool": "run_shell", "args": {"command": "sleep 5", "timeout": 0.3}},
            {"tool": "submit_answer", "args": {"answer": "done"}},
        ]
    )
    result = await run_episode(
        _task(), model=model, agent="single", env_options={"sandbox": "local"}
    )
    tool_messages = [m["content"] for m in model.requests[-1].messages if m["role"] == "tool"]
    assert "no file 'missing.txt'" in tool_messages[0]
    assert "timed out" in tool_messages[1]
    assert result.status == "done"


# --- checks and snapshots ---------------------------------------------------------------------


async def test_file_checks_read_the_sandbox(env):
    await env.reset(_task(initial_state={"files": {"a.txt": "hello world\n", "n.txt": "3.0001"}}))
    passing = [
        StateCheck(file="a.txt", equals="hello world"),
        StateCheck(file="/work/a.txt", contains="lo wo"),
        StateCheck(file="a.txt", regex=r"^hello \w+$"),
        StateCheck(file="a.txt", exists=True),
        StateCheck(file="nope.txt", exists=False),
        StateCheck(file="n.txt", equals=3, tolerance=0.001),
    ]
    for check in passing:
        assert (await env.check_state(check))[0], check
    passed, evidence = await env.check_state(StateCheck(file="a.txt", equals="bye"))
    assert not passed and evidence["content"] == "hello world\n"
    passed, evidence = await env.check_state(StateCheck(file="nope.txt", contains="x"))
    assert not passed and evidence["exists"] is False


async def test_command_checks_run_in_the_sandbox_with_their_output_as_evidence(env):
    await env.reset(_task(initial_state={"files": {"a.txt": "x"}}))
    assert (await env.check_state(StateCheck(command="test -f a.txt", exit_code=0)))[0]
    assert (await env.check_state(StateCheck(command="echo 42", equals=42)))[0]
    assert (await env.check_state(StateCheck(command="echo 'a b'", contains="a b")))[0]
    assert (await env.check_state(StateCheck(command="test -f a.txt")))[0]  # defaults to exit 0
    passed, evidence = await env.check_state(StateCheck(command="echo no; exit 4"))
    assert not passed
    assert evidence["exit_code"] == 4 and evidence["stdout"] == "no\n"


@pytest.mark.parametrize(
    ("check", "error"),
    [
        (
            StateCheck(query="SELECT 1", equals=1),
            "the workspace has no database; use file or command",
        ),
        (StateCheck(file="a.txt", regex="("), "invalid regex"),
        (StateCheck(command="true", exists=True), "`exists` applies to file checks"),
        (StateCheck(equals=1), "needs `file` or `command`"),
    ],
)
async def test_checks_the_workspace_cannot_answer_fail_with_the_reason(check, error):
    env = make_environment("workspace", sandbox="local")
    await env.reset(_task())
    try:
        passed, evidence = await env.check_state(check)
    finally:
        await env.close()
    assert passed is False and error in evidence["error"]


async def test_checks_after_close_fail_instead_of_raising():
    env = make_environment("workspace", sandbox="local")
    await env.reset(_task())
    await env.close()
    passed, evidence = await env.check_state(StateCheck(command="true"))
    assert not passed and "no sandbox" in evidence["error"]


async def test_snapshot_keeps_text_files_cuts_long_ones_and_names_binary_ones(env):
    files = {
        "a.txt": "hello\n",
        "long.txt": "y" * (FILE_LIMIT + 10),
        "json.py": "raise SystemExit(9)",
    }
    await env.reset(_task(initial_state={"files": files, "setup": ["printf '\\000' > b.bin"]}))
    assert env.snapshot() == {"files": {}}
    snap = await env.snapshot_async()
    assert env.snapshot() is snap
    assert snap["files"]["a.txt"] == "hello\n"
    assert snap["files"]["json.py"] == "raise SystemExit(9)"  # a json.py in /work is harmless
    assert snap["files"]["long.txt"] == "y" * FILE_LIMIT and snap["truncated"] == ["long.txt"]
    assert snap["omitted"] == {"b.bin": "binary"}


def test_check_snapshot_answers_file_checks_and_refuses_command_checks():
    snap = {"files": {"a.txt": "hello\n"}, "truncated": [], "omitted": {"b.bin": "binary"}}
    check = WorkspaceEnvironment.check_snapshot
    assert check(snap, StateCheck(file="/work/a.txt", equals="hello"))[0]
    assert check(snap, StateCheck(file="./a.txt", contains="ell"))[0]
    assert check(snap, StateCheck(file="b.bin", exists=True))[0]
    assert check(snap, StateCheck(file="gone.txt", exists=False))[0]
    passed, evidence = check(snap, StateCheck(file="b.bin", contains="x"))
    assert not passed and "only the name" in evidence["why"]
    with pytest.raises(NotImplementedError, match="need a live sandbox"):
        check(snap, StateCheck(command="true", exit_code=0))


async def test_snapshot_stays_within_the_sandbox_output_cap_and_names_what_it_left_out():
    env = make_environment("workspace", sandbox="local", limits={"output_bytes": 100_000})
    files = {f"f{i:02}.txt": str(i) * 5000 for i in range(10)}
    await env.reset(_task(initial_state={"files": files}))
    try:
        snap = await env.snapshot_async()
    finally:
        await env.close()
    assert "error" not in snap
    assert 0 < len(snap["files"]) < 10
    assert set(snap["files"]) | set(snap["omitted"]) == set(files)
    assert set(snap["omitted"].values()) == {"over the snapshot's size budget"}
    assert len(json.dumps(snap)) < 100_000


async def test_snapshot_names_fifos_and_undecodable_names_without_losing_the_rest(env):
    setup = [
        "mkfifo zz.pipe",
        "python3 -c \"open(b'caf\\\\xe9.txt', 'w').write('x')\"",
        "ln -s a.txt alink",
    ]
    await env.reset(_task(initial_state={"files": {"a.txt": "42\n"}, "setup": setup}))
    snap = await env.snapshot_async()
    assert "error" not in snap, snap
    assert snap["files"] == {"a.txt": "42\n"}
    assert snap["omitted"] == {
        "alink": "symbolic link",
        "caf\ufffd.txt": "undecodable name",
        "zz.pipe": "not a regular file",
    }


async def test_write_file_refuses_a_symbolic_link_out_of_the_workspace(env, tmp_path):
    await env.reset(_task(initial_state={"setup": ["mkdir in; ln -s in inlink"]}))
    outside = tmp_path if env.sandbox.backend == "local" else "/tmp"
    await env.sandbox.exec(f"ln -s {outside} out")
    refused = await _call(env, "write_file", path="out/evil.txt", content="x")
    assert refused.error_kind == "tool_error" and "symbolic link" in refused.content
    assert not (await env.sandbox.exec(f"test -e {outside}/evil.txt")).ok
    ok = await _call(env, "write_file", path="inlink/fine.txt", content="x")
    assert ok.content == "wrote 1 bytes to inlink/fine.txt"
    assert await env.sandbox.read_file("in/fine.txt") == "x"


async def test_read_file_refuses_a_fifo_at_once(env):
    await env.reset(_task(initial_state={"setup": ["mkfifo pipe"]}))
    out = await _call(env, "read_file", path="pipe")
    assert out.error_kind == "tool_error" and "not a regular file" in out.content
