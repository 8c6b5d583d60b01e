"""The SSRF-safe URL fetcher against real HTTP servers on 127.0.0.1 ephemeral ports.

Loopback is exactly what the default policy refuses, so fetches that must reach a
server use ``allow_private=True``; the refusals are checked with the default policy
and by counting the connections the server accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from server.adapters.fetch import url_fetcher
from server.adapters.fetch.url_fetcher import FetchPolicy, fetch_to_file, is_public_address
from server.domain.errors import FileTooBig, UnsupportedUrl, UrlFetchFailed, UrlFetchTimeout

PRIVATE = FetchPolicy(max_bytes=1 << 20, timeout_s=5.0, allow_private=True)
NON_PUBLIC = "Unsupported non-public IP address for upload"


# --- a tiny real HTTP server --------------------------------------------------------------


@dataclass
class Request:
    line: str
    headers: dict[str, str]

    @property
    def target(self) -> str:
        return self.line.split(" ")[1]


@dataclass
class LocalServer:
    handler: Handler
    port: int = 0
    connections: int = 0
    requests: list[Request] = field(default_factory=list)
    release: asyncio.Event = field(default_factory=asyncio.Event)  # unblocks stalled handlers
    peer_gone: asyncio.Event = field(default_factory=asyncio.Event)  # a write hit a closed peer
    bytes_sent: int = 0
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    async def send(self, writer: asyncio.StreamWriter, data: bytes) -> None:
        writer.write(data)
        await writer.drain()
        self.bytes_sent += len(data)

    async def serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            line, *header_lines = head.split("\r\n")
            headers = dict(h.split(": ", 1) for h in header_lines if h)
            request = Request(line, headers)
            self.requests.append(request)
            await self.handler(self, request, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            self.peer_gone.set()
        finally:
            writer.close()


Handler = Callable[[LocalServer, Request, asyncio.StreamWriter], Awaitable[None]]


@contextlib.asynccontextmanager
async def local_server(
    handler: Handler, tls: ssl.SSLContext | None = None
) -> AsyncIterator[LocalServer]:
    state = LocalServer(handler)
    server = await asyncio.start_server(state.serve, "127.0.0.1", 0, ssl=tls)
    state.port = server.sockets[0].getsockname()[1]
    try:
        yield state
    finally:
        state.release.set()
        server.close()
        await server.wait_closed()
        if state._tasks:
            await asyncio.wait_for(asyncio.gather(*state._tasks, return_exceptions=True), 5)


def response(status: int, body: bytes = b"", *headers: str, length: bool = True) -> bytes:
    lines = [f"HTTP/1.1 {status} Whatever", *headers]
    if length:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body


def reply(data: bytes) -> Handler:
    async def handler(srv: LocalServer, req: Request, writer: asyncio.StreamWriter) -> None:
        await srv.send(writer, data)

    return handler


@dataclass
class FakeResolver:
    table: dict[str, list[str]]
    calls: list[tuple[str, int]] = field(default_factory=list)

    async def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        if host not in self.table:
            raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
        return self.table[host]


# --- refused before dialling --------------------------------------------------------------


@pytest.mark.asyncio
async def test_default_policy_refuses_loopback_literal_before_connecting() -> None:
    async with local_server(reply(response(200, b"secret"))) as srv:
        dest = io.BytesIO()
        with pytest.raises(UnsupportedUrl, match=NON_PUBLIC):
            await fetch_to_file(srv.url("/x.jpg"), dest, FetchPolicy(max_bytes=1 << 20))
        assert srv.connections == 0
        assert dest.getvalue() == b""


@pytest.mark.asyncio
async def test_hostname_resolving_to_loopback_is_refused_before_connecting() -> None:
    async with local_server(reply(response(200, b"secret"))) as srv:
        resolver = FakeResolver({"evil.test": ["127.0.0.1"]})
        with pytest.raises(UnsupportedUrl, match=NON_PUBLIC):
            await fetch_to_file(
                srv.url("/x.jpg", host="evil.test"),
                io.BytesIO(),
                FetchPolicy(max_bytes=1 << 20),
                resolver=resolver,
            )
        assert resolver.calls == [("evil.test", srv.port)]
        assert srv.connections == 0


@pytest.mark.asyncio
async def test_only_the_first_resolved_address_counts() -> None:
    resolver = FakeResolver({"mixed.test": ["10.0.0.7", "8.8.8.8"]})
    with pytest.raises(UnsupportedUrl, match=NON_PUBLIC):
        await fetch_to_file(
            "https://mixed.test/x.jpg", io.BytesIO(), FetchPolicy(max_bytes=10), resolver=resolver
        )
    assert resolver.calls == [("mixed.test", 443)]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("ftp://example.com/x.jpg", "Unsupported URL scheme `ftp`"),
        ("file:///etc/passwd", "Unsupported URL scheme `file`"),
        ("gopher://example.com:70/_x", "Unsupported URL scheme `gopher`"),
        ("javascript:alert(1)", "Unsupported URL scheme `javascript`"),
        ("example.com/x.jpg", "Invalid URL"),
        ("http:///x.jpg", "Invalid URL"),
        ("http://user:pw@example.com/x.jpg", "credentials"),
        ("http://user@example.com/x.jpg", "credentials"),
        ("http://example.com:0/x.jpg", "Invalid URL"),
        ("http://example.com:99999/x.jpg", "Invalid URL"),
        ("http://exa mple.com/x.jpg", "Invalid URL host"),
        ("http://%31%32%37.0.0.1/x.jpg", "Invalid URL host"),
        ("http://[fe80::1%25eth0]/x.jpg", "Invalid URL host"),
        ("http://\uff11\uff12\uff17.0.0.1/x.jpg", NON_PUBLIC),  # full-width digits
        ("http://[::1]/x.jpg", NON_PUBLIC),
        ("http://[::ffff:127.0.0.1]/x.jpg", NON_PUBLIC),
        ("http://169.254.169.254/latest/meta-data/", NON_PUBLIC),
        ("http://0.0.0.0:8080/", NON_PUBLIC),
        ("https://100.64.1.1/", NON_PUBLIC),
    ],
)
async def test_refused_urls(url: str, message: str) -> None:
    resolver = FakeResolver({})
    with pytest.raises(UnsupportedUrl, match=message):
        await fetch_to_file(url, io.BytesIO(), FetchPolicy(max_bytes=10), resolver=resolver)
    assert resolver.calls == []


@pytest.mark.asyncio
@pytest.mark.parametrize("host", ["localhost", "2130706433", "0x7f.1"])
async def test_default_resolver_names_for_loopback_are_refused(host: str) -> None:
    # Real getaddrinfo: /etc/hosts and inet_aton spellings, no network needed.
    with pytest.raises(UnsupportedUrl, match=NON_PUBLIC):
        await fetch_to_file(f"http://{host}:9/x.jpg", io.BytesIO(), FetchPolicy(max_bytes=10))


@pytest.mark.asyncio
async def test_self_host_is_refused_without_resolving() -> None:
    resolver = FakeResolver({"darkroom.test": ["8.8.8.8"]})
    policy = FetchPolicy(max_bytes=10, self_hosts=frozenset({"Darkroom.Test."}))
    with pytest.raises(UnsupportedUrl, match="Unsupported self host URL upload"):
        await fetch_to_file("https://DARKROOM.test/x.jpg", io.BytesIO(), policy, resolver=resolver)
    assert resolver.calls == []


@pytest.mark.asyncio
async def test_resolution_failure_is_a_fetch_failure() -> None:
    with pytest.raises(UrlFetchFailed, match="resolve"):
        await fetch_to_file(
            "http://nowhere.test/x.jpg", io.BytesIO(), PRIVATE, resolver=FakeResolver({})
        )


# --- successful fetches ---------------------------------------------------------------------


@pytest.mark.asyncio
async def test_allow_private_fetch_writes_body_and_names_file() -> None:
    body = b"\xff\xd8\xff\xe0 not really a jpeg"
    async with local_server(reply(response(200, body, "Content-Type: image/jpeg"))) as srv:
        dest = io.BytesIO()
        result = await fetch_to_file(srv.url("/img/my cat.jpg?size=1#frag"), dest, PRIVATE)
    assert dest.getvalue() == body
    assert result.size == len(body)
    assert result.filename == "my cat.jpg"
    assert result.content_type == "image/jpeg"
    assert result.final_url == f"http://127.0.0.1:{srv.port}/img/my%20cat.jpg?size=1"
    (req,) = srv.requests
    assert req.line == "GET /img/my%20cat.jpg?size=1 HTTP/1.1"
    assert req.headers == {
        "Host": f"127.0.0.1:{srv.port}",
        "User-Agent": "Darkroom",
        "Accept": "*/*",
        "Accept-Encoding": "identity",
        "Connection": "close",
    }


@pytest.mark.asyncio
async def test_resolves_once_and_sends_the_original_host() -> None:
    async with local_server(reply(response(200, b"ok"))) as srv:
        resolver = FakeResolver({"media.test": ["127.0.0.1"]})
        result = await fetch_to_file(
            srv.url("/a/b/", host="media.test"), io.BytesIO(), PRIVATE, resolver=resolver
        )
    assert resolver.calls == [("media.test", srv.port)]
    assert srv.requests[0].headers["Host"] == f"media.test:{srv.port}"
    assert result.filename == ""
    assert result.content_type == ""


@pytest.mark.asyncio
async def test_chunked_body() -> None:
    chunked = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: image/png\r\n\r\n"
        b"5;name=value\r\nhello\r\n"
        b"6\r\n world\r\n"
        b"A\r\n0123456789\r\n"
        b"0\r\nX-Trailer: yes\r\n\r\n"
    )
    async with local_server(reply(chunked)) as srv:
        dest = io.BytesIO()
        result = await fetch_to_file(srv.url("/c.png"), dest, PRIVATE)
    assert dest.getvalue() == b"hello world0123456789"
    assert result.size == 21
    assert result.content_type == "image/png"


@pytest.mark.asyncio
async def test_body_read_until_close() -> None:
    async with local_server(reply(response(200, b"x" * 200_000, length=False))) as srv:
        dest = io.BytesIO()
        result = await fetch_to_file(srv.url("/plain"), dest, PRIVATE)
    assert dest.getvalue() == b"x" * 200_000
    assert result.size == 200_000


@pytest.mark.asyncio
async def test_interim_1xx_responses_are_skipped() -> None:
    data = b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>\r\n\r\n" + response(200, b"done")
    async with local_server(reply(data)) as srv:
        dest = io.BytesIO()
        await fetch_to_file(srv.url("/x"), dest, PRIVATE)
    assert dest.getvalue() == b"done"


# --- redirects ----------------------------------------------------------------------------


async def hops(srv: LocalServer, req: Request, writer: asyncio.StreamWriter) -> None:
    # /hop/N redirects to /hop/N-1 (alternately relative and absolute); /hop/0 is the file.
    n = int(req.target.rsplit("/", 1)[1])
    if n == 0:
        await srv.send(writer, response(200, b"final", "Content-Type: image/gif"))
        return
    location = f"{n - 1}" if n % 2 else srv.url(f"/hop/{n - 1}")
    await srv.send(writer, response(302, b"moved", f"Location: {location}"))


@pytest.mark.asyncio
async def test_redirect_chain_within_the_limit_is_followed() -> None:
    async with local_server(hops) as srv:
        dest = io.BytesIO()
        result = await fetch_to_file(srv.url("/hop/3"), dest, PRIVATE)
    assert dest.getvalue() == b"final"  # redirect bodies are never written
    assert result.final_url == srv.url("/hop/0")
    assert result.filename == "0"
    assert [r.target for r in srv.requests] == ["/hop/3", "/hop/2", "/hop/1", "/hop/0"]


@pytest.mark.asyncio
async def test_too_many_redirects() -> None:
    async with local_server(hops) as srv:
        dest = io.BytesIO()
        with pytest.raises(UrlFetchFailed, match="Too many redirects"):
            await fetch_to_file(srv.url("/hop/4"), dest, PRIVATE)
    assert [r.target for r in srv.requests] == ["/hop/4", "/hop/3", "/hop/2", "/hop/1"]
    assert dest.getvalue() == b""


@pytest.mark.asyncio
async def test_max_redirects_zero_refuses_any_redirect() -> None:
    policy = FetchPolicy(max_bytes=100, timeout_s=5.0, allow_private=True, max_redirects=0)
    async with local_server(hops) as srv:
        with pytest.raises(UrlFetchFailed, match="Too many redirects"):
            await fetch_to_file(srv.url("/hop/1"), io.BytesIO(), policy)


@pytest.mark.asyncio
@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
async def test_each_redirect_status_is_followed(status: int) -> None:
    async def handler(srv: LocalServer, req: Request, writer: asyncio.StreamWriter) -> None:
        if req.target == "/start":
            await srv.send(writer, response(status, b"", "Location: /dir/final%20name.webp"))
        else:
            await srv.send(writer, response(200, b"payload"))

    async with local_server(handler) as srv:
        result = await fetch_to_file(srv.url("/start"), io.BytesIO(), PRIVATE)
    assert result.filename == "final name.webp"


@pytest.mark.asyncio
async def test_redirect_to_self_host_is_refused_before_resolving_it() -> None:
    async def handler(srv: LocalServer, req: Request, writer: asyncio.StreamWriter) -> None:
        location = srv.url("/b.jpg", host="darkroom.test")
        await srv.send(writer, response(302, b"", f"Location: {location}"))

    policy = FetchPolicy(
        max_bytes=100, timeout_s=5.0, allow_private=True, self_hosts=frozenset({"darkroom.test"})
    )
    resolver = FakeResolver({"media.test": ["127.0.0.1"], "darkroom.test": ["127.0.0.1"]})
    async with local_server(handler) as srv:
        with pytest.raises(UnsupportedUrl, match="Unsupported self host URL upload"):
            await fetch_to_file(
                srv.url("/a", host="media.test"), io.BytesIO(), policy, resolver=resolver
            )
    assert resolver.calls == [("media.test", srv.port)]
    assert [r.target for r in srv.requests] == ["/a"]


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("location", "error", "message"),
    [
        ("ftp://example.com/x.jpg", UnsupportedUrl, "Unsupported URL scheme `ftp`"),
        ("file:///etc/passwd", UnsupportedUrl, "Unsupported URL scheme `file`"),
        ("http://u:p@example.com/", UnsupportedUrl, "credentials"),
        ("", UrlFetchFailed, "Redirect without a Location"),
    ],
)
async def test_redirect_targets_are_vetted(
    location: str, error: type[Exception], message: str
) -> None:
    headers = [f"Location: {location}"] if location else []
    async with local_server(reply(response(301, b"", *headers))) as srv:
        with pytest.raises(error, match=message):
            await fetch_to_file(srv.url("/a"), io.BytesIO(), PRIVATE)
        assert srv.connections == 1


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
    assert len(dest.writer_threads) <= len(body) // url_fetcher.WRITE_BATCH + 1


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


# --- remote failures ----------------------------------------------------------------------


@pytest.mark.asyncio
async def test_stalled_server_hits_the_deadline() -> None:
    async def stall(srv: LocalServer, req: Request, writer: asyncio.StreamWriter) -> None:
        await srv.release.wait()

    policy = FetchPolicy(max_bytes=1000, timeout_s=0.5, allow_private=True)
    async with local_server(stall) as srv:
        with pytest.raises(UrlFetchTimeout):
            await fetch_to_file(srv.url("/x"), io.BytesIO(), policy)
        assert srv.connections == 1


@pytest.mark.asyncio
async def test_error_status_is_a_fetch_failure() -> None:
    async with local_server(reply(response(404, b"<html>not found</html>"))) as srv:
        dest = io.BytesIO()
        with pytest.raises(UrlFetchFailed) as caught:
            await fetch_to_file(srv.url("/missing.jpg"), dest, PRIVATE)
    assert caught.value.metadata["status"] == "404"
    assert dest.getvalue() == b""


@pytest.mark.asyncio
async def test_short_body_is_a_fetch_failure() -> None:
    data = b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"only ten b"
    async with local_server(reply(data)) as srv:
        with pytest.raises(UrlFetchFailed, match="before the whole body"):
            await fetch_to_file(srv.url("/x"), io.BytesIO(), PRIVATE)


OK_HEAD = b"HTTP/1.1 200 OK\r\n"
CHUNKED_HEAD = OK_HEAD + b"Transfer-Encoding: chunked\r\n\r\n"


@pytest.mark.asyncio
@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param(b"", "closed", id="empty-reply"),
        pytest.param(b"SSH-2.0-OpenSSH_9.6\r\n\r\n", "bad status line", id="not-http"),
        pytest.param(b"HTTP/2 200\r\n\r\n", "bad status line", id="bad-version"),
        pytest.param(OK_HEAD + b" folded: header\r\n\r\n", "bad header line", id="obs-fold"),
        pytest.param(OK_HEAD + b"no colon here\r\n\r\n", "bad header line", id="bad-header"),
        pytest.param(
            OK_HEAD + b"X-Big: " + b"a" * 70_000 + b"\r\n\r\n", "too long", id="long-header"
        ),
        pytest.param(
            OK_HEAD + b"".join(b"X-H%d: %s\r\n" % (i, b"c" * 60) for i in range(1200)) + b"\r\n",
            "headers too large",
            id="too-many-headers",
        ),
        pytest.param(
            OK_HEAD + b"Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
            "conflicting Content-Length",
            id="conflicting-length",
        ),
        pytest.param(
            OK_HEAD + b"Content-Length: -1\r\n\r\n", "bad Content-Length", id="negative-length"
        ),
        pytest.param(
            OK_HEAD + b"Transfer-Encoding: gzip, chunked\r\n\r\n",
            "Unsupported transfer encoding",
            id="gzip-te",
        ),
        pytest.param(
            OK_HEAD + b"Content-Encoding: gzip\r\nContent-Length: 0\r\n\r\n",
            "Unsupported content encoding",
            id="content-encoding",
        ),
        pytest.param(CHUNKED_HEAD + b"zz\r\n", "bad chunk size", id="bad-chunk-size"),
        pytest.param(
            CHUNKED_HEAD + b"3\r\nabcXX\r\n0\r\n\r\n", "missing CRLF", id="chunk-without-crlf"
        ),
        pytest.param(CHUNKED_HEAD + b"3\r\nabc\r\n", "closed", id="chunked-cut-short"),
        pytest.param(b"HTTP/1.1 304 Not Modified\r\n\r\n", "HTTP 304", id="not-modified"),
        pytest.param(
            b"HTTP/1.1 101 Switching Protocols\r\n\r\n", "protocol switch", id="switching"
        ),
    ],
)
async def test_malformed_responses_are_fetch_failures(data: bytes, message: str) -> None:
    async with local_server(reply(data)) as srv:
        with pytest.raises(UrlFetchFailed, match=message):
            await fetch_to_file(srv.url("/x"), io.BytesIO(), PRIVATE)


@pytest.mark.asyncio
async def test_connection_refused_is_a_fetch_failure() -> None:
    async with local_server(reply(b"")) as srv:
        port = srv.port
    with pytest.raises(UrlFetchFailed, match="connect"):
        await fetch_to_file(f"http://127.0.0.1:{port}/x", io.BytesIO(), PRIVATE)


# --- TLS: dial the pinned IP, SNI and certificate check on the original name -------------


@dataclass
class Certificate:
    cert: str
    key: str


@pytest.fixture
def certificate(tmp_path: Path) -> Certificate:
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command line tool")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=secure.test",
            "-addext",
            "subjectAltName=DNS:secure.test",
            "-keyout",
            str(key),
            "-out",
            str(cert),
        ],
        check=True,
        capture_output=True,
    )
    return Certificate(str(cert), str(key))


def server_tls(certificate: Certificate, seen_sni: list[str | None]) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ctx.load_cert_chain(certificate.cert, certificate.key)

    def remember(_sock: ssl.SSLObject, name: str | None, _ctx: ssl.SSLContext) -> None:
        seen_sni.append(name)

    ctx.sni_callback = remember
    return ctx


@pytest.mark.asyncio
async def test_tls_untrusted_certificate_is_refused(certificate: Certificate) -> None:
    seen_sni: list[str | None] = []
    resolver = FakeResolver({"secure.test": ["127.0.0.1"]})
    async with local_server(reply(response(200, b"x")), server_tls(certificate, seen_sni)) as srv:
        url = f"https://secure.test:{srv.port}/x.jpg"
        with pytest.raises(UrlFetchFailed, match="certificate"):
            await fetch_to_file(url, io.BytesIO(), PRIVATE, resolver=resolver)
    assert seen_sni == ["secure.test"]
    assert srv.requests == []


@pytest.mark.asyncio
async def test_tls_fetch_verifies_the_original_name(
    certificate: Certificate, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Trust the test certificate; verification itself stays on (CERT_REQUIRED, check_hostname).
    trusting = ssl.create_default_context(cafile=certificate.cert)
    monkeypatch.setattr(url_fetcher, "_tls_context", lambda: trusting)
    seen_sni: list[str | None] = []
    resolver = FakeResolver({"secure.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})
    async with local_server(
        reply(response(200, b"tls body")), server_tls(certificate, seen_sni)
    ) as srv:
        dest = io.BytesIO()
        result = await fetch_to_file(
            f"https://secure.test:{srv.port}/a.png", dest, PRIVATE, resolver=resolver
        )
        assert dest.getvalue() == b"tls body"
        assert result.final_url == f"https://secure.test:{srv.port}/a.png"
        assert srv.requests[0].headers["Host"] == f"secure.test:{srv.port}"
        # Same IP, same certificate, but a name the certificate does not cover.
        with pytest.raises(UrlFetchFailed, match="Hostname mismatch"):
            await fetch_to_file(
                f"https://other.test:{srv.port}/a.png", io.BytesIO(), PRIVATE, resolver=resolver
            )
    assert seen_sni == ["secure.test", "other.test"]


# --- address classifier (what every hop's dialled address goes through) -------------------


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("127.0.0.1", False),
        ("127.255.255.254", False),
        ("10.1.2.3", False),
        ("172.16.0.1", False),
        ("172.31.255.255", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),
        ("100.64.0.1", False),
        ("100.127.255.255", False),
        ("0.0.0.0", False),
        ("0.1.2.3", False),
        ("224.0.0.1", False),
        ("239.255.255.250", False),
        ("240.0.0.1", False),
        ("255.255.255.255", False),
        ("192.0.0.8", False),
        ("192.0.2.1", False),
        ("198.18.0.1", False),
        ("198.51.100.7", False),
        ("203.0.113.9", False),
        ("192.88.99.1", False),
        ("::", False),
        ("::1", False),
        ("fe80::1", False),
        ("fc00::1", False),
        ("fd12:3456::1", False),
        ("fec0::1", False),
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:10.0.0.1", False),
        ("::ffff:169.254.169.254", False),
        ("::7f00:1", False),  # IPv4-compatible 127.0.0.1
        ("::808:808", False),  # IPv4-compatible addresses are deprecated altogether
        ("64:ff9b::7f00:1", False),
        ("64:ff9b::a00:1", False),
        ("64:ff9b:1::808:808", False),  # local-use NAT64 prefix
        ("2002:7f00:1::1", False),
        ("2002:a9fe:a9fe::1", False),
        ("2001:0:4136:e378:8000:63bf:3fff:fdd2", False),  # Teredo
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", False),  # Teredo, client 127.0.0.1
        ("2001:db8::1", False),
        ("3fff::1", False),
        ("100::1", False),
        ("fe80::1%2", False),
        ("8.8.8.8", True),
        ("1.1.1.1", True),
        ("100.128.0.1", True),
        ("172.32.0.1", True),
        ("::ffff:8.8.8.8", True),
        ("64:ff9b::808:808", True),
        ("2002:808:808::1", True),
        ("2606:4700::1111", True),
        ("2a00:1450:4001:81c::200e", True),
    ],
)
def test_ip_classifier(address: str, public: bool) -> None:
    assert is_public_address(address) is public


def test_ip_classifier_rejects_non_addresses() -> None:
    with pytest.raises(ValueError):
        is_public_address("example.com")
