"""The workspace's tools: shell, Python and files, all inside the episode's sandbox.

Results are short plain text for a model to read: a command's exit code, then its
stdout and stderr, each cut to ``SHOW_LIMIT`` characters (start and end kept). Failures
that are the model's to fix (a missing file, a bad timeout) raise ToolError; a command
that exits non-zero is data, not an error.
"""

from __future__ import annotations

import json
import re

from sandlot.environments.sandbox.base import ExecResult, Sandbox, SandboxError
from sandlot.environments.worlds.workspace.checks import inside_workspace, workspace_relative
from sandlot.tools import ToolContext, ToolError, tool

__all__ = [
    "LIST_LIMIT",
    "MAX_TIMEOUT",
    "READ_LIMIT",
    "SEARCH_LIMIT",
    "SHOW_LIMIT",
    "TOOL_NAMES",
    "list_files",
    "read_file",
    "render",
    "run_python",
    "run_shell",
    "search_files",
    "show",
    "write_file",
]

SHOW_LIMIT = 16_000  # characters of each output stream shown to the model
READ_LIMIT = 20_000  # bytes of a file read_file shows
LIST_LIMIT = 200  # files list_files shows
SEARCH_LIMIT = 200  # matching lines search_files shows
MAX_TIMEOUT = 600.0  # the longest command timeout a model may ask for
_FS_TIMEOUT = 30.0  # seconds for the file tools' own commands
TOOL_NAMES = ("run_shell", "run_python", "read_file", "write_file", "list_files", "search_files")

# C0 control characters other than tab, newline and carriage return: binary noise.
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _sandbox(ctx: ToolContext) -> Sandbox:
    if ctx.sandbox is None:
        raise ToolError("this tool needs the workspace's sandbox, and the episode has none")
    return ctx.sandbox


def show(text: str, limit: int = SHOW_LIMIT) -> str:
    """``text`` as a model should see it: control characters replaced (binary output
    becomes readable noise, with a note) and the middle cut beyond ``limit`` characters."""
    text, n = _CONTROL.subn("\ufffd", text)
    note = f"\n[binary output: {n} control characters shown as \ufffd]" if n else ""
    if len(text) > limit:
        head, tail = text[: limit * 3 // 4], text[-(limit // 4) :]
        text = f"{head}\n[... {len(text) - len(head) - len(tail)} characters cut ...]\n{tail}"
    return text + note


def render(result: ExecResult, timeout: float) -> str:
    """A command's result as the model reads it: exit code, then stdout and stderr."""
    head = f"exit code {result.exit_code}"
    if result.timed_out:
        head += f" (timed out after {timeout:g} s: the command and its children were killed)"
    elif result.exit_code < -1:  # -N: killed by signal N (-1 is a backend's "no status")
        head += f" (killed by signal {-result.exit_code}"
        head += ", e.g. out of memory)" if result.exit_code == -9 else ")"
    parts = [head]
    for name, text in (("stdout", result.stdout), ("stderr", result.stderr)):
        if text:
            parts.append(f"{name}:\n{show(text.rstrip())}")
    if len(parts) == 1:
        parts.append("(no output)")
    return "\n".join(parts)


async def _exec(
    ctx: ToolContext, cmd: str | list[str], timeout: float, stdin: str | None = None
) -> ExecResult:
    if not 0 < timeout <= MAX_TIMEOUT:
        raise ToolError(f"timeout must be more than 0 and at most {MAX_TIMEOUT:g} seconds")
    try:
        return await _sandbox(ctx).exec(cmd, timeout=timeout, stdin=stdin)
    except SandboxError as exc:
        raise ToolError(f"the sandbox failed: {exc}") from exc


def _last_line(result: ExecResult) -> str:
    lines = (result.stderr or result.stdout).strip().splitlines()
    return lines[-1] if lines else f"exit code {result.exit_code}"


@tool(timeout=MAX_TIMEOUT + 30)
async def run_shell(ctx: ToolContext, command: str, timeout: float = 30) -> str:
    """Run a shell command in the workspace; returns its exit code, stdout and stderr.

    The command runs with sh -c in the workspace directory. A non-zero exit code is
    reported, not an error. Background processes (`cmd &`, `nohup`) do not outlive the
    command that started them: they are killed when it exits, so start a server and use
    it in the same command.

    Args:
        command: The shell command line, e.g. "ls -la" or "python3 test.py".
        timeout: Seconds before the command and its children are killed (at most 600).
    """
    if not command.strip():
        raise ToolError("command is empty; give a shell command line such as 'ls -la'")
    return render(await _exec(ctx, command, timeout), timeout)


@tool(timeout=MAX_TIMEOUT + 30)
async def run_python(ctx: ToolContext, code: str, timeout: float = 30) -> str:
    """Run a Python 3 program in the workspace; returns its exit code, stdout and stderr.

    The program runs in the workspace directory. Print what you want to see.

    Args:
        code: The Python source code to run (the program cannot read stdin).
        timeout: Seconds before the program is killed (at most 600).
    """
    if not code.strip():
        raise ToolError("code is empty; give the Python source to run")
    return render(await _exec(ctx, ["python3", "-"], timeout, stdin=code), timeout)


# Prints the file's size on the first line, then its first bytes; exit 2-5 say why not.
_READ = (
    'if [ -d "$1" ]; then exit 3; fi; if [ ! -e "$1" ]; then exit 2; fi; '
    'if [ ! -f "$1" ]; then exit 5; fi; '
    'if [ ! -r "$1" ]; then exit 4; fi; wc -c < "$1" && head -c "$2" -- "$1"'
)


@tool
async def read_file(ctx: ToolContext, path: str) -> str:
    """Read a text file of the workspace.

    Long files are cut, with a note saying how to see the rest.

    Args:
        path: The file's path, relative to the workspace directory (e.g. "src/app.py").
    """
    argv = ["sh", "-c", _READ, "sh", workspace_relative(path), str(READ_LIMIT)]
    result = await _exec(ctx, argv, _FS_TIMEOUT)
    if result.exit_code == 2:
        raise ToolError(f"no file {path!r} in the workspace; list_files shows what exists")
    if result.exit_code == 3:
        raise ToolError(f"{path!r} is a directory; list_files shows its files")
    if result.exit_code == 4:
        raise ToolError(f"{path!r} cannot be read (permission denied)")
    if result.exit_code == 5:
        raise ToolError(f"{path!r} is not a regular file (a FIFO, socket or device)")
    if not result.ok:
        raise ToolError(f"cannot read {path!r}: {_last_line(result)}")
    size_line, _, text = result.stdout.partition("\n")
    size = int(size_line.strip() or 0)
    if "\x00" in text:
        return (
            f"{path} is a binary file ({size} bytes); inspect it with run_shell, "
            f"e.g. `od -c {path} | head`"
        )
    if size > READ_LIMIT:
        text = text.rstrip("\ufffd")  # a character cut in two at the limit
        return (
            f"{text}\n[... showing the first {READ_LIMIT} of {size} bytes; see the rest with "
            f"run_shell, e.g. `tail -c 5000 {path}` or `sed -n '400,500p' {path}`]"
        )
    return text


def _inside_workspace(path: str) -> str:
    rel = inside_workspace(path)
    if rel is None or "\0" in rel:
        raise ToolError(
            f"{path!r} is not a file path inside the workspace (/work); write_file writes "
            "there only: use a relative path such as 'out/result.json'"
        )
    return rel


# Where a path really leads (symbolic links resolved, missing parts kept), and where the
# workspace itself is: JSON, so that no file name can garble the answer.
_REALPATH = (
    "import json, os, sys; "
    "print(json.dumps([os.path.realpath(sys.argv[1]), os.path.realpath('.')]))"
)


async def _refuse_links_out(ctx: ToolContext, path: str, rel: str) -> None:
    """ToolError when a symbolic link on the way makes ``rel`` land outside /work."""
    result = await _exec(ctx, ["python3", "-I", "-c", _REALPATH, rel], _FS_TIMEOUT)
    try:
        target, top = json.loads(result.stdout)
    except ValueError:
        raise ToolError(f"cannot write {path!r}: {_last_line(result)}") from None
    if not target.startswith(top.rstrip("/") + "/"):
        raise ToolError(
            f"{path!r} leads out of the workspace through a symbolic link (to {target}); "
            "write_file writes inside the workspace (/work) only"
        )


@tool
async def write_file(ctx: ToolContext, path: str, content: str) -> str:
    """Write a text file in the workspace, creating folders as needed.

    Replaces the file if it exists.

    Args:
        path: The file's path, relative to the workspace directory (e.g. "out/report.json").
        content: The whole new content of the file.
    """
    rel = _inside_workspace(path)
    await _refuse_links_out(ctx, path, rel)
    try:
        await _sandbox(ctx).write_file(rel, content)
    except IsADirectoryError:
        raise ToolError(f"{path!r} is a directory; choose a file name inside it") from None
    except (OSError, SandboxError) as exc:
        raise ToolError(f"cannot write {path!r}: {exc}") from exc
    return f"wrote {len(content.encode())} bytes to {rel}"


# Walks a folder without following links: "SIZE\tPATH" per file, sorted, then a count.
_LIST = r"""
import os, sys
top, limit = sys.argv[1], int(sys.argv[2])
if not os.path.lexists(top):
    sys.exit(2)
if not os.path.isdir(top) or os.path.islink(top):
    found = [top]
else:
    found = []
    for root, dirs, names in os.walk(top):
        dirs.sort()
        found += [os.path.join(root, n) for n in sorted(names)]
total = 0
for i, path in enumerate(found):
    size = os.lstat(path).st_size
    total += size
    if i < limit:
        link = " -> " + os.readlink(path) if os.path.islink(path) else ""
        print("%s (%d bytes)%s" % (os.path.normpath(path), size, link))
print("%d files, %d bytes" % (len(found), total))
"""


@tool
async def list_files(ctx: ToolContext, path: str = ".") -> str:
    """List the files under a folder of the workspace, recursively, with their sizes.

    Args:
        path: The folder, relative to the workspace directory ("." for all of it).
    """
    argv = ["python3", "-I", "-c", _LIST, workspace_relative(path), str(LIST_LIMIT)]
    result = await _exec(ctx, argv, _FS_TIMEOUT)
    if result.exit_code == 2:
        raise ToolError(f"no file or folder {path!r} in the workspace; try list_files('.')")
    if not result.ok:
        raise ToolError(f"cannot list {path!r}: {_last_line(result)}")
    lines = result.stdout.rstrip("\n").splitlines()
    summary, shown = lines[-1], lines[:-1]
    count = int(summary.split()[0])
    if count == 0:
        return f"(no files under {path})"
    more = f"\n[... {count - len(shown)} more; list a subfolder]" if count > len(shown) else ""
    return "\n".join(shown) + more + f"\n{summary}"


_MATCH = re.compile(r"^(.*?):(\d+):")


def _match_order(line: str) -> tuple[str, int]:
    """grep's "path:line:text" ordered by path, then line number (grep walks folders in
    the file system's order, which differs between machines)."""
    found = _MATCH.match(line)
    return (found.group(1), int(found.group(2))) if found else (line, 0)


@tool
async def search_files(ctx: ToolContext, pattern: str, path: str = ".", regex: bool = False) -> str:
    """Search the text files under a folder for a pattern, like grep.

    Shows path:line:text for each matching line, by path and line number.

    Args:
        pattern: The text to look for (exact text, case-sensitive, unless regex is true).
        path: The folder or file to search, relative to the workspace directory.
        regex: Treat the pattern as an extended regular expression (grep -E).
    """
    if not pattern:
        raise ToolError("pattern is empty; give the text to look for")
    flag = "-E" if regex else "-F"
    argv = ["grep", "-rnI", flag, "--", pattern, workspace_relative(path)]
    result = await _exec(ctx, argv, _FS_TIMEOUT)
    if result.exit_code == 1:
        return f"no match for {pattern!r} under {path}"
    if result.exit_code != 0 and not result.stdout:
        raise ToolError(f"cannot search {path!r} for {pattern!r}: {_last_line(result)}")
    lines = result.stdout.splitlines()
    if result.truncated:
        lines = lines[:-1]  # the sandbox's "[... N bytes cut ...]" marker
    lines = sorted((line.removeprefix("./") for line in lines), key=_match_order)
    shown = [line if len(line) <= 300 else line[:300] + " [...]" for line in lines[:SEARCH_LIMIT]]
    if len(lines) > SEARCH_LIMIT or result.truncated:
        shown.append("[... more matches not shown; narrow the pattern or the path]")
    return show("\n".join(shown))
