"""Waiting for a condition, never for a fixed time: shared machines are slow at random."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable

POLL_INTERVAL_S = 0.05


def wait_until(condition: Callable[[], bool], timeout_s: float, what: str) -> None:
    """Poll ``condition`` until it holds; fail with ``what`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout_s:.0f} s")
        time.sleep(POLL_INTERVAL_S)


async def wait_until_async(
    condition: Callable[[], Awaitable[bool]], timeout_s: float, what: str
) -> None:
    """``wait_until`` for a condition that must be awaited (an RPC, in a test's loop)."""
    deadline = time.monotonic() + timeout_s
    while not await condition():
        if time.monotonic() > deadline:
            raise TimeoutError(f"{what} did not happen within {timeout_s:.0f} s")
        await asyncio.sleep(POLL_INTERVAL_S)
