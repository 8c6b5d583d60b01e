"""One GET against real local servers: the request, response framing, failures and TLS."""

from __future__ import annotations

import io
import shutil
import ssl
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from server.adapters.fetch import http_exchange
from server.adapters.fetch.url_fetcher import fetch_to_file
from server.domain.errors import UrlFetchFailed
from tests.unit.server.adapters.fetch.local_http import (
    PRIVATE,
    FakeResolver,
    local_server,
    reply,
    response,
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
    monkeypatch.setattr(http_exchange, "_tls_context", lambda: trusting)
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
