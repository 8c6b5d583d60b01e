"""Where a fetched body goes: the caller's file, under the size cap, written off the event loop.

``dest`` is a file on disk, and a slow or stalled disk must not stall the event
loop: pieces are gathered up to ``WRITE_BATCH`` and each batch is written from a
worker thread, so the loop pays one thread hop per batch, not per socket read.

A deadline or a cancellation cannot stop a write already running in its thread.
:class:`DestWriter` remembers that write so the fetch can wait for it (without
blocking the loop) before handing ``dest`` back: closing a buffered file takes
the lock the stalled write holds, and a close on the loop thread would freeze
the whole loop until the disk answers.
"""

from __future__ import annotations

import asyncio
from typing import BinaryIO

from server.domain.errors import FileTooBig

__all__ = ["WRITE_BATCH", "BodySink", "DestWriteFailed", "DestWriter"]

WRITE_BATCH = 1024 * 1024
"""How much of the body is gathered before one write to ``dest``, off the event loop."""


class DestWriteFailed(Exception):
    """Carries an ``OSError`` of the caller's ``dest`` past the remote-failure handlers."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class DestWriter:
    """Writes to ``dest`` from a worker thread, one write at a time."""

    def __init__(self, dest: BinaryIO) -> None:
        self._dest = dest
        self._last: asyncio.Future[int] | None = None

    async def write(self, data: bytes) -> None:
        # Shielded: a cancelled caller must not mark the future done while the thread
        # still writes, or settled() could not wait for it (shield also retrieves a late
        # exception, so an abandoned failure is not logged as unhandled).
        loop = asyncio.get_running_loop()
        self._last = loop.run_in_executor(None, self._dest.write, data)
        try:
            await asyncio.shield(self._last)
        except OSError as exc:  # disk full etc.: the caller's storage, not the remote's fault
            raise DestWriteFailed(exc) from exc

    async def settled(self) -> None:
        """Return once no write to ``dest`` is running any more."""
        if self._last is not None and not self._last.done():
            await asyncio.wait([self._last])


class BodySink:
    """One response's body, batched into a :class:`DestWriter`; no piece may pass the cap."""

    def __init__(self, writer: DestWriter, max_bytes: int) -> None:
        self._writer = writer
        self._max_bytes = max_bytes
        self._batch: list[bytes] = []
        self._batched = 0
        self.size = 0

    def check(self, more: int) -> None:
        if self.size + more > self._max_bytes:
            raise FileTooBig(max_bytes=self._max_bytes)

    async def write(self, data: bytes) -> None:
        self.check(len(data))
        self._batch.append(data)
        self._batched += len(data)
        self.size += len(data)
        if self._batched >= WRITE_BATCH:
            await self.flush()

    async def flush(self) -> None:
        if not self._batch:
            return
        data = b"".join(self._batch)
        self._batch.clear()
        self._batched = 0
        await self._writer.write(data)
