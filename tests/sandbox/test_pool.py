"""SandboxPool: warm containers handed out once, destroyed on release, all removed on
close."""

from __future__ import annotations

import asyncio

import pytest

from sandlot.environments.sandbox.base import SandboxError
from sandlot.environments.sandbox.docker import LABEL, DockerSandbox
from sandlot.environments.sandbox.image import docker_client
from sandlot.environments.sandbox.pool import SandboxPool
from tests.docker_support import LIMITS

pytestmark = pytest.mark.docker


def _containers(run_id: str) -> set[str]:
    found = docker_client().containers.list(
        all=True, sparse=True, filters={"label": f"{LABEL}.run={run_id}"}
    )
    return {c.id for c in found}


async def _until_created(run_id: str) -> None:
    """Until a container of ``run_id`` exists (a bound against a hang, not a timing)."""
    for _ in range(600):
        if _containers(run_id):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no container of run {run_id} was ever created")


async def _until_ready(pool: SandboxPool, count: int) -> None:
    # A bound against a hang, not a timing assertion: a cold start takes ~0.5 s.
    for _ in range(600):
        if len(pool._ready) >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the pool never had {count} ready (last error: {pool.last_error})")


async def test_acquire_hands_out_warm_sandboxes_once_and_release_destroys_them():
    run_id = "tests-pool-reuse"
    async with SandboxPool(limits=LIMITS, size=2, run_id=run_id) as pool:
        await _until_ready(pool, 2)
        warm = {sb.container.id for sb in pool._ready}
        first = await pool.acquire()
        second = await pool.acquire()
        assert {first.container.id, second.container.id} == warm  # both were warm
        assert (await first.exec("echo ok")).stdout == "ok\n"
        await first.write_file("episode.txt", "first episode")
        await pool.release(first)
        await _until_ready(pool, 2)  # refilled in the background
        third = await pool.acquire()
        assert third.container.id not in warm  # never reused across episodes
        assert (await third.exec("ls")).stdout == ""  # a clean work dir
        assert first.container.id not in _containers(run_id)
        await pool.release(second)
        await pool.release(third)
    assert _containers(run_id) == set()


async def test_close_removes_lent_out_and_warm_containers():
    run_id = "tests-pool-close"
    pool = SandboxPool(limits=LIMITS, size=1, run_id=run_id)
    lent = await pool.acquire()  # cold: nothing was warm yet
    await _until_ready(pool, 1)
    assert len(_containers(run_id)) == 2
    await pool.close()
    assert _containers(run_id) == set()
    with pytest.raises(SandboxError):
        await lent.exec("echo hi")
    with pytest.raises(SandboxError, match="pool is closed"):
        await pool.acquire()


async def test_a_warm_container_removed_meanwhile_is_replaced_on_acquire():
    run_id = "tests-pool-health"
    async with SandboxPool(limits=LIMITS, size=1, run_id=run_id) as pool:
        await _until_ready(pool, 1)
        docker_client().containers.get(pool._ready[0].container.id).remove(force=True)
        sandbox = await pool.acquire()
        assert (await sandbox.exec("echo fresh")).stdout == "fresh\n"
        await pool.release(sandbox)
    assert _containers(run_id) == set()


async def test_background_start_failures_are_recorded_and_acquire_raises_clearly():
    async with SandboxPool(limits=LIMITS, size=1, image="sandlot-sandbox:no-such-tag") as pool:
        await asyncio.gather(*pool._starting)
        assert isinstance(pool.last_error, SandboxError)
        with pytest.raises(SandboxError, match="no-such-tag"):
            await pool.acquire()


async def test_a_cancelled_start_removes_the_container_its_thread_started():
    run_id = "tests-pool-cancel-start"
    task = asyncio.create_task(DockerSandbox.start(LIMITS, run_id=run_id))
    await _until_created(run_id)  # the worker thread has created the container
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    # The thread finishes the start, then removes the container: wait for it (30 s at most).
    for _ in range(300):
        if not _containers(run_id):
            break
        await asyncio.sleep(0.1)
    assert _containers(run_id) == set()


async def test_acquire_raises_when_the_pool_closes_during_a_cold_start():
    run_id = "tests-pool-close-during-start"
    pool = SandboxPool(limits=LIMITS, size=0, run_id=run_id)
    acquiring = asyncio.create_task(pool.acquire())
    await _until_created(run_id)  # the cold start is under way
    await pool.close()
    with pytest.raises(SandboxError, match="closed"):
        await acquiring
    assert _containers(run_id) == set()
