"""The bounded pool that CPU-heavy work (decode, resize, encode) runs in.

Threads rather than processes: Pillow and PyAV release the GIL while they decode,
resize and encode, so N threads keep N cores busy without pickling megabytes of
pixels between processes. Every job has a deadline; a job past it is reported as a
timeout to the caller at once, while its thread, which nothing can stop, keeps the
job's slot until it ends. Pixel limits are checked before any decode, so the work a
late job can still do in the background is bounded.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ParamSpec, TypeVar

from server.domain.errors import ProcessingTimeout

# How many job deadlines a job may wait for a free worker before it gives up.
QUEUE_WAIT_DEADLINES = 4
P = ParamSpec("P")
T = TypeVar("T")


class WorkerPool:
    def __init__(self, workers: int, timeout_s: float) -> None:
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="darkroom-cpu")
        # Jobs wait for a free worker here, so the deadline only counts running time:
        # a queue under load must not time uploads out before they start.
        self._slots = asyncio.Semaphore(workers)
        self.size = workers
        # What an operator watches (server.adapters.metrics reads them at scrape time).
        self.queued = 0  # jobs waiting for a free worker
        self.busy = 0  # workers running a job, late ones past their deadline included
        self._timeout_s = timeout_s
        # ...but a pool whose every thread is stuck must still fail uploads in bounded
        # time rather than queue them forever.
        self._queue_timeout_s = QUEUE_WAIT_DEADLINES * timeout_s

    async def run(self, fn: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        loop = asyncio.get_running_loop()
        call = functools.partial(fn, *args, **kwargs)
        self.queued += 1
        try:
            async with asyncio.timeout(self._queue_timeout_s):
                await self._slots.acquire()
        except TimeoutError as exc:
            raise ProcessingTimeout(timeout_s=self._timeout_s) from exc
        finally:
            self.queued -= 1
        try:
            work = loop.run_in_executor(self._executor, call)
        except BaseException:
            self._slots.release()
            raise
        self.busy += 1
        # A thread cannot be stopped, so a job past its deadline keeps its worker: the
        # slot comes back only when the thread is done, or the next job's deadline would
        # tick while it waits in the executor's queue behind the late one.
        work.add_done_callback(self._release)
        try:
            async with asyncio.timeout(self._timeout_s):
                return await asyncio.shield(work)
        except TimeoutError as exc:
            raise ProcessingTimeout(timeout_s=self._timeout_s) from exc

    def _release(self, work: asyncio.Future[Any]) -> None:
        if not work.cancelled():
            work.exception()  # a late job's failure has no caller left to hear it
        self.busy -= 1
        self._slots.release()

    def shutdown(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
