"""SSRF-safe fetcher for URL upload sources (docs/chevereto-compatibility.md §3.2, §11).

Why a hand-rolled HTTP/1.1 client instead of httpx or aiohttp
--------------------------------------------------------------
The security property that matters is *the address we dial is the address we
checked*.  httpx and aiohttp resolve the host name themselves, inside their
connection pools, after any check we could make; a DNS answer with a tiny TTL can
therefore pass the check as a public address and then be dialled as 127.0.0.1
(DNS rebinding).  Pinning the dialled IP in those libraries needs transport hacks
(a custom resolver or a patched connector, plus keeping SNI, ``Host`` and
certificate verification on the original name), which are fragile across
versions and easy to get subtly wrong on redirects.

So this module does the whole dance itself with ``asyncio`` streams and ``ssl``:

* parse and vet the URL (http/https only, no userinfo, not one of our own host
  names);
* resolve the host **once**, take the first address and refuse it unless it is
  public (see :func:`is_public_address`);
* connect to that exact IP literal (``asyncio`` does not resolve literals), with
  TLS using the original host name for SNI and certificate verification (the
  default context: ``CERT_REQUIRED`` and ``check_hostname`` on);
* speak a deliberately small HTTP/1.1: one ``GET``, ``Connection: close``,
  ``Accept-Encoding: identity``; status line and headers capped at 64 KiB;
  ``Content-Length``, ``chunked`` or read-until-close bodies; 1xx interim
  responses skipped;
* follow 301/302/303/307/308 up to ``max_redirects``, re-running every check on
  each ``Location``;
* stream the body into the caller's file, counting bytes and hanging up the
  moment the cap would be exceeded; the writes happen in a worker thread, in
  batches, so a slow disk never stalls the event loop;
* run everything under one deadline (``asyncio.timeout``).

Proxy environment variables are ignored on purpose: a proxy would dial on our
behalf and defeat the address check.

Responses other than 2xx or a followed redirect are failures (``UrlFetchFailed``):
unlike Chevereto's ``fetch_url`` we never store an error page as an upload.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import re
import socket
import ssl
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import quote, unquote, urljoin, urlsplit

from server.domain.errors import FileTooBig, UnsupportedUrl, UrlFetchFailed, UrlFetchTimeout

__all__ = [
    "FetchPolicy",
    "FetchResult",
    "Resolver",
    "fetch_to_file",
    "is_public_address",
]

Resolver = Callable[[str, int], Awaitable[list[str]]]
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

MAX_HEADER_BYTES = 64 * 1024
"""Cap on one response head (status line + header lines + blank line)."""

READ_CHUNK = 64 * 1024
"""Largest piece read from the socket at a time."""

WRITE_BATCH = 1024 * 1024
"""How much of the body is gathered before one write to ``dest``, off the event loop."""

MAX_INTERIM_RESPONSES = 10
"""How many 1xx heads (e.g. 103 Early Hints) we skip before giving up."""

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DEFAULT_PORTS = {"http": 80, "https": 443}

# Every printable ASCII character except space: what may stay as-is in a request
# target.  Everything else (controls, space, DEL, non-ASCII) is percent-encoded,
# which also makes CR/LF injection into the request line impossible.
_URL_SAFE = "".join(chr(c) for c in range(0x21, 0x7F))

_LABEL = r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?"
_HOST_RE = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_STATUS_RE = re.compile(rb"HTTP/1\.[01] ([1-9][0-9][0-9])(?: [^\x00\r\n]*)?")
_HEADER_RE = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([^\x00\r\n]*?)[ \t]*")
_CHUNK_SIZE_RE = re.compile(rb"[0-9A-Fa-f]{1,16}")


# --- public types ---------------------------------------------------------------------------


@dataclass(frozen=True)
class FetchPolicy:
    max_bytes: int
    timeout_s: float = 30.0  # total deadline for the whole fetch incl. redirects
    max_redirects: int = 3
    allow_private: bool = False  # tests and trusted setups only: permits loopback/private targets
    self_hosts: frozenset[str] = frozenset()  # hostnames that are this service itself → refused
    # Hostnames an admin trusts on private networks (an internal asset server): only the
    # exact name is exempt, so a redirect from it to any other private target is refused.
    trusted_hosts: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if self.max_bytes < 0:
            raise ValueError("max_bytes must be >= 0")
        if not self.timeout_s > 0:
            raise ValueError("timeout_s must be > 0")
        if self.max_redirects < 0:
            raise ValueError("max_redirects must be >= 0")


@dataclass(frozen=True)
class FetchResult:
    final_url: str
    filename: str  # basename of the final URL path, percent-decoded, "" if none
    content_type: str  # declared, informational only
    size: int


# --- address classification -----------------------------------------------------------------

_BLOCKED_V4 = tuple(
    ipaddress.IPv4Network(net)
    for net in (
        "0.0.0.0/8",  # "this network", includes the unspecified address
        "10.0.0.0/8",  # RFC 1918
        "100.64.0.0/10",  # CGNAT shared address space (RFC 6598)
        "127.0.0.0/8",  # loopback
        "169.254.0.0/16",  # link-local (cloud metadata endpoints live here)
        "172.16.0.0/12",  # RFC 1918
        "192.0.0.0/24",  # IETF protocol assignments
        "192.0.2.0/24",  # TEST-NET-1 (documentation)
        "192.88.99.0/24",  # deprecated 6to4 relay anycast
        "192.168.0.0/16",  # RFC 1918
        "198.18.0.0/15",  # benchmarking
        "198.51.100.0/24",  # TEST-NET-2
        "203.0.113.0/24",  # TEST-NET-3
        "224.0.0.0/4",  # multicast
        "240.0.0.0/4",  # reserved, includes broadcast 255.255.255.255
    )
)

_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
_NAT64_WKP = ipaddress.IPv6Network("64:ff9b::/96")  # RFC 6052 well-known prefix
_BLOCKED_V6 = tuple(
    ipaddress.IPv6Network(net)
    for net in (
        "2001::/23",  # IETF protocol assignments, includes Teredo 2001::/32
        "2001:db8::/32",  # documentation
        "2002::/16",  # 6to4: only allowed below when the embedded IPv4 is public
        "3fff::/20",  # documentation (RFC 9637)
    )
)


def _is_public_v4(addr: ipaddress.IPv4Address) -> bool:
    if any(addr in net for net in _BLOCKED_V4):
        return False
    return addr.is_global and not (
        addr.is_private
        or addr.is_loopback
        or addr.is_link_local
        or addr.is_multicast
        or addr.is_reserved
        or addr.is_unspecified
    )


def is_public_address(address: str | IPAddress) -> bool:
    """True when ``address`` is a publicly routable unicast address we may dial.

    Refused: loopback, RFC 1918, link-local, CGNAT, unspecified, multicast,
    reserved, broadcast, documentation/benchmark ranges, 0.0.0.0/8, IPv6 ULA,
    link-local and site-local, any scoped IPv6 address, and every IPv6 form that
    embeds a refused IPv4 address (IPv4-mapped, IPv4-compatible, 6to4, NAT64,
    Teredo).  IPv6 must otherwise be global unicast (2000::/3), except NAT64's
    64:ff9b::/96, which is allowed when the embedded IPv4 is public (IPv6-only
    networks with DNS64 resolve every IPv4-only site to it).

    A string that is not an IP address raises ``ValueError``.
    """
    addr = ipaddress.ip_address(address) if isinstance(address, str) else address
    if isinstance(addr, ipaddress.IPv4Address):
        return _is_public_v4(addr)

    if addr.scope_id:
        return False
    mapped = addr.ipv4_mapped
    if mapped is not None:
        return _is_public_v4(mapped)

    embedded: list[ipaddress.IPv4Address] = []
    if addr.sixtofour is not None:
        embedded.append(addr.sixtofour)
    if addr.teredo is not None:
        embedded.extend(addr.teredo)
    in_nat64 = addr in _NAT64_WKP
    if in_nat64:
        embedded.append(ipaddress.IPv4Address(int(addr) & 0xFFFF_FFFF))
    if not all(_is_public_v4(v4) for v4 in embedded):
        return False
    if in_nat64:
        return True
    if addr.sixtofour is not None:
        return True  # 2002::/16 with a public IPv4 inside: a real (if rare) 6to4 site

    # IPv4-compatible (::a.b.c.d), ::1 and :: all fall outside 2000::/3.
    if addr not in _GLOBAL_UNICAST_V6 or any(addr in net for net in _BLOCKED_V6):
        return False
    return addr.is_global and not (
        addr.is_private
        or addr.is_loopback
        or addr.is_link_local
        or addr.is_site_local
        or addr.is_multicast
        or addr.is_reserved
        or addr.is_unspecified
    )


# --- URL vetting ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    scheme: str
    host: str  # ASCII (IDNA) name or IP literal without brackets; SNI and checks use it
    port: int
    host_header: str  # value of the Host header: host[:port], IPv6 in brackets
    request_target: str  # origin-form path[?query], ASCII only
    url: str  # normalised URL, no fragment

    @property
    def is_tls(self) -> bool:
        return self.scheme == "https"


def _normalize_host(host: str) -> str:
    """The form ``_parse_url`` gives ``_Target.host``, for comparing configured names."""
    host = host.strip().strip("[]").rstrip(".").lower()
    try:
        return ipaddress.ip_address(host).compressed
    except ValueError:
        pass
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return host


def _parse_url(url: str) -> _Target:
    """Vet one URL (the original or a redirect's Location); nothing is dialled."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UnsupportedUrl("Invalid URL") from exc
    scheme = parts.scheme.lower()
    if not scheme:
        raise UnsupportedUrl("Invalid URL: no scheme")
    if scheme not in DEFAULT_PORTS:
        raise UnsupportedUrl(f"Unsupported URL scheme `{quote(scheme, safe='')}`", scheme=scheme)
    if "@" in parts.netloc or parts.username is not None or parts.password is not None:
        raise UnsupportedUrl("Unsupported URL with credentials")

    raw_host = parts.hostname  # lowercased, brackets stripped
    if not raw_host:
        raise UnsupportedUrl("Invalid URL: no host")
    if "%" in raw_host:  # percent-encoded names and IPv6 zone ids are never dialled
        raise UnsupportedUrl("Invalid URL host")
    if port == 0:
        raise UnsupportedUrl("Invalid URL port")
    port = port if port is not None else DEFAULT_PORTS[scheme]

    literal: IPAddress | None
    try:
        literal = ipaddress.ip_address(raw_host)
    except ValueError:
        literal = None
    if literal is not None:
        host = literal.compressed
        bracketed = f"[{host}]" if literal.version == 6 else host
    else:
        try:
            host = raw_host.rstrip(".").encode("idna").decode("ascii").lower()
        except UnicodeError as exc:
            raise UnsupportedUrl("Invalid URL host") from exc
        if len(host) > 253 or not _HOST_RE.fullmatch(host):
            raise UnsupportedUrl("Invalid URL host")
        if _is_ip_literal(host):  # e.g. full-width digits that IDNA maps to an IPv4 literal
            host = ipaddress.ip_address(host).compressed
        bracketed = host

    netloc = bracketed if port == DEFAULT_PORTS[scheme] else f"{bracketed}:{port}"
    path = quote(parts.path or "/", safe=_URL_SAFE, errors="surrogateescape")
    if not path.startswith("/"):
        path = "/" + path
    request_target = path
    if parts.query:
        request_target += "?" + quote(parts.query, safe=_URL_SAFE, errors="surrogateescape")
    return _Target(
        scheme=scheme,
        host=host,
        port=port,
        host_header=netloc,
        request_target=request_target,
        url=f"{scheme}://{netloc}{request_target}",
    )


async def _default_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [
        str(sockaddr[0])
        for family, _type, _proto, _canon, sockaddr in infos
        if family in (socket.AF_INET, socket.AF_INET6)
    ]


async def _resolve_once(target: _Target, resolver: Resolver) -> str:
    """The one address this hop will dial: the literal itself, or the resolver's first answer."""
    if _is_ip_literal(target.host):
        return target.host
    failed = UrlFetchFailed(f"Can't resolve host {target.host}", host=target.host)
    try:
        addresses = await resolver(target.host, target.port)
    except (OSError, UnicodeError) as exc:  # socket.gaierror is an OSError
        raise failed from exc
    if not addresses or not _is_ip_literal(addresses[0]):
        raise failed
    return addresses[0]


def _is_ip_literal(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


async def _vet(url: str, policy: FetchPolicy, resolver: Resolver) -> tuple[_Target, str]:
    """Parse, refuse self hosts, resolve once and check the address to dial."""
    target = _parse_url(url)
    if target.host in {_normalize_host(h) for h in policy.self_hosts}:
        raise UnsupportedUrl("Unsupported self host URL upload", host=target.host)

    dial = await _resolve_once(target, resolver)
    address = ipaddress.ip_address(dial)
    trusted = target.host in {_normalize_host(h) for h in policy.trusted_hosts}
    if not (policy.allow_private or trusted) and not is_public_address(address):
        raise UnsupportedUrl("Unsupported non-public IP address for upload", host=target.host)
    return target, dial


# --- HTTP/1.1 ------------------------------------------------------------------------------


@functools.cache
def _tls_context() -> ssl.SSLContext:
    # Verification on: CERT_REQUIRED, check_hostname, system trust store.
    return ssl.create_default_context(ssl.Purpose.SERVER_AUTH)


@dataclass(frozen=True)
class _Head:
    status: int
    headers: tuple[tuple[str, bytes], ...]  # (lower-case name, raw value)

    def values(self, name: str) -> list[bytes]:
        return [value for key, value in self.headers if key == name]

    def first(self, name: str) -> bytes | None:
        found = self.values(name)
        return found[0] if found else None


def _malformed(detail: str) -> UrlFetchFailed:
    return UrlFetchFailed(f"Malformed response from the upload source: {detail}")


async def _read_line(reader: asyncio.StreamReader, budget: int) -> bytes:
    try:
        line = await reader.readuntil(b"\n")
    except asyncio.LimitOverrunError as exc:
        raise _malformed("line too long") from exc
    except asyncio.IncompleteReadError as exc:
        raise UrlFetchFailed("Connection closed by the upload source mid-response") from exc
    if len(line) > budget:
        raise _malformed("headers too large")
    return line


async def _read_head(reader: asyncio.StreamReader) -> _Head:
    budget = MAX_HEADER_BYTES
    status_line = await _read_line(reader, budget)
    budget -= len(status_line)
    match = _STATUS_RE.fullmatch(status_line.rstrip(b"\r\n"))
    if match is None:
        raise _malformed("bad status line")
    headers: list[tuple[str, bytes]] = []
    while True:
        line = await _read_line(reader, budget)
        budget -= len(line)
        line = line.removesuffix(b"\n").removesuffix(b"\r")
        if not line:
            break
        header = _HEADER_RE.fullmatch(line)
        if header is None:  # also refuses obsolete line folding
            raise _malformed("bad header line")
        headers.append((header.group(1).decode("ascii").lower(), header.group(2)))
    return _Head(int(match.group(1)), tuple(headers))


class _DestWriteFailed(Exception):
    """Carries an ``OSError`` of the caller's ``dest`` past the remote-failure handlers."""

    def __init__(self, error: OSError) -> None:
        super().__init__(str(error))
        self.error = error


class _Sink:
    """Writes body bytes to ``dest``, refusing any piece that would pass the cap.

    ``dest`` is a file on disk, and a slow or stalled disk must not stall the event
    loop: pieces are gathered up to ``WRITE_BATCH`` and each batch is written from a
    worker thread, so the loop pays one thread hop per batch, not per socket read.
    """

    def __init__(self, dest: BinaryIO, max_bytes: int) -> None:
        self._dest = dest
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
        try:
            await asyncio.to_thread(self._dest.write, data)
        except OSError as exc:  # disk full etc.: the caller's storage, not the remote's fault
            raise _DestWriteFailed(exc) from exc


async def _copy_exactly(reader: asyncio.StreamReader, sink: _Sink, length: int) -> None:
    sink.check(length)
    while length:
        data = await reader.read(min(READ_CHUNK, length))
        if not data:
            raise UrlFetchFailed(
                "Connection closed by the upload source before the whole body arrived"
            )
        await sink.write(data)
        length -= len(data)


async def _copy_chunked(reader: asyncio.StreamReader, sink: _Sink) -> None:
    while True:
        line = await _read_line(reader, MAX_HEADER_BYTES)
        size_field = line.split(b";", 1)[0].strip()
        if not _CHUNK_SIZE_RE.fullmatch(size_field):
            raise _malformed("bad chunk size")
        size = int(size_field, 16)
        if size == 0:
            return  # trailers are not read: the connection is closed right after
        await _copy_exactly(reader, sink, size)
        if (await _read_line(reader, MAX_HEADER_BYTES)).strip(b"\r\n"):
            raise _malformed("missing CRLF after chunk")


async def _copy_until_close(reader: asyncio.StreamReader, sink: _Sink) -> None:
    while data := await reader.read(READ_CHUNK):
        await sink.write(data)


def _content_length(head: _Head) -> int | None:
    values = {value.strip() for value in head.values("content-length")}
    if not values:
        return None
    if len(values) != 1:
        raise _malformed("conflicting Content-Length")
    (value,) = values
    if not value.isdigit() or len(value) > 18:
        raise _malformed("bad Content-Length")
    return int(value)


async def _copy_body(head: _Head, reader: asyncio.StreamReader, sink: _Sink) -> None:
    encoding = b",".join(head.values("content-encoding")).strip().lower()
    if encoding not in (b"", b"identity"):
        raise UrlFetchFailed("Unsupported content encoding from the upload source")
    if head.status in (204, 205):
        return
    transfer = [c.strip().lower() for c in b",".join(head.values("transfer-encoding")).split(b",")]
    transfer = [c for c in transfer if c]
    if transfer:
        # Transfer-Encoding overrides Content-Length (RFC 9112 §6.3); we only speak chunked.
        if transfer != [b"chunked"]:
            raise UrlFetchFailed("Unsupported transfer encoding from the upload source")
        await _copy_chunked(reader, sink)
        return
    length = _content_length(head)
    if length is None:
        await _copy_until_close(reader, sink)
    else:
        await _copy_exactly(reader, sink, length)


def _tls_failed(exc: ssl.SSLError) -> UrlFetchFailed:
    detail = exc.verify_message if isinstance(exc, ssl.SSLCertVerificationError) else None
    return UrlFetchFailed(f"TLS error with the upload source: {detail or exc.reason or exc}")


def _request(target: _Target) -> bytes:
    return (
        f"GET {target.request_target} HTTP/1.1\r\n"
        f"Host: {target.host_header}\r\n"
        "User-Agent: Darkroom\r\n"
        "Accept: */*\r\n"
        "Accept-Encoding: identity\r\n"
        "Connection: close\r\n"
        "\r\n"
    ).encode("ascii")


async def _exchange(target: _Target, dial: str, sink: _Sink) -> tuple[int, _Head]:
    """One request on one connection to ``dial``.  Returns (status, head).

    A 2xx body has been copied into ``sink`` when this returns; for anything
    else the body is left unread.  The connection is always closed (aborted:
    we never reuse it and must not wait on a peer that may be hostile).
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
        writer.write(_request(target))
        await writer.drain()
        for _ in range(MAX_INTERIM_RESPONSES + 1):
            head = await _read_head(reader)
            if not 100 <= head.status < 200:
                break
            if head.status == 101:
                raise _malformed("unexpected protocol switch")
        else:
            raise _malformed("too many interim responses")
        if 200 <= head.status < 300:
            await _copy_body(head, reader, sink)
            await sink.flush()
        return head.status, head
    except TimeoutError:
        raise
    except ssl.SSLError as exc:
        raise _tls_failed(exc) from exc
    except OSError as exc:  # reset, broken pipe
        detail = exc.strerror or exc
        raise UrlFetchFailed(f"Connection to the upload source failed: {detail}") from exc
    finally:
        writer.transport.abort()


def _filename(target: _Target) -> str:
    path = target.request_target.split("?", 1)[0]
    name = unquote(path.rsplit("/", 1)[-1], errors="replace")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]  # a decoded %2F must not make a path
    name = "".join(ch for ch in name if ch.isprintable())
    return "" if name in (".", "..") else name


async def _fetch(url: str, dest: BinaryIO, policy: FetchPolicy, resolver: Resolver) -> FetchResult:
    current = url
    redirects = 0
    while True:
        target, dial = await _vet(current, policy, resolver)
        sink = _Sink(dest, policy.max_bytes)
        status, head = await _exchange(target, dial, sink)
        if status in REDIRECT_STATUSES:
            location = head.first("location")
            if location is None or not location.strip():
                raise UrlFetchFailed(f"Redirect without a Location (HTTP {status})", status=status)
            if redirects >= policy.max_redirects:
                raise UrlFetchFailed("Too many redirects", max_redirects=policy.max_redirects)
            redirects += 1
            current = urljoin(target.url, location.strip().decode("utf-8", "surrogateescape"))
            continue
        if not 200 <= status < 300:
            raise UrlFetchFailed(f"Can't fetch target upload source (HTTP {status})", status=status)
        content_type = head.first("content-type")
        return FetchResult(
            final_url=target.url,
            filename=_filename(target),
            content_type=content_type.decode("latin-1") if content_type is not None else "",
            size=sink.size,
        )


async def fetch_to_file(
    url: str,
    dest: BinaryIO,
    policy: FetchPolicy,
    *,
    resolver: Resolver | None = None,
) -> FetchResult:
    """Fetch ``url`` into ``dest`` under ``policy``; see the module docstring.

    ``dest`` belongs to the caller, who truncates or deletes it on error; it is
    never closed here.  ``resolver(host, port)`` returns candidate addresses as
    strings (default: ``loop.getaddrinfo``); it is called once per hop and only
    its first answer is checked and dialled.

    Raises ``UnsupportedUrl`` (refused before dialling), ``UrlFetchFailed``,
    ``UrlFetchTimeout`` or ``FileTooBig``; an ``OSError`` from writing ``dest``
    propagates unchanged.
    """
    try:
        async with asyncio.timeout(policy.timeout_s):
            return await _fetch(url, dest, policy, resolver or _default_resolver)
    except _DestWriteFailed as exc:
        raise exc.error from None
    except TimeoutError as exc:
        raise UrlFetchTimeout(
            f"Timed out fetching the upload source after {policy.timeout_s:g} s",
            timeout_s=policy.timeout_s,
        ) from exc
