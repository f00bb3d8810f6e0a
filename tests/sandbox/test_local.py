"""The local backend: says it does not isolate, maps /work into its own directory,
applies its rlimits, and leaves nothing behind."""

from __future__ import annotations

import dataclasses
import os
import warnings
from pathlib import Path

import pytest

from sandlot.environments.sandbox import local
from sandlot.environments.sandbox.base import SandboxError
from sandlot.environments.sandbox.local import LocalSandbox, NotIsolatedWarning
from tests.docker_support import LIMITS

pytestmark = pytest.mark.filterwarnings("ignore:the local sandbox does not isolate")


@pytest.fixture
async def sandbox():
    sb = LocalSandbox(LIMITS)
    try:
        yield sb
    finally:
        await sb.close()


def test_it_warns_once_per_process_that_it_does_not_isolate(monkeypatch):
    monkeypatch.setattr(local, "_warned", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        first, second = LocalSandbox(), LocalSandbox()
    assert [w.category for w in caught] == [NotIsolatedWarning]
    assert "does not isolate" in str(caught[0].message)
    assert first.isolated is False and first.backend == "local"
    for sb in (first, second):
        os.rmdir(sb.root)


async def test_work_paths_map_into_its_own_directory(sandbox):
    await sandbox.write_file("/work/data/in.txt", "mapped")
    assert (Path(sandbox.workdir) / "data/in.txt").read_text() == "mapped"
    assert await sandbox.read_file("data/in.txt") == "mapped"
    out = await sandbox.exec("cat in.txt; echo; echo $SANDLOT_WORKDIR", cwd="/work/data")
    assert out.stdout.splitlines() == ["mapped", sandbox.workdir]


async def test_the_file_size_limit_stops_a_huge_file(sandbox):
    out = await sandbox.exec("head -c 50000000 /dev/zero > big.bin; wc -c < big.bin")
    assert int(out.stdout.split()[-1]) <= LIMITS.file_size_mb * 1024 * 1024
    assert "File size limit exceeded" in out.stderr or out.exit_code != 0


async def test_the_memory_limit_stops_a_memory_bomb():
    small = dataclasses.replace(LIMITS, memory_mb=200)
    async with LocalSandbox(small) as sb:
        out = await sb.exec(["python3", "-c", "x = bytearray(1 << 30); print('ALLOCATED')"])
    assert out.exit_code != 0 and "MemoryError" in out.stderr and "ALLOCATED" not in out.stdout


async def test_close_removes_its_directory_and_refuses_more_work(sandbox):
    await sandbox.write_file("x.txt", "x")
    await sandbox.close()
    assert not Path(sandbox.workdir).exists()
    for call in (sandbox.exec("true"), sandbox.read_file("x.txt"), sandbox.write_file("y", "y")):
        with pytest.raises(SandboxError, match="closed"):
            await call


async def test_paths_that_leave_the_work_dir_are_refused(sandbox):
    name = f"escape-{Path(sandbox.workdir).name}.txt"  # unique: no other run's leftover
    outside = Path(sandbox.workdir).parent / "tmp" / name
    for path in (f"/work/../tmp/{name}", f"../tmp/{name}", f"a/../../{name}"):
        with pytest.raises(SandboxError, match="leads out of the work directory"):
            await sandbox.write_file(path, "x")
        with pytest.raises(SandboxError, match="leads out of the work directory"):
            await sandbox.read_file(path)
    assert not outside.exists()
    with pytest.raises(SandboxError, match="leads out"):
        await sandbox.exec("pwd", cwd="/work/..")
    await sandbox.write_file("/work/a/../inside.txt", "in")  # normalised, still inside
    assert (Path(sandbox.workdir) / "inside.txt").read_text() == "in"


async def test_errors_name_files_under_work_not_the_temporary_directory(sandbox):
    await sandbox.write_file("afile", "x")
    with pytest.raises(FileNotFoundError) as missing:
        await sandbox.read_file("no/such.txt")
    with pytest.raises(FileExistsError) as under_a_file:
        await sandbox.write_file("afile/b.txt", "x")
    await sandbox.exec("mkfifo pipe")
    with pytest.raises(SandboxError) as fifo:
        await sandbox.read_file("pipe")
    for caught in (missing, under_a_file, fifo):
        assert sandbox.workdir not in str(caught.value) and "/work/" in str(caught.value)
