"""Worker threads for the sandboxes' blocking calls (Docker SDK, sockets, subprocesses).

A command can block its thread for its whole timeout. On asyncio's default executor
(``min(32, cores + 4)`` threads: 6 on a 2-core machine) a handful of long commands would
starve every other ``to_thread`` user in the process, the trace writer included; so the
sandboxes get their own, larger executor. Idle threads cost nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from typing import ParamSpec, TypeVar

__all__ = ["MAX_THREADS", "run_blocking", "run_blocking_owned"]

MAX_THREADS = 128
_P = ParamSpec("_P")
_T = TypeVar("_T")
_executor = ThreadPoolExecutor(max_workers=MAX_THREADS, thread_name_prefix="sandlot-sandbox")


async def run_blocking(fn: Callable[_P, _T], *args: _P.args, **kwargs: _P.kwargs) -> _T:
    """``await`` a blocking call on the sandboxes' executor."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(_executor, functools.partial(fn, *args, **kwargs))


async def run_blocking_owned(
    fn: Callable[_P, _T], release: Callable[[_T], object], *args: _P.args, **kwargs: _P.kwargs
) -> _T:
    """:func:`run_blocking` for a call whose result must be released (a started
    container). When the awaiting task is cancelled, the call still runs to its end in
    its thread, and ``release(result)`` then runs there too, even after the event loop
    is gone; the CancelledError propagates."""
    future = _executor.submit(functools.partial(fn, *args, **kwargs))
    try:
        return await asyncio.shield(asyncio.wrap_future(future))
    except asyncio.CancelledError:
        future.add_done_callback(functools.partial(_release_result, release))
        raise


def _release_result(release: Callable[[_T], object], future: Future[_T]) -> None:
    if future.cancelled() or future.exception() is not None:
        return
    with contextlib.suppress(Exception):  # nothing to report to: the caller is gone
        release(future.result())
