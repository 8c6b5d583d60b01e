"""The CPU pool: a job past its deadline keeps its worker until its thread is done."""

from __future__ import annotations

import asyncio
import threading

import pytest

from server.adapters.workers import WorkerPool
from server.domain.errors import ProcessingTimeout
from tests.support.waiting import wait_until

DEADLINE_S = 0.3


class _Jobs:
    """Blocking jobs that count how many of them run at once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.running = 0
        self.most_at_once = 0
        self.started: list[str] = []

    def block(self, name: str, until: threading.Event) -> str:
        with self._lock:
            self.running += 1
            self.most_at_once = max(self.most_at_once, self.running)
            self.started.append(name)
        try:
            until.wait()
            return name
        finally:
            with self._lock:
                self.running -= 1


async def _a_full_deadline_passes() -> None:
    """Returns once a job submitted now, on a pool of its own, has timed out.

    Anything submitted before this call and timed from its submission would have
    timed out too: the loop fires earlier deadlines first.
    """
    witness = WorkerPool(workers=1, timeout_s=DEADLINE_S)
    release = threading.Event()
    try:
        with pytest.raises(ProcessingTimeout):
            await witness.run(_Jobs().block, "witness", release)
    finally:
        release.set()
        witness.shutdown()


@pytest.mark.asyncio
async def test_the_next_jobs_deadline_starts_when_the_late_jobs_thread_ends() -> None:
    pool = WorkerPool(workers=1, timeout_s=DEADLINE_S)
    jobs = _Jobs()
    late_release, next_release = threading.Event(), threading.Event()
    try:
        with pytest.raises(ProcessingTimeout):
            await pool.run(jobs.block, "late", late_release)
        # The caller heard of the timeout while the thread still runs.
        assert jobs.running == 1 and not late_release.is_set()

        following = asyncio.create_task(pool.run(jobs.block, "next", next_release))
        await asyncio.sleep(0)  # one step: it has asked the pool for a worker
        await _a_full_deadline_passes()
        assert not following.done()
        assert jobs.started == ["late"]

        late_release.set()
        next_release.set()
        assert await following == "next"
        assert jobs.started == ["late", "next"]
        assert jobs.most_at_once == 1
    finally:
        late_release.set()
        next_release.set()
        pool.shutdown()


@pytest.mark.asyncio
async def test_running_jobs_never_outnumber_the_workers_even_after_timeouts() -> None:
    workers = 2
    pool = WorkerPool(workers=workers, timeout_s=DEADLINE_S)
    jobs = _Jobs()
    late = [threading.Event() for _ in range(workers)]
    releases = [threading.Event() for _ in range(4)]
    try:
        for index, release in enumerate(late):
            with pytest.raises(ProcessingTimeout):
                await pool.run(jobs.block, f"late-{index}", release)
        waiting = [
            asyncio.create_task(pool.run(jobs.block, f"next-{index}", release))
            for index, release in enumerate(releases)
        ]
        await asyncio.sleep(0)  # one step each: they have asked the pool for a worker
        await _a_full_deadline_passes()
        assert not any(task.done() for task in waiting)
        assert jobs.running == workers

        late[0].set()  # one worker comes free: one more job runs, the rest still wait
        await asyncio.to_thread(
            wait_until, lambda: len(jobs.started) == workers + 1, 10.0, "a job to start"
        )
        assert jobs.running == workers

        for release in [late[1], *releases]:
            release.set()
        assert await asyncio.gather(*waiting) == [f"next-{index}" for index in range(4)]
        assert jobs.most_at_once == workers
    finally:
        for release in [*late, *releases]:
            release.set()
        pool.shutdown()


@pytest.mark.asyncio
async def test_queued_and_busy_count_what_waits_and_what_runs_late_jobs_included() -> None:
    pool = WorkerPool(workers=1, timeout_s=DEADLINE_S)
    jobs = _Jobs()
    late_release, next_release = threading.Event(), threading.Event()
    try:
        assert (pool.queued, pool.busy, pool.size) == (0, 0, 1)
        with pytest.raises(ProcessingTimeout):
            await pool.run(jobs.block, "late", late_release)
        assert (pool.queued, pool.busy) == (0, 1)  # past its deadline, still on its worker
        following = asyncio.create_task(pool.run(jobs.block, "next", next_release))
        await asyncio.sleep(0)  # one step: it waits for the worker
        assert (pool.queued, pool.busy) == (1, 1)
        late_release.set()
        next_release.set()
        assert await following == "next"
        await asyncio.to_thread(wait_until, lambda: pool.busy == 0, 10.0, "the worker free")
        assert pool.queued == 0
    finally:
        late_release.set()
        next_release.set()
        pool.shutdown()
