"""Vetting one URL (the original or a redirect's ``Location``) before anything is dialled.

* http/https only, no userinfo, a well-formed host and port, not one of our own
  host names;
* the host is resolved **once** and only the first answer counts: that exact
  address is what the fetch dials, so a DNS answer with a tiny TTL cannot pass
  this check as a public address and then be dialled as 127.0.0.1 (DNS
  rebinding);
* the address must be public (:func:`is_public_address`) unless the policy
  allows private targets or the host is one the admin trusts by name.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import quote, urlsplit

from server.adapters.fetch.address_policy import IPAddress, is_public_address
from server.adapters.fetch.fetch_policy import FetchPolicy
from server.domain.errors import UnsupportedUrl, UrlFetchFailed

__all__ = ["Resolver", "Target", "default_resolver", "vet"]

Resolver = Callable[[str, int], Awaitable[list[str]]]

_DEFAULT_PORTS = {"http": 80, "https": 443}

# Every printable ASCII character except space: what may stay as-is in a request
# target.  Everything else (controls, space, DEL, non-ASCII) is percent-encoded,
# which also makes CR/LF injection into the request line impossible.
_URL_SAFE = "".join(chr(c) for c in range(0x21, 0x7F))

_LABEL = r"[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?"
_HOST_RE = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")


@dataclass(frozen=True)
class Target:
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
    """The form ``_parse_url`` gives ``Target.host``, for comparing configured names."""
    host = host.strip().strip("[]").rstrip(".").lower()
    try:
        return ipaddress.ip_address(host).compressed
    except ValueError:
        pass
    try:
        return host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return host


def _is_ip_literal(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _parse_url(url: str) -> Target:
    """Vet one URL's syntax; nothing is resolved or dialled."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError as exc:
        raise UnsupportedUrl("Invalid URL") from exc
    scheme = parts.scheme.lower()
    if not scheme:
        raise UnsupportedUrl("Invalid URL: no scheme")
    if scheme not in _DEFAULT_PORTS:
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
    port = port if port is not None else _DEFAULT_PORTS[scheme]

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

    netloc = bracketed if port == _DEFAULT_PORTS[scheme] else f"{bracketed}:{port}"
    path = quote(parts.path or "/", safe=_URL_SAFE, errors="surrogateescape")
    if not path.startswith("/"):
        path = "/" + path
    request_target = path
    if parts.query:
        request_target += "?" + quote(parts.query, safe=_URL_SAFE, errors="surrogateescape")
    return Target(
        scheme=scheme,
        host=host,
        port=port,
        host_header=netloc,
        request_target=request_target,
        url=f"{scheme}://{netloc}{request_target}",
    )


async def default_resolver(host: str, port: int) -> list[str]:
    loop = asyncio.get_running_loop()
    infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    return [
        str(sockaddr[0])
        for family, _type, _proto, _canon, sockaddr in infos
        if family in (socket.AF_INET, socket.AF_INET6)
    ]


async def _resolve_once(target: Target, resolver: Resolver) -> str:
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


async def vet(url: str, policy: FetchPolicy, resolver: Resolver) -> tuple[Target, str]:
    """Parse, refuse self hosts, resolve once and check the address to dial (returned)."""
    target = _parse_url(url)
    if target.host in {_normalize_host(h) for h in policy.self_hosts}:
        raise UnsupportedUrl("Unsupported self host URL upload", host=target.host)

    dial = await _resolve_once(target, resolver)
    address = ipaddress.ip_address(dial)
    trusted = target.host in {_normalize_host(h) for h in policy.trusted_hosts}
    if not (policy.allow_private or trusted) and not is_public_address(address):
        raise UnsupportedUrl("Unsupported non-public IP address for upload", host=target.host)
    return target, dial
