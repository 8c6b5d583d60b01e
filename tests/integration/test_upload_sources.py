"""Sources other than raw bytes: base64, Chevereto `source` strings and URLs."""

from __future__ import annotations

import base64
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import grpc
import pytest

from darkroom.v1 import admin_pb2, media_pb2
from tests.conftest import admin_md
from tests.support import media
from tests.support.server import RunningServer, boot_with_admin, chevereto_error

PHOTO = media.jpeg(640, 480, seed=21)
HUGE_BYTES = 64 * 1024 * 1024


def _upload(server: RunningServer, key: str, **source: Any) -> media_pb2.Media:
    method = source.pop("http_method", "")
    request = media_pb2.UploadRequest(**source, options=media_pb2.UploadOptions(http_method=method))
    reply = server.media_stub().Upload(request, metadata=[("x-api-key", key)], timeout=60)
    return reply.media  # type: ignore[no-any-return]


def _refused(server: RunningServer, key: str, **source: Any) -> tuple[int, str]:
    with pytest.raises(grpc.RpcError) as failure:
        _upload(server, key, **source)
    return chevereto_error(failure.value)


# --- base64 --------------------------------------------------------------------------------


def test_base64_source_is_named_with_12_hex_digits(server: RunningServer, user_key: str) -> None:
    m = _upload(server, user_key, base64=base64.b64encode(PHOTO).decode())
    assert m.extension == "jpeg" and (m.width, m.height) == (640, 480)
    stem, _, ext = m.original_filename.partition(".")
    assert len(stem) == 12 and int(stem, 16) >= 0 and ext == "jpeg"


def test_base64_with_line_breaks_is_accepted(server: RunningServer, user_key: str) -> None:
    wrapped = base64.encodebytes(PHOTO).decode()  # 76-column lines
    assert _upload(server, user_key, base64=wrapped).width == 640


@pytest.mark.parametrize(
    "data",
    [
        "data:image/jpeg;base64," + base64.b64encode(PHOTO).decode(),
        base64.b64encode(PHOTO + b"\0" * (len(PHOTO) % 3 == 0)).decode().rstrip("="),
        base64.urlsafe_b64encode(PHOTO).decode().replace("=", "") + "_-",
        "not base64 at all!",
    ],
    ids=["data-uri", "unpadded", "urlsafe", "garbage"],
)
def test_non_canonical_base64_is_refused(server: RunningServer, user_key: str, data: str) -> None:
    assert _refused(server, user_key, base64=data) == (120, "Invalid base64 string")


def test_base64_not_posted_is_refused(server: RunningServer, user_key: str) -> None:
    encoded = base64.b64encode(PHOTO).decode()
    assert _refused(server, user_key, base64=encoded, http_method="GET") == (
        130,
        "Upload using base64 source must be done using POST method.",
    )


def test_empty_sources(server: RunningServer, user_key: str) -> None:
    assert _refused(server, user_key) == (130, "Empty upload source")
    assert _refused(server, user_key, text="") == (130, "Empty upload source")
    assert _refused(server, user_key, base64="  \n ") == (130, "Empty source")


def test_text_source_is_classified_like_chevereto(server: RunningServer, user_key: str) -> None:
    m = _upload(server, user_key, text=base64.b64encode(PHOTO).decode())
    assert m.width == 640
    # A URL-shaped string goes to the URL path, here refused as loopback.
    code, message = _refused(server, user_key, text="http://127.0.0.1:9/x.jpg")
    assert (code, message) == (400, "Unsupported non-public IP address for upload")


# --- URLs ----------------------------------------------------------------------------------


class Origin:
    """A local HTTP server that records what reached it."""

    def __init__(self) -> None:
        self.requests: list[str] = []
        self.huge_finished = False
        self.release = threading.Event()
        origin = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                origin.requests.append(self.path)
                if self.path == "/photos/lake%20view.jpg":
                    self._send(PHOTO, "image/jpeg")
                elif self.path == "/to-loopback-literal":
                    # Same server, other name: only "localhost" is trusted, not 127.0.0.1.
                    self.send_response(302)
                    self.send_header(
                        "Location", f"http://127.0.0.1:{origin.port}/photos/lake%20view.jpg"
                    )
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif self.path.startswith("/hop/"):
                    left = int(self.path.rsplit("/", 1)[1])
                    target = f"/hop/{left - 1}" if left > 1 else "/photos/lake%20view.jpg"
                    self.send_response(302)
                    self.send_header("Location", target)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                elif self.path == "/huge.jpg":
                    self.send_response(200)
                    self.send_header("Content-Type", "image/jpeg")
                    self.end_headers()
                    block = PHOTO[:4096] + bytes(64 * 1024)
                    try:
                        sent = 0
                        while sent < HUGE_BYTES:
                            self.wfile.write(block)
                            sent += len(block)
                        origin.huge_finished = True
                    except OSError:
                        pass  # the fetcher hung up, as it should
                elif self.path == "/stall.jpg":
                    origin.release.wait(30)
                else:
                    self.send_error(404)

            def _send(self, body: bytes, content_type: str) -> None:
                self.send_response(200)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.port = self.httpd.server_address[1]
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str, host: str = "127.0.0.1") -> str:
        return f"http://{host}:{self.port}{path}"

    def close(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture()
def origin() -> Iterator[Origin]:
    running = Origin()
    yield running
    running.close()


@pytest.mark.parametrize(
    ("path", "host"),
    [
        ("/photos/lake%20view.jpg", "127.0.0.1"),
        ("/hop/1", "127.0.0.1"),
        ("/photos/lake%20view.jpg", "localhost"),
    ],
    # The redirect case is refused at its first (loopback) hop; the per-hop re-check of
    # redirect targets is covered by the fetcher's unit tests.
    ids=["loopback", "loopback-that-redirects", "name-resolving-to-loopback"],
)
def test_default_settings_refuse_local_targets_before_fetching(
    server: RunningServer, user_key: str, origin: Origin, path: str, host: str
) -> None:
    assert _refused(server, user_key, url=origin.url(path, host)) == (
        400,
        "Unsupported non-public IP address for upload",
    )
    assert origin.requests == []


@pytest.fixture(scope="module")
def trusted_localhost_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningServer]:
    """Default policy, but 'localhost' trusted (as an internal asset server would be)."""
    running = boot_with_admin(
        Path(tmp_path_factory.mktemp("trusted-host")), "",
        {"DARKROOM_URL_FETCH_TRUSTED_HOSTS": "localhost"},
    )  # fmt: skip
    yield running
    running.stop()


def test_a_redirect_to_loopback_is_refused_at_that_hop(
    trusted_localhost_server: RunningServer, origin: Origin
) -> None:
    server = trusted_localhost_server
    photo = origin.url("/photos/lake%20view.jpg", "localhost")
    assert _upload(server, server.admin_key, url=photo).width == 640  # trusted name: fine
    origin.requests.clear()
    code, message = _refused(
        server, server.admin_key, url=origin.url("/to-loopback-literal", "localhost")
    )
    assert (code, message) == (400, "Unsupported non-public IP address for upload")
    # The first hop was fetched; the redirect target was refused before it was dialled.
    assert origin.requests == ["/to-loopback-literal"]


def test_url_scheme_must_be_http(server: RunningServer, user_key: str) -> None:
    code, message = _refused(server, user_key, url="ftp://example.com/a.jpg")
    assert (code, message) == (400, "Unsupported URL scheme `ftp`")


@pytest.fixture(scope="module")
def trusting_server(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[RunningServer]:
    """A server told to allow private targets, as a closed setup or these tests need."""
    running = boot_with_admin(
        Path(tmp_path_factory.mktemp("trusting")),
        "",
        {"DARKROOM_URL_FETCH_ALLOW_PRIVATE": "true", "DARKROOM_URL_FETCH_TIMEOUT_S": "1.5"},
    )
    yield running
    running.stop()


def test_allowed_private_fetch_succeeds(trusting_server: RunningServer, origin: Origin) -> None:
    m = _upload(
        trusting_server, trusting_server.admin_key, url=origin.url("/photos/lake%20view.jpg")
    )
    assert (m.width, m.height) == (640, 480)
    assert m.original_filename == "lake view.jpg"
    assert m.title == "lake view"
    assert m.name == "lake-view"


def test_redirects_are_followed_up_to_three(trusting_server: RunningServer, origin: Origin) -> None:
    key = trusting_server.admin_key
    assert _upload(trusting_server, key, url=origin.url("/hop/3")).width == 640
    code, message = _refused(trusting_server, key, url=origin.url("/hop/4"))
    assert code == 202 and "redirect" in message.lower()


def test_oversized_body_is_cut_off_at_the_cap(
    trusting_server: RunningServer, origin: Origin
) -> None:
    stub = trusting_server.admin_stub()
    stub.UpdateSettings(
        admin_pb2.UpdateSettingsRequest(settings=admin_pb2.Settings(upload_max_filesize_mb=1)),
        metadata=admin_md(trusting_server),
    )
    try:
        code, message = _refused(
            trusting_server, trusting_server.admin_key, url=origin.url("/huge.jpg")
        )
    finally:
        stub.UpdateSettings(
            admin_pb2.UpdateSettingsRequest(
                settings=admin_pb2.Settings(upload_max_filesize_mb=100)
            ),
            metadata=admin_md(trusting_server),
        )
    assert (code, message) == (400, "File too big - max 1 MB")
    assert not origin.huge_finished
    assert trusting_server.scratch_files() == []


def test_stalled_origin_hits_the_timeout(trusting_server: RunningServer, origin: Origin) -> None:
    with pytest.raises(grpc.RpcError) as failure:
        _upload(trusting_server, trusting_server.admin_key, url=origin.url("/stall.jpg"))
    assert failure.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    assert chevereto_error(failure.value)[0] == 202
    assert trusting_server.scratch_files() == []
