"""Which IP addresses a URL upload may dial: public unicast only.

Every hop's dialled address goes through :func:`is_public_address`, so neither
a URL, nor a DNS answer, nor a redirect can make the server reach its own
loopback, the private network it sits in, or a cloud metadata endpoint
(docs/chevereto-compatibility.md §11).
"""

from __future__ import annotations

import ipaddress

__all__ = ["IPAddress", "is_public_address"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

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
