"""One GET on one connection to the address vetting checked, framed by h11.

h11 only turns bytes into events and back; the socket is ours.  We open it to
the IP literal that was checked (``asyncio`` does not resolve literals), so the
address dialled is the address checked, while TLS uses the original host name
for SNI and certificate verification (the default context: ``CERT_REQUIRED``
and ``check_hostname`` on).  Client libraries that resolve inside their own
connection pools (httpx, aiohttp) cannot promise that without transport hacks.

The request is deliberately small: ``GET``, ``Connection: close``,
``Accept-Encoding: identity``.  The response head is fed to h11 a line at a
time, so the 64 KiB cap on a head is counted here, exactly; 1xx interim heads
are skipped.  Only a 2xx body is read, into the caller's sink; the connection is
then aborted: never reused, never waited on, since the peer may be hostile.
"""

from __future__ import annotations

import asyncio
import functools
import ssl

import h11

from server.adapters.fetch.body_sink import BodySink
from server.adapters.fetch.target_vetting import Target
from server.domain.errors import UrlFetchFailed

__all__ = ["Head", "exchange", "first_header", "header_values"]

MAX_HEADER_BYTES = 64 * 1024
"""Cap on one response head (status line + header lines + blank line)."""

READ_CHUNK = 64 * 1024
"""Largest piece read from the socket at a time."""

MAX_INTERIM_RESPONSES = 10
"""How many 1xx heads (e.g. 103 Early Hints) we skip before giving up."""

Head = h11.Response

_CLOSED_IN_HEAD = "Connection closed by the upload source mid-response"
_CLOSED_IN_BODY = "Connection closed by the upload source before the whole body arrived"
_UNSUPPORTED_TE = "Unsupported transfer encoding from the upload source"

# h11 reports every fault of the peer as one RemoteProtocolError, told apart only by
# its message, which may quote the peer's bytes.  Ours are part of the API's error
# text, so each known h11 message (matched by its start) maps to our wording.
_H11_FAULTS: tuple[tuple[str, str], ...] = (
    ("illegal status line", "bad status line"),
    ("no response line", "bad status line"),
    ("illegal request line", "bad status line"),  # h11's check of a head's first byte
    ("Response status_code", "bad status line"),
    ("InformationalResponse status_code", "bad status line"),
    ("illegal header line", "bad header line"),
    ("conflicting Content-Length", "conflicting Content-Length"),
    ("bad Content-Length", "bad Content-Length"),
    ("illegal chunk header", "bad chunk size"),
    ("malformed chunk footer", "missing CRLF after chunk"),
    ("Receive buffer too long", "line too long"),  # a chunk-size or trailer line
    ("Received server _SWITCH", "unexpected protocol switch"),  # a 101 we never asked for
)


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Verification on: CERT_REQUIRED, check_hostname, system trust store.
    return ssl.create_default_context(ssl.Purpose.SERVER_AUTH)


def _malformed(detail: str) -> UrlFetchFailed:
    return UrlFetchFailed(f"Malformed response from the upload source: {detail}")


def _peer_fault(exc: h11.RemoteProtocolError) -> UrlFetchFailed:
    message = str(exc)
    if message.startswith(("Only Transfer-Encoding", "multiple Transfer-Encoding")):
        return UrlFetchFailed(_UNSUPPORTED_TE)
    # The head is read here, not by h11, so an end of stream h11 sees is in a body.
    if message.startswith(("peer closed connection", "peer unexpectedly closed")):
        return UrlFetchFailed(_CLOSED_IN_BODY)
    for start, detail in _H11_FAULTS:
        if message.startswith(start):
            return _malformed(detail)
    return _malformed("protocol error")


def _next_event(conn: h11.Connection) -> h11.Event | type[h11.NEED_DATA] | type[h11.PAUSED]:
    try:
        return conn.next_event()
    except h11.RemoteProtocolError as exc:
        raise _peer_fault(exc) from exc


async def _read_line(reader: asyncio.StreamReader, budget: int) -> bytes:
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.LimitOverrunError as exc:
        raise _malformed("line too long") from exc
    except asyncio.IncompleteReadError as exc:
        raise UrlFetchFailed(_CLOSED_IN_HEAD) from exc
    if len(line) > budget:
        raise _malformed("headers too large")
    return line


async def _read_head(
    reader: asyncio.StreamReader, conn: h11.Connection
) -> h11.Response | h11.InformationalResponse:
    budget = MAX_HEADER_BYTES
    status_line = True
    while True:
        event = _next_event(conn)
        if isinstance(event, h11.Response | h11.InformationalResponse):
            return event
        if event is not h11.NEED_DATA:
            raise _malformed("protocol error")
        line = await _read_line(reader, budget)
        budget -= len(line)
        # h11 would unfold an obsolete folded header line; we refuse it, as RFC 9112
        # lets a client do, rather than guess what a folding peer meant.
        if not status_line and line.startswith((b" ", b"\t")):
            raise _malformed("bad header line")
        status_line = False
        conn.receive_data(line)


async def _final_head(reader: asyncio.StreamReader, conn: h11.Connection) -> Head:
    for _ in range(MAX_INTERIM_RESPONSES + 1):
        head = await _read_head(reader, conn)
        if head.http_version not in (b"1.0", b"1.1"):
            raise _malformed("bad status line")
        if isinstance(head, h11.Response):
            return head
    raise _malformed("too many interim responses")


def header_values(head: Head, name: bytes) -> list[bytes]:
    return [value for key, value in head.headers if key == name]


def first_header(head: Head, name: bytes) -> bytes | None:
    found = header_values(head, name)
    return found[0] if found else None


async def _copy_body(
    head: Head, reader: asyncio.StreamReader, conn: h11.Connection, sink: BodySink
) -> None:
    encoding = b",".join(header_values(head, b"content-encoding")).strip().lower()
    if encoding not in (b"", b"identity"):
        raise UrlFetchFailed("Unsupported content encoding from the upload source")
    if head.status_code in (204, 205):
        return
    length = first_header(head, b"content-length")  # h11 has checked it and that all agree
    if length is not None and not header_values(head, b"transfer-encoding"):
        sink.check(int(length))  # a declared body over the cap is refused before it is read
    while True:
        event = _next_event(conn)
        if event is h11.NEED_DATA:
            conn.receive_data(await reader.read(READ_CHUNK))  # b"" tells h11 the stream ended
        elif isinstance(event, h11.Data):
            await sink.write(event.data)
        elif isinstance(event, h11.EndOfMessage):
            return  # trailers, if any, are dropped with the connection
        else:
            raise _malformed("protocol error")


def _tls_failed(exc: ssl.SSLError) -> UrlFetchFailed:
    detail = exc.verify_message if isinstance(exc, ssl.SSLCertVerificationError) else None
    return UrlFetchFailed(f"TLS error with the upload source: {detail or exc.reason or exc}")


def _request(target: Target) -> h11.Request:
    return h11.Request(
        method="GET",
        target=target.request_target,
        headers=[
            ("Host", target.host_header),
            ("User-Agent", "Darkroom"),
            ("Accept", "*/*"),
            ("Accept-Encoding", "identity"),
            ("Connection", "close"),
        ],
    )


async def exchange(target: Target, dial: str, sink: BodySink) -> Head:
    """One request on one connection to ``dial``; returns the final (non-1xx) head.

    A 2xx body has been copied into ``sink`` and flushed when this returns; for
    anything else the body is left unread.
    """
    try:
        reader, writer = await asyncio.open_connection(
            dial,
            target.port,
            ssl=_tls_context() if target.is_tls else None,
            server_hostname=target.host if target.is_tls else None,
            limit=MAX_HEADER_BYTES,
        )
    except TimeoutError:
        raise
    except ssl.SSLError as exc:
        raise _tls_failed(exc) from exc
    except OSError as exc:
        raise UrlFetchFailed(f"Can't connect to the upload source: {exc.strerror or exc}") from exc
    try:
        conn = h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEADER_BYTES)
        writer.write(conn.send(_request(target)) + conn.send(h11.EndOfMessage()))
        await writer.drain()
        head = await _final_head(reader, conn)
        if 200 <= head.status_code < 300:
            await _copy_body(head, reader, conn, sink)
            await sink.flush()
        return head
    except TimeoutError:
        raise
    except ssl.SSLError as exc:
        raise _tls_failed(exc) from exc
    except OSError as exc:  # reset, broken pipe
        detail = exc.strerror or exc
        raise UrlFetchFailed(f"Connection to the upload source failed: {detail}") from exc
    finally:
        writer.transport.abort()
