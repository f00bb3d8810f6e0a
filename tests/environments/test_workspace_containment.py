"""Hostile code inside whole episodes (run_episode, Docker backend): each episode ends
"done", the hostile call comes back to the model as a clear tool message, the next tool
call still works, and the host is untouched — canary unchanged, nothing written outside
the sandbox, no container of the run left after close."""

from __future__ import annotations

import asyncio
import re
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from sandlot.agents.models import ScriptedModel
from sandlot.agents.running.runner import run_episode
from sandlot.environments.sandbox.docker import LABEL
from sandlot.environments.sandbox.pool import SandboxPool
from sandlot.environments.tasks import Task
from sandlot.environments.worlds.workspace.tools import SHOW_LIMIT
from tests.docker_support import LIMITS
from tests.sandbox.containment import HIJACK_COMMAND, HIJACKER

pytestmark = [
    pytest.mark.docker,
    pytest.mark.usefixtures("docker_ready"),
    pytest.mark.asyncio(loop_scope="module"),
]

# Unique per test session, so that concurrent runs of this suite never see each other's.
RUN_ID = f"ws-hostile-{uuid.uuid4().hex[:8]}"
CANARY_TEXT = "host secret 7f3a"


@dataclass(frozen=True)
class Hostile:
    tool: str  # run_shell or run_python
    code: str  # {tmp} is the host's temporary folder holding the canary
    expect: str  # a regex the hostile call's tool message must match
    forbid: str | None = None  # a regex it must not match
    timeout: float = 3


CASES = {
    "fork bomb (shell)": Hostile(
        "run_shell",
        "bomb() { bomb | bomb & }; bomb; sleep 1",
        r"Cannot fork|Resource temporarily unavailable|timed out",
    ),
    "fork bomb (python)": Hostile(
        "run_python",
        "import os\nwhile True:\n    os.fork()",
        r"BlockingIOError|Resource temporarily unavailable|timed out",
    ),
    "memory bomb": Hostile(
        "run_python",
        "x = b'x' * (2 << 30)\nprint('ALLOCATED', len(x))",
        r"killed by signal 9|MemoryError",
        forbid="ALLOCATED",
        timeout=10,
    ),
    "infinite loop": Hostile(
        "run_python", "while True:\n    pass", r"timed out after 2 s", timeout=2
    ),
    "huge file": Hostile(
        "run_shell",
        "head -c 300000000 /dev/zero > big.bin; wc -c < big.bin",
        r"File size limit exceeded|File too large|No space left",
    ),
    "reaching the network": Hostile(
        "run_python",
        "import socket\n"
        "for host in ('203.0.113.1', '1.1.1.1', '172.17.0.1'):\n"
        "    try:\n"
        "        socket.create_connection((host, 80), 2)\n"
        "        print('CONNECTED', host)\n"
        "    except OSError as exc:\n"
        "        print('blocked', host, exc)\n",
        r"Network is unreachable",
        forbid="CONNECTED",
    ),
    "reading host files": Hostile(
        "run_shell",
        "cat {tmp}/canary.txt; cat /proc/1/root/{tmp}/canary.txt",
        r"No such file or directory|Permission denied",
        forbid=CANARY_TEXT,
    ),
    "writing outside /work": Hostile(
        "run_shell",
        "echo pwned > /etc/pwned; echo pwned > /pwned; echo pwned > /usr/bin/pwned; "
        "echo pwned > {tmp}/pwned",
        r"Read-only file system",
    ),
    "privilege escalation": Hostile(
        "run_shell",
        "su -c id root </dev/null; sudo id; python3 -c 'import os; os.setuid(0)'; "
        "mount -t tmpfs none /mnt; chfn -f x sandbox </dev/null; id",
        r"uid=1000",
        forbid=r"uid=0\b",
        timeout=10,
    ),
    "killing every process of the user": Hostile(
        "run_shell", "kill -9 -1", r"command server died during this command and was restarted"
    ),
    "killing the command server by name": Hostile(
        "run_shell",
        "pkill -9 -f length-prefixed; sleep 1",
        r"command server died during this command and was restarted",
    ),
    "binary garbage": Hostile(
        "run_shell", "head -c 50000 /dev/urandom", r"binary output: \d+ control characters"
    ),
    "100 MB on stdout": Hostile(
        "run_python",
        "import sys\nfor _ in range(100):\n    sys.stdout.write('a' * 1_000_000)",
        r"characters cut",
    ),
}


class RecordingPool(SandboxPool):
    """A SandboxPool that remembers the sandboxes it handed out."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.acquired: list = []

    async def acquire(self):
        sandbox = await super().acquire()
        self.acquired.append(sandbox)
        return sandbox


def _labelled(**filters: str) -> list:
    import docker

    client = docker.from_env()
    return client.containers.list(all=True, filters={"label": f"{LABEL}.run={RUN_ID}", **filters})


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def pool(docker_ready):
    async with RecordingPool(limits=LIMITS, size=2, run_id=RUN_ID) as recording:
        yield recording
    assert _labelled() == [], "the pool left containers of this run behind"


async def _episode(model: ScriptedModel, pool: RecordingPool, task: Task | None = None):
    """Run one episode on a sandbox of the pool: its result and the tool messages the
    model read."""
    task = task or Task(
        id=f"ws-hostile-{len(pool.acquired)}", environment="workspace", instruction="x"
    )
    result = await run_episode(
        task,
        model=model,
        agent="single",
        env_options={"sandbox": "docker", "pool": pool, "run_id": RUN_ID},
    )
    return result, [m["content"] for m in model.requests[-1].messages if m["role"] == "tool"]


@pytest.mark.parametrize("case", list(CASES))
async def test_hostile_code_is_contained_and_the_episode_goes_on(case, pool, tmp_path):
    hostile = CASES[case]
    canary = tmp_path / "canary.txt"
    canary.write_text(CANARY_TEXT)
    code = hostile.code.replace("{tmp}", str(tmp_path))
    key = "command" if hostile.tool == "run_shell" else "code"
    model = ScriptedModel(
        [
            {"tool": hostile.tool, "args": {key: code, "timeout": hostile.timeout}},
            {"tool": "run_shell", "args": {"command": "echo still-here; id -u"}},
            {"tool": "submit_answer", "args": {"answer": "done"}},
        ]
    )
    result, (hostile_msg, next_msg) = await _episode(model, pool)

    assert result.status == "done", result.error
    assert result.sandbox_backend == "docker"
    # the hostile call came back as a command result the model can read, of bounded size
    assert hostile_msg.startswith("exit code "), hostile_msg[:300]
    assert re.search(hostile.expect, hostile_msg), hostile_msg[:2000]
    if hostile.forbid:
        assert not re.search(hostile.forbid, hostile_msg), hostile_msg[:2000]
    assert len(hostile_msg) < 2 * SHOW_LIMIT + 500
    # the episode's sandbox still works, as the unprivileged user
    assert next_msg.startswith("exit code 0"), next_msg
    assert "still-here\n1000" in next_msg
    # the host is untouched
    assert canary.read_text() == CANARY_TEXT
    assert sorted(p.name for p in tmp_path.iterdir()) == ["canary.txt"]
    for outside in ("/etc/pwned", "/pwned", "/usr/bin/pwned"):
        assert not Path(outside).exists()
    # the episode's container is gone once the episode closed its environment
    used = pool.acquired[-1]
    assert _labelled(id=used.container.id) == []


async def test_a_dead_container_ends_in_a_clear_tool_message_not_a_crash(pool):
    """Even when the sandbox container itself disappears mid-episode, the episode ends
    "done" and the model reads what happened."""

    async def kill_container(request):
        tool_messages = [m for m in request.messages if m["role"] == "tool"]
        if not tool_messages:
            await asyncio.to_thread(pool.acquired[-1].container.kill)
            return {"tool": "run_shell", "args": {"command": "echo hello"}}
        return {"tool": "submit_answer", "args": {"answer": "the sandbox is gone"}}

    result, (message,) = await _episode(ScriptedModel(kill_container), pool)
    assert result.status == "done", result.error
    assert "the sandbox failed" in message and "container is gone" in message
    assert _labelled(id=pool.acquired[-1].container.id) == []


async def test_processes_the_model_left_cannot_answer_the_end_of_episode_checks(pool):
    """A detached process takes over the restarted command server (it opens the new
    server's stdin and stdout through /proc) and answers every request "exit 0"; a second
    one waits for the server the checks will use, beside a plain process left behind.
    Checks that cannot pass honestly still fail, and nothing the model started is alive
    when they run."""
    task = Task.model_validate(
        {
            "id": "ws-hijack",
            "environment": "workspace",
            "instruction": "x",
            "checklist": [
                {"id": "etc", "check": {"type": "state", "command": "test -f /etc/forged"}},
                {"id": "unwritten", "check": {"type": "state", "file": "never-written.txt"}},
                {
                    "id": "nothing-left",
                    "check": {"type": "state", "command": "pgrep -u 1000 -x sleep", "exit_code": 1},
                },
            ],
        }
    )
    plant = f"cat > /tmp/hijack.py <<'PY'\n{HIJACKER}\nPY\n"
    wait_for_the_next_server = (
        "rm -f /tmp/.hijacker-ready; "
        "setsid nohup python3 /tmp/hijack.py $PPID 5000000 >/dev/null 2>&1 </dev/null & "
        "setsid nohup sleep 1000 >/dev/null 2>&1 </dev/null & "
        "while [ ! -e /tmp/.hijacker-ready ]; do :; done; echo planted"
    )
    model = ScriptedModel(
        [
            {
                "tool": "run_shell",
                "args": {"command": plant + HIJACK_COMMAND.format(size=5_000_000), "timeout": 20},
            },
            {"tool": "run_shell", "args": {"command": wait_for_the_next_server, "timeout": 20}},
            {"tool": "submit_answer", "args": {"answer": "done"}},
        ]
    )
    result, (killed_msg, planted_msg) = await _episode(model, pool, task)

    verdicts = {v.item_id: v.passed for v in result.verdicts}
    assert verdicts == {"etc": False, "unwritten": False, "nothing-left": True}, result.verdicts
    assert result.outcome == "failed"
    assert "command server died" in killed_msg, killed_msg
    assert "planted" in planted_msg and "forged" not in planted_msg, planted_msg
