"""The sandbox conformance kit: the cases any Sandbox backend must pass.

It ships in the package so a backend's author can run it in their own tests. Subclass
:class:`SandboxConformance` and give it a ``sandbox`` fixture that yields a fresh,
started sandbox (the kit closes it in one case; close it again afterwards — closing
twice must be safe)::

    # tests/test_my_backend.py  (pytest with pytest-asyncio, asyncio_mode = "auto")
    import pytest

    from sandlot.testing import SandboxConformance


    class TestMyBackend(SandboxConformance):
        @pytest.fixture
        async def sandbox(self):
            sb = await my_backend(None, run_id="tests")
            try:
                yield sb
            finally:
                await sb.close()

The cases need a POSIX shell with ``printf``, ``cat``, ``head``, ``tr``, ``wc``, ``ps``,
``grep``, ``sleep``, ``kill`` and ``python3`` in the sandbox, and the backend's output
cap below 5 MB. pytest and pytest-asyncio must be installed (sandlot's ``dev`` extra).
See docs/guides/sandbox-backend.md.
"""

from __future__ import annotations

import asyncio
import re

import pytest

from sandlot.environments.sandbox.base import Sandbox, SandboxError

__all__ = ["CUT_MARKER_RE", "SandboxConformance"]

CUT_MARKER_RE = re.compile(r"\n\[\.\.\. (\d+) bytes cut \.\.\.\]$")


class SandboxConformance:
    """Each test takes the ``sandbox`` fixture (a fresh, started Sandbox)."""

    async def test_backend_is_named(self, sandbox: Sandbox):
        assert isinstance(sandbox.backend, str) and sandbox.backend != "abstract"

    async def test_echo_and_exit_codes(self, sandbox: Sandbox):
        ok = await sandbox.exec("echo hello")
        assert (ok.exit_code, ok.stdout, ok.stderr, ok.timed_out, ok.ok) == (
            0,
            "hello\n",
            "",
            False,
            True,
        )
        bad = await sandbox.exec("echo oops >&2; exit 3")
        assert (bad.exit_code, bad.stdout, bad.stderr, bad.ok) == (3, "", "oops\n", False)

    async def test_death_by_signal_is_a_negative_exit_code(self, sandbox: Sandbox):
        out = await sandbox.exec(["python3", "-c", "import os; os.kill(os.getpid(), 9)"])
        assert out.exit_code == -9 and not out.timed_out

    async def test_a_missing_program_fails_without_raising(self, sandbox: Sandbox):
        out = await sandbox.exec(["no-such-program-4711"])
        assert out.exit_code == 127 and "no-such-program-4711" in out.stderr

    async def test_argv_commands_are_not_shell_parsed(self, sandbox: Sandbox):
        out = await sandbox.exec(["printf", "%s|", "a b", "$HOME", "*"])
        assert out.stdout == "a b|$HOME|*|"

    async def test_stdin_as_text_and_bytes(self, sandbox: Sandbox):
        assert (await sandbox.exec("cat", stdin="piped\n")).stdout == "piped\n"
        out = await sandbox.exec("wc -c", stdin=b"\x00\x01" * 100_000)
        assert out.stdout.strip() == "200000"

    async def test_env_adds_to_the_environment(self, sandbox: Sandbox):
        out = await sandbox.exec("echo $GREETING; command -v sh", env={"GREETING": "hi"})
        assert out.stdout.splitlines()[0] == "hi"
        assert out.stdout.splitlines()[1].endswith("/sh")  # PATH survived

    async def test_cwd_and_relative_paths_resolve_against_the_workdir(self, sandbox: Sandbox):
        start = await sandbox.exec("pwd")
        assert start.stdout.strip() == sandbox.workdir
        await sandbox.exec("mkdir -p sub/dir")
        assert (await sandbox.exec("pwd", cwd="sub/dir")).stdout.strip() == (
            f"{sandbox.workdir}/sub/dir"
        )
        await sandbox.write_file("notes/a.txt", "alpha")
        assert (await sandbox.exec("cat notes/a.txt")).stdout == "alpha"
        assert await sandbox.read_file("notes/a.txt") == "alpha"
        await sandbox.exec("echo beta > b.txt")
        assert await sandbox.read_file(f"{sandbox.workdir}/b.txt") == "beta\n"

    async def test_timeout_kills_the_whole_process_group(self, sandbox: Sandbox):
        # A child that ignores SIGTERM, a grandchild, and a double-forked orphan: all in
        # the command's process group, all gone after the timeout.
        script = (
            "sh -c \"trap '' TERM; sleep 3001\" & "
            "sh -c 'sleep 3002 & wait' & "
            "(sleep 3003 &) ; "
            "trap '' TERM; sleep 3004"
        )
        out = await sandbox.exec(script, timeout=0.5)
        assert out.timed_out and not out.ok
        left = await sandbox.exec("ps -eo args | grep -c '^sleep 300[1-4]$' || true")
        assert left.stdout.strip() == "0", left

    async def test_a_command_that_redirects_its_own_output_keeps_its_timeout(
        self, sandbox: Sandbox
    ):
        # Its pipes close at once; it must still run to its end (past 5 s), and its
        # exit code count.
        out = await sandbox.exec("exec >/dev/null 2>&1; sleep 5.5; echo done > done.txt; exit 3")
        assert (out.exit_code, out.timed_out) == (3, False), out
        assert await sandbox.read_file("done.txt") == "done\n"

    async def test_a_command_that_redirects_its_own_output_still_times_out(self, sandbox: Sandbox):
        out = await sandbox.exec("exec >/dev/null 2>&1; sleep 3005", timeout=1)
        assert out.timed_out and not out.ok and out.duration < 4, out
        left = await sandbox.exec("ps -eo args | grep -c '^sleep 3005$' || true")
        assert left.stdout.strip() == "0", left

    async def test_background_processes_do_not_outlive_their_command(self, sandbox: Sandbox):
        for script in ("sleep 3006 & echo started", "exec >/dev/null 2>&1; sleep 3006 &"):
            out = await sandbox.exec(script)
            assert out.exit_code == 0 and not out.timed_out, out
            left = await sandbox.exec("ps -eo args | grep -c '^sleep 3006$' || true")
            assert left.stdout.strip() == "0", (script, left)

    async def test_a_detached_child_holding_the_output_does_not_time_the_command_out(
        self, sandbox: Sandbox
    ):
        # A setsid'd child leaves the command's process group but keeps its stdout: the
        # command exited at once, so its result comes after a short drain, not its timeout.
        escapee = "import os, time; os.setsid(); time.sleep(3007)"
        script = f"python3 -c '{escapee}' & echo $! > escapee.pid; sleep 0.5; echo started"
        try:
            out = await sandbox.exec(script, timeout=8)
            assert (out.exit_code, out.stdout, out.timed_out) == (0, "started\n", False), out
            assert out.duration < 5, out
        finally:
            await sandbox.exec("kill -9 $(cat escapee.pid) 2>/dev/null || true")

    async def test_files_that_are_not_regular_are_refused_at_once(self, sandbox: Sandbox):
        await sandbox.exec(["python3", "-c", "import os; os.mkfifo('pipe')"])
        with pytest.raises(SandboxError, match="not a regular file"):
            await asyncio.wait_for(sandbox.read_file("pipe"), 10)
        # Writing would wait for a reader: refused at once too.
        with pytest.raises(SandboxError, match="not a regular file"):
            await asyncio.wait_for(sandbox.write_file("pipe", "x"), 10)
        with pytest.raises(IsADirectoryError):
            await sandbox.read_file(".")

    async def test_a_bad_request_raises_sandbox_error(self, sandbox: Sandbox):
        calls = (
            lambda: sandbox.exec("echo a\x00b"),
            lambda: sandbox.exec("echo $N", env={"N": 5}),  # type: ignore[dict-item]
            lambda: sandbox.exec([]),
            lambda: sandbox.read_file("nul\x00.txt"),
        )
        for call in calls:
            with pytest.raises(SandboxError):
                await call()

    async def test_output_is_capped_with_a_marker_counting_the_cut(self, sandbox: Sandbox):
        total = 5_000_000
        out = await sandbox.exec(f"head -c {total} /dev/zero | tr '\\0' x; echo err >&2")
        assert out.truncated and out.exit_code == 0 and out.stderr == "err\n"
        marker = CUT_MARKER_RE.search(out.stdout)
        assert marker is not None, out.stdout[-200:]
        kept = out.stdout[: marker.start()]
        assert set(kept) == {"x"} and len(kept) + int(marker.group(1)) == total

    async def test_invalid_utf8_is_replaced(self, sandbox: Sandbox):
        out = await sandbox.exec("printf 'ok \\377\\376 end'; printf '\\377' >&2")
        assert out.stdout == "ok \ufffd\ufffd end" and out.stderr == "\ufffd"

    async def test_text_and_binary_files_round_trip(self, sandbox: Sandbox):
        blob = bytes(range(256)) * 64
        await sandbox.write_file("blob.bin", blob)
        assert await sandbox.read_file("blob.bin", binary=True) == blob
        assert (await sandbox.exec("wc -c < blob.bin")).stdout.strip() == str(len(blob))
        await sandbox.write_file("deep/er/text.txt", "héllo\n")
        assert await sandbox.read_file("deep/er/text.txt") == "héllo\n"
        assert await sandbox.read_file("deep/er/text.txt", binary=True) == "héllo\n".encode()

    async def test_writes_by_commands_are_read_back(self, sandbox: Sandbox):
        await sandbox.exec("printf '\\377x' > made.bin")
        assert await sandbox.read_file("made.bin", binary=True) == b"\xffx"
        assert await sandbox.read_file("made.bin") == "\ufffdx"

    async def test_cancelling_an_exec_stops_its_command(self, sandbox: Sandbox):
        slow = sandbox.exec("sleep 4; echo ran > cancelled.txt", timeout=20)
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(slow, 0.5)
        after = await sandbox.exec("echo next")
        assert after.stdout == "next\n" and after.ok
        await asyncio.sleep(4.5)
        gone = await sandbox.exec("cat cancelled.txt")
        assert gone.exit_code != 0, gone  # the cancelled command never finished

    async def test_missing_file_raises_file_not_found(self, sandbox: Sandbox):
        with pytest.raises(FileNotFoundError):
            await sandbox.read_file("no/such/file.txt")

    async def test_close_twice_is_safe_and_a_closed_sandbox_refuses_work(self, sandbox: Sandbox):
        await sandbox.close()
        await sandbox.close()
        with pytest.raises(SandboxError):
            await sandbox.exec("echo hi")
