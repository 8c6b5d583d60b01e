"""SSRF-safe fetcher for URL upload sources (docs/chevereto-compatibility.md §3.2, §11).

The security property that matters is *the address we dial is the address we
checked*.  Each hop of a fetch therefore goes:

* :mod:`.target_vetting`: parse and vet the URL, resolve the host once and
  check that one address against :mod:`.address_policy`;
* :mod:`.http_exchange`: dial that exact IP, send one ``GET`` (h11 frames the
  bytes) and, for a 2xx, copy the body into a :mod:`.body_sink`, which enforces
  the size cap and writes to the caller's file off the event loop, in batches;
* here: follow 301/302/303/307/308 up to ``max_redirects``, re-running every
  check on each ``Location``, all under one deadline (``asyncio.timeout``).

Proxy environment variables are ignored on purpose: a proxy would dial on our
behalf and defeat the address check.

Responses other than 2xx or a followed redirect are failures (``UrlFetchFailed``):
unlike Chevereto's ``fetch_url`` we never store an error page as an upload.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import BinaryIO
from urllib.parse import unquote, urljoin

from server.adapters.fetch.body_sink import BodySink, DestWriteFailed, DestWriter
from server.adapters.fetch.fetch_policy import FetchPolicy
from server.adapters.fetch.http_exchange import exchange, first_header
from server.adapters.fetch.target_vetting import Resolver, Target, default_resolver, vet
from server.domain.errors import UrlFetchFailed, UrlFetchTimeout

__all__ = ["FetchResult", "fetch_to_file"]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True)
class FetchResult:
    final_url: str
    filename: str  # basename of the final URL path, percent-decoded, "" if none
    content_type: str  # declared, informational only
    size: int


def _filename(target: Target) -> str:
    path = target.request_target.split("?", 1)[0]
    name = unquote(path.rsplit("/", 1)[-1], errors="replace")
    name = name.replace("\\", "/").rsplit("/", 1)[-1]  # a decoded %2F must not make a path
    name = "".join(ch for ch in name if ch.isprintable())
    return "" if name in (".", "..") else name


async def _fetch(
    url: str, writer: DestWriter, policy: FetchPolicy, resolver: Resolver
) -> FetchResult:
    current = url
    redirects = 0
    while True:
        target, dial = await vet(current, policy, resolver)
        sink = BodySink(writer, policy.max_bytes)
        head = await exchange(target, dial, sink)
        status = head.status_code
        if status in REDIRECT_STATUSES:
            location = first_header(head, b"location")
            if location is None or not location.strip():
                raise UrlFetchFailed(f"Redirect without a Location (HTTP {status})", status=status)
            if redirects >= policy.max_redirects:
                raise UrlFetchFailed("Too many redirects", max_redirects=policy.max_redirects)
            redirects += 1
            current = urljoin(target.url, location.strip().decode("utf-8", "surrogateescape"))
            continue
        if not 200 <= status < 300:
            raise UrlFetchFailed(f"Can't fetch target upload source (HTTP {status})", status=status)
        content_type = first_header(head, b"content-type")
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
    settle_dest: bool = False,
) -> FetchResult:
    """Fetch ``url`` into ``dest`` under ``policy``; see the module docstring.

    ``dest`` belongs to the caller, who truncates or deletes it on error; it is
    never closed here.  ``resolver(host, port)`` returns candidate addresses as
    strings (default: ``loop.getaddrinfo``); it is called once per hop and only
    its first answer is checked and dialled.

    The deadline also covers writing ``dest``: a write stalled on the disk makes
    the fetch time out on time, while that write goes on in its thread.  With
    ``settle_dest`` the error (or cancellation) waits, without blocking the
    loop, until that write is over, so ``dest`` is free to close or remove, even
    from the loop thread, when this returns.

    Raises ``UnsupportedUrl`` (refused before dialling), ``UrlFetchFailed``,
    ``UrlFetchTimeout`` or ``FileTooBig``; an ``OSError`` from writing ``dest``
    propagates unchanged.
    """
    writer = DestWriter(dest)
    try:
        async with asyncio.timeout(policy.timeout_s):
            return await _fetch(url, writer, policy, resolver or default_resolver)
    except DestWriteFailed as exc:
        raise exc.error from None
    except TimeoutError as exc:
        raise UrlFetchTimeout(
            f"Timed out fetching the upload source after {policy.timeout_s:g} s",
            timeout_s=policy.timeout_s,
        ) from exc
    finally:
        if settle_dest:
            await writer.settled()
