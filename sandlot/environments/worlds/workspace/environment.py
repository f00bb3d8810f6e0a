"""The workspace world: a code and shell workspace on a sandbox (Docker or local).

A task's ``initial_state`` is ``{"files": {path: text}, "setup": [shell command, ...]}``:
files are written first (paths relative to /work), then each setup command runs in /work
and must exit 0. See docs/worlds/workspace.md.
"""

from __future__ import annotations

import dataclasses
import posixpath
from typing import Any

from sandlot.environments.base import Environment
from sandlot.environments.sandbox.base import SandboxLimits
from sandlot.environments.sandbox.factory import make_sandbox
from sandlot.environments.tasks import Task
from sandlot.environments.trajectory import ToolCallRecord
from sandlot.environments.worlds.workspace import tools
from sandlot.environments.worlds.workspace.checks import (
    WorkspaceInitialState,
    WorkspaceStateCheck,
    check_problem,
    command_verdict,
    file_verdict,
    inside_workspace,
    workspace_relative,
)
from sandlot.environments.worlds.workspace.snapshot import capture_snapshot, snapshot_file
from sandlot.tools import Toolset

__all__ = ["CHECK_TIMEOUT", "SETUP_TIMEOUT", "WorkspaceEnvironment", "parse_initial_state"]

SETUP_TIMEOUT = 60.0  # seconds for each setup command
CHECK_TIMEOUT = 60.0  # seconds for each command check


def parse_initial_state(task: Task) -> tuple[dict[str, str], list[str]]:
    """The files (keyed relative to /work) and setup commands of ``task.initial_state``,
    validated: a problem is a ValueError naming the task and the field."""
    initial = WorkspaceEnvironment.check_initial_state(task)
    return initial.relative_files(), list(initial.setup)


def _limits(value: Any) -> SandboxLimits | None:
    if value is None or isinstance(value, SandboxLimits):
        return value
    if isinstance(value, dict):
        known = {f.name for f in dataclasses.fields(SandboxLimits)}
        unknown = sorted(set(value) - known)
        if unknown:
            raise ValueError(
                f"workspace option limits: unknown field(s) {unknown}; "
                f"SandboxLimits has {sorted(known)}"
            )
        return SandboxLimits(**value)
    raise TypeError(
        f"workspace option limits must be a SandboxLimits or a dict of its fields, "
        f"got {type(value).__name__}"
    )


class WorkspaceEnvironment(Environment[None, WorkspaceInitialState, WorkspaceStateCheck]):
    """Files and a shell in a sandbox.

    Options (``make_environment("workspace", **options)``): ``sandbox`` ("auto" | "docker"
    | "local", default "auto"), ``limits`` (SandboxLimits or a dict of its fields),
    ``pool`` (a SandboxPool to take Docker sandboxes from), ``run_id`` (labels the
    containers). Other options (e.g. the runner's ``extra_tools``) are accepted.
    """

    name = "workspace"
    uses_sandbox = True
    initial_state_model = WorkspaceInitialState
    state_check_model = WorkspaceStateCheck
    description = "A code and shell workspace in a sandbox: run commands and Python, edit files."
    policy = (
        "You work in a sandbox: a shell, Python 3 and the files of the workspace /work (paths "
        "are relative to it). Look before you edit, change only what the task asks for, and "
        "run the code or its tests to check your work before you answer."
    )

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.limits = _limits(options.get("limits"))
        self._snapshot: dict[str, Any] | None = None

    @classmethod
    def default_toolset(cls) -> Toolset:
        return Toolset("workspace", [getattr(tools, name) for name in tools.TOOL_NAMES])

    async def reset(self, task: Task) -> None:
        """A fresh sandbox with the task's files written and its setup commands run.

        Raises:
            ValueError: the initial_state is malformed, or a setup command failed (the
                message names the task and the command; the sandbox is released).
        """
        initial = self.check_initial_state(task)
        files, setup = initial.relative_files(), initial.setup
        await self._release()
        self.task, self._snapshot = task, None
        self.sandbox = await make_sandbox(
            self.options.get("sandbox") or "auto",
            limits=self.limits,
            run_id=self.options.get("run_id") or "",
            pool=self.options.get("pool"),
        )
        try:
            for path, content in files.items():
                await self.sandbox.write_file(path, content)
            for command in setup:
                result = await self.sandbox.exec(command, timeout=SETUP_TIMEOUT)
                if not result.ok:
                    how = (
                        f"timed out after {SETUP_TIMEOUT:g} s"
                        if result.timed_out
                        else f"failed with exit code {result.exit_code}"
                    )
                    raise ValueError(
                        f"task {task.id!r}: setup command {command!r} {how}: "
                        f"{(result.stderr or result.stdout).strip()[:500]}; fix "
                        "initial_state.setup in the task file"
                    )
        except BaseException:
            await self._release()
            raise

    async def check_state(self, check: WorkspaceStateCheck) -> tuple[bool, Any]:
        """Answer a ``file`` or ``command`` check inside the sandbox. Never raises: a
        check that cannot run fails, with the reason as evidence.

        Every process the episode's commands left is ended first (``Sandbox.quiesce``;
        again after a command check), so none of them can answer or change the check."""
        problem = check_problem(check)
        if problem is not None:
            return False, {"error": problem}
        if self.sandbox is None:
            return False, {"error": "the workspace has no sandbox (reset was not called)"}
        try:
            await self.sandbox.quiesce()
            if check.command is not None:
                result = await self.sandbox.exec(check.command, timeout=CHECK_TIMEOUT)
                return command_verdict(result, check)
            assert check.file is not None
            try:
                data = await self.sandbox.read_file(check.file, binary=True)
            except FileNotFoundError:
                return file_verdict(check.file, None, check)
            except IsADirectoryError:
                return file_verdict(
                    check.file, None, check, exists=True, note=f"{check.file} is a directory"
                )
            assert isinstance(data, bytes)
            return file_verdict(check.file, data.decode("utf-8", errors="replace"), check)
        except Exception as exc:  # the sandbox failed: the item fails with the reason
            return False, {"error": f"the check could not run: {type(exc).__name__}: {exc}"}

    def call_changes(self, call: ToolCallRecord) -> dict[str, Any] | None:
        """``{"files": [path]}`` for a write_file call that succeeded (its path argument,
        relative to /work); None for other calls: what run_shell or run_python wrote is
        not known without reading the files again, which is not done per call."""
        if call.name != "write_file" or not call.ok or not isinstance(call.arguments, dict):
            return None
        path = call.arguments.get("path")
        rel = inside_workspace(path) if isinstance(path, str) else None
        return {"files": [rel]} if rel is not None else None

    async def snapshot_async(self) -> dict[str, Any]:
        """Read the text files of the workspace (the runner stores this after scoring and
        before ``close()``), once every process the commands left is ended;
        ``snapshot()`` returns the same dict afterwards."""
        if self.sandbox is None:
            return self.snapshot()
        try:
            await self.sandbox.quiesce()
        except Exception as exc:  # recorded, as capture_snapshot records its own failures
            self._snapshot = {"files": {}, "error": f"the snapshot could not be taken: {exc}"}
        else:
            self._snapshot = await capture_snapshot(self.sandbox)
        return self._snapshot

    def snapshot(self) -> dict[str, Any]:
        """The last snapshot taken by ``snapshot_async`` (``{"files": {}}`` before one)."""
        return self._snapshot if self._snapshot is not None else {"files": {}}

    @classmethod
    def check_snapshot(
        cls, snapshot: dict[str, Any], check: WorkspaceStateCheck
    ) -> tuple[bool, Any]:
        """Answer a ``file`` check from a stored snapshot.

        Raises:
            NotImplementedError: for ``command`` checks, which need a live sandbox.
        """
        if check.command is not None and check.file is None:
            raise NotImplementedError(
                "workspace command checks need a live sandbox; a snapshot holds files only"
            )
        problem = check_problem(check)
        if problem is not None:
            return False, {"error": problem}
        assert check.file is not None
        path = workspace_relative(check.file)
        if posixpath.isabs(path):
            return False, {"error": f"{check.file!r} is outside /work; a snapshot holds /work"}
        text, exists, note = snapshot_file(snapshot, path)
        return file_verdict(check.file, text, check, exists=exists, note=note)

    async def _release(self) -> None:
        sandbox, self.sandbox = self.sandbox, None
        if sandbox is None:
            return
        pool = self.options.get("pool")
        if pool is not None and sandbox.backend == "docker":
            await pool.release(sandbox)
        else:
            await sandbox.close()

    async def close(self) -> None:
        """Give the sandbox back (a pool destroys it and starts a fresh one); safe twice."""
        await self._release()
