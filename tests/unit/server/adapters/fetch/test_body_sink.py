"""The body into the caller's file: the size cap and batched writes off the event loop."""

from __future__ import annotations

import asyncio
import io
import threading

import pytest

from server.adapters.fetch import body_sink
from server.adapters.fetch.fetch_policy import FetchPolicy
from server.adapters.fetch.url_fetcher import fetch_to_file
from server.domain.errors import FileTooBig, UrlFetchTimeout
from tests.unit.server.adapters.fetch.local_http import (
    PRIVATE,
    Handler,
    LocalServer,
    Request,
    a_deadline_has_passed,
    local_server,
    reply,
    response,
)

# --- size cap -----------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_oversized_body_is_cut_at_the_cap_and_the_connection_dropped() -> None:
    huge = 256 * 1024 * 1024
    piece = b"\0" * 65536

    async def firehose(srv: LocalServer, req: Request, writer: asyncio.StreamWriter) -> None:
        await srv.send(writer, b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\n\r\n")
        while srv.bytes_sent < huge:
            await srv.send(writer, piece)

    policy = FetchPolicy(max_bytes=100_000, timeout_s=10.0, allow_private=True)
    async with local_server(firehose) as srv:
        dest = io.BytesIO()
        with pytest.raises(FileTooBig) as caught:
            await fetch_to_file(srv.url("/big.jpg"), dest, policy)
        assert caught.value.metadata["max_bytes"] == "100000"
        assert len(dest.getvalue()) <= policy.max_bytes + 65536
        await asyncio.wait_for(srv.peer_gone.wait(), 10)
        assert srv.bytes_sent < huge


@pytest.mark.asyncio
async def test_declared_content_length_over_the_cap_is_refused_early() -> None:
    async def promise(srv: LocalServer, req: Request, writer: asyncio.StreamWriter) -> None:
        await srv.send(writer, b"HTTP/1.1 200 OK\r\nContent-Length: 10000000\r\n\r\n")
        await srv.release.wait()  # never sends the body

    policy = FetchPolicy(max_bytes=1000, timeout_s=5.0, allow_private=True)
    async with local_server(promise) as srv:
        dest = io.BytesIO()
        with pytest.raises(FileTooBig):
            await fetch_to_file(srv.url("/x"), dest, policy)
    assert dest.getvalue() == b""


@pytest.mark.asyncio
async def test_chunked_body_over_the_cap() -> None:
    data = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"400\r\n" + b"a" * 1024
    policy = FetchPolicy(max_bytes=1000, timeout_s=5.0, allow_private=True)
    async with local_server(reply(data)) as srv:
        dest = io.BytesIO()
        with pytest.raises(FileTooBig):
            await fetch_to_file(srv.url("/x"), dest, policy)
    assert len(dest.getvalue()) <= 1000


@pytest.mark.asyncio
async def test_body_exactly_at_the_cap_is_accepted() -> None:
    policy = FetchPolicy(max_bytes=1000, timeout_s=5.0, allow_private=True)
    async with local_server(reply(response(200, b"z" * 1000, length=False))) as srv:
        result = await fetch_to_file(srv.url("/x"), io.BytesIO(), policy)
    assert result.size == 1000


class FullDisk(io.BytesIO):
    def write(self, data: object, /) -> int:
        raise OSError(28, "No space left on device")


@pytest.mark.asyncio
async def test_dest_write_errors_propagate_unchanged() -> None:
    async with local_server(reply(response(200, b"data"))) as srv:
        with pytest.raises(OSError, match="No space left") as caught:
            await fetch_to_file(srv.url("/x"), FullDisk(), PRIVATE)
    assert caught.value.errno == 28


# --- writing to dest, off the event loop ---------------------------------------------------


class ThreadRecordingFile(io.BytesIO):
    def __init__(self) -> None:
        super().__init__()
        self.writer_threads: list[int] = []

    def write(self, data: object, /) -> int:
        self.writer_threads.append(threading.get_ident())
        assert isinstance(data, bytes)
        return super().write(data)


class StalledDisk(io.BytesIO):
    """A file whose first write blocks until the test releases it (or 10 s pass)."""

    def __init__(self) -> None:
        super().__init__()
        self.writing = threading.Event()
        self.release = threading.Event()
        self.released_in_time: bool | None = None

    def write(self, data: object, /) -> int:
        assert isinstance(data, bytes)
        if self.released_in_time is None:
            self.writing.set()
            self.released_in_time = self.release.wait(10)
        return super().write(data)


def trickle(body: bytes, piece: int = 16 * 1024) -> Handler:
    async def handler(srv: LocalServer, req: Request, writer: asyncio.StreamWriter) -> None:
        await srv.send(writer, response(200, length=False))
        for start in range(0, len(body), piece):
            await srv.send(writer, body[start : start + piece])

    return handler


@pytest.mark.asyncio
async def test_the_body_is_written_off_the_event_loop_in_batches() -> None:
    body = bytes(range(256)) * (3 * 4096 + 17)  # a little over 3 MiB
    dest = ThreadRecordingFile()
    policy = FetchPolicy(max_bytes=len(body), timeout_s=10.0, allow_private=True)
    async with local_server(trickle(body)) as srv:
        result = await fetch_to_file(srv.url("/big.jpg"), dest, policy)
    assert result.size == len(body) and dest.getvalue() == body
    assert threading.get_ident() not in dest.writer_threads
    # Not one thread hop per socket read: about one per WRITE_BATCH.
    assert len(dest.writer_threads) <= len(body) // body_sink.WRITE_BATCH + 1


@pytest.mark.asyncio
async def test_a_stalled_disk_write_does_not_stall_the_loop() -> None:
    dest = StalledDisk()
    async with local_server(reply(response(200, b"pixels"))) as srv:
        fetching = asyncio.create_task(fetch_to_file(srv.url("/x.jpg"), dest, PRIVATE))
        assert await asyncio.to_thread(dest.writing.wait, 10)
        # This runs on the loop while the write is still blocked.
        dest.release.set()
        result = await fetching
    assert dest.released_in_time is True
    assert result.size == 6 and dest.getvalue() == b"pixels"


@pytest.mark.asyncio
async def test_a_stalled_disk_write_still_hits_the_deadline() -> None:
    dest = StalledDisk()
    policy = FetchPolicy(max_bytes=1000, timeout_s=0.5, allow_private=True)
    try:
        async with local_server(reply(response(200, b"pixels"))) as srv:
            with pytest.raises(UrlFetchTimeout):
                await fetch_to_file(srv.url("/x.jpg"), dest, policy)
        assert await asyncio.to_thread(dest.writing.wait, 10)
        assert dest.released_in_time is None  # the write is still blocked
    finally:
        dest.release.set()


@pytest.mark.asyncio
async def test_settle_dest_holds_the_error_until_the_stalled_write_is_over() -> None:
    dest = StalledDisk()
    policy = FetchPolicy(max_bytes=1000, timeout_s=0.5, allow_private=True)
    try:
        async with local_server(reply(response(200, b"pixels"))) as srv:
            fetching = asyncio.create_task(
                fetch_to_file(srv.url("/x.jpg"), dest, policy, settle_dest=True)
            )
            assert await asyncio.to_thread(dest.writing.wait, 10)
            await a_deadline_has_passed(policy.timeout_s)  # and the loop still runs
            assert not fetching.done()
            dest.release.set()
            with pytest.raises(UrlFetchTimeout):
                await fetching
        assert dest.released_in_time is True
        assert dest.getvalue() == b"pixels"  # the abandoned write did finish before the error
    finally:
        dest.release.set()
