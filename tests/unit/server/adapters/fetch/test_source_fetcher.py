"""SafeSourceFetcher: the SourceFetcher port over fetch_to_file, against a real file."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

import pytest

from server.adapters.fetch import body_sink
from server.adapters.fetch.source_fetcher import SafeSourceFetcher
from server.domain.errors import UrlFetchTimeout
from tests.unit.server.adapters.fetch.local_http import (
    a_deadline_has_passed,
    local_server,
    reply,
    response,
)


def _drain(fd: int) -> int:
    """Read the FIFO until every writer has closed it; how many bytes came through."""
    os.set_blocking(fd, True)
    total = 0
    while chunk := os.read(fd, 1 << 16):
        total += len(chunk)
    return total


@pytest.mark.asyncio
@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs a FIFO")
async def test_a_deadline_in_a_stalled_real_write_hands_dest_back_free_to_close(
    tmp_path: Path,
) -> None:
    # A FIFO nobody reads stalls a real buffered write as a hung disk would, and the
    # stalled write holds the BufferedWriter lock that close() needs.
    fifo = tmp_path / "spool"
    os.mkfifo(fifo)
    reader = os.open(fifo, os.O_RDONLY | os.O_NONBLOCK)
    body = b"\0" * (2 * body_sink.WRITE_BATCH)  # the first batch overfills the pipe
    fetcher = SafeSourceFetcher(
        timeout_s=0.5,
        max_redirects=0,
        allow_private=True,
        public_base_url="http://darkroom.test",
    )
    draining: asyncio.Task[int] | None = None
    dest = await asyncio.to_thread(open, fifo, "wb")  # the reader is there: no wait
    try:
        async with local_server(reply(response(200, body))) as srv:
            fetching = asyncio.create_task(fetcher.fetch(srv.url("/x"), dest, len(body)))
            await a_deadline_has_passed(0.5)  # and the loop still runs
            assert not fetching.done()  # the stalled write is waited for
            draining = asyncio.create_task(asyncio.to_thread(_drain, reader))
            with pytest.raises(UrlFetchTimeout):
                await asyncio.wait_for(fetching, 10)
            # On the loop thread: this would block the loop if a write still ran.
            dest.close()
        assert await asyncio.wait_for(draining, 10) >= body_sink.WRITE_BATCH
    finally:
        if not dest.closed:  # a failed assertion above: free the file off the loop
            if draining is None:
                draining = asyncio.create_task(asyncio.to_thread(_drain, reader))
            await asyncio.to_thread(dest.close)
            await asyncio.wait_for(draining, 10)
        os.close(reader)
