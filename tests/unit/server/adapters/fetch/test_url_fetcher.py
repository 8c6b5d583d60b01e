"""The fetch loop: redirects re-vetted at every hop, status handling and the deadline."""

from __future__ import annotations

import asyncio
import io

import pytest

from server.adapters.fetch.fetch_policy import FetchPolicy
from server.adapters.fetch.url_fetcher import fetch_to_file
from server.domain.errors import UnsupportedUrl, UrlFetchFailed, UrlFetchTimeout
from tests.unit.server.adapters.fetch.local_http import (
    PRIVATE,
    FakeResolver,
    LocalServer,
    Request,
    local_server,
    reply,
    response,
)

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
