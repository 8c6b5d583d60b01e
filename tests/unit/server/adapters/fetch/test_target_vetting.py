"""URL vetting: what is refused before anything is dialled, and resolving once."""

from __future__ import annotations

import io

import pytest

from server.adapters.fetch.fetch_policy import FetchPolicy
from server.adapters.fetch.url_fetcher import fetch_to_file
from server.domain.errors import UnsupportedUrl, UrlFetchFailed
from tests.unit.server.adapters.fetch.local_http import (
    NON_PUBLIC,
    PRIVATE,
    FakeResolver,
    local_server,
    reply,
    response,
)

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
