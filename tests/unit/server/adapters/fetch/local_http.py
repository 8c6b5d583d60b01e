"""A tiny real HTTP server on a 127.0.0.1 ephemeral port, for the URL fetcher's tests.

Loopback is exactly what the default policy refuses, so fetches that must reach a
server use ``allow_private=True`` (``PRIVATE``); the refusals are checked with the
default policy and by counting the connections the server accepted.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from server.adapters.fetch.fetch_policy import FetchPolicy
from server.adapters.fetch.url_fetcher import fetch_to_file
from server.domain.errors import UrlFetchTimeout

PRIVATE = FetchPolicy(max_bytes=1 << 20, timeout_s=5.0, allow_private=True)
NON_PUBLIC = "Unsupported non-public IP address for upload"


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


async def a_deadline_has_passed(timeout_s: float) -> None:
    """Return once a fetch deadline of ``timeout_s`` started now has surely expired.

    A condition, not a sleep: a fetch with the same deadline against a server that never
    answers must have timed out, so anything started before it has run a full deadline.
    """

    async def never_answer(srv: LocalServer, req: Request, writer: asyncio.StreamWriter) -> None:
        await srv.release.wait()

    policy = FetchPolicy(max_bytes=1, timeout_s=timeout_s, allow_private=True)
    async with local_server(never_answer) as srv:
        with contextlib.suppress(UrlFetchTimeout):
            await fetch_to_file(srv.url("/stall"), io.BytesIO(), policy)
