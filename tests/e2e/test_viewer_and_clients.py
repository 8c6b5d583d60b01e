"""Viewer and delete pages, a browser, a Node.js gRPC client and a big streamed upload."""

from __future__ import annotations

import html
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.support import media, video
from tests.support.rss import RssPeak
from tests.support.stack import Stack

ROOT = Path(__file__).resolve().parents[2]
NODE_DIR = ROOT / "tests" / "e2e" / "node"
ARTIFACTS = ROOT / "test-artifacts"
PHOTO = media.jpeg(1200, 800, seed=71)
MiB = 1024 * 1024


def _upload(stack: Stack, key: str, title: str) -> dict[str, object]:
    with stack.http() as http:
        reply = http.post(
            "/api/1/upload",
            headers={"X-API-Key": key},
            data={"title": title},
            files={"source": ("view.jpg", PHOTO, "image/jpeg")},
        )
    assert reply.status_code == 200, reply.text
    image = reply.json()["image"]
    assert isinstance(image, dict)
    return image


def test_viewer_page_shows_the_media_and_share_codes(stack: Stack, key: str) -> None:
    image = _upload(stack, key, "Harbour at dusk")
    with stack.http() as http:
        page = http.get(str(image["path_viewer"]))
        short = http.get(str(image["url_short"]).removeprefix(stack.url.rstrip("/")))
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    assert "default-src" in page.headers["content-security-policy"]
    assert page.headers["x-content-type-options"] == "nosniff"
    text = html.unescape(page.text)
    assert "<title>Harbour at dusk" in page.text
    assert f'src="{image["url"]}"' in page.text
    for code in (
        f"[img]{image['url']}[/img]",
        f"![Harbour at dusk]({image['url']})",
        f'<a href="{image["url_viewer"]}"><img src="{image["url"]}" alt="Harbour at dusk"',
    ):
        assert code in text
    assert short.status_code == 200 and "Harbour at dusk" in short.text


def test_viewer_escapes_hostile_titles(stack: Stack, key: str) -> None:
    image = _upload(stack, key, '"><script>alert(1)</script>')
    with stack.http() as http:
        page = http.get(str(image["path_viewer"]))
    assert page.status_code == 200
    assert "<script>alert(1)" not in page.text


def test_unknown_viewer_ids_are_a_friendly_404(stack: Stack) -> None:
    with stack.http() as http:
        page = http.get("/image/nothing-here.zzzz")
    assert page.status_code == 404 and page.headers["content-type"].startswith("text/html")
    assert "doesn" in page.text  # "That file doesn't exist"


def test_delete_url_deletes_and_a_wrong_token_is_404(stack: Stack, key: str) -> None:
    image = _upload(stack, key, "Short lived")
    delete_path = str(image["delete_url"]).removeprefix(stack.url.rstrip("/"))
    stored = stack.media_root / str(image["url"]).removeprefix(f"{stack.url}")
    assert stored.exists()
    with stack.http(follow_redirects=False) as http:
        wrong = http.get(delete_path[:-48] + "0" * 48)
        assert wrong.status_code == 404
        assert stored.exists()
        deleted = http.get(delete_path)
        assert deleted.status_code == 301
        assert deleted.headers["location"] == f"{image['path_viewer']}?deleted"
        after = http.get(deleted.headers["location"])
        assert after.status_code == 404 and "deleted" in after.text
        assert http.get(delete_path).status_code == 404
        assert http.get(str(image["url"])).status_code == 404
    assert not stored.exists()


def _node() -> str:
    node = shutil.which("node")
    if node is None or not (NODE_DIR / "node_modules").exists():
        pytest.skip("Node.js or tests/e2e/node/node_modules missing: scripts/test installs them")
    return node


def test_node_grpc_client_uploads_through_envoy(stack: Stack, key: str, tmp_path: Path) -> None:
    photo = tmp_path / "from-node.jpg"
    photo.write_bytes(PHOTO)
    result = subprocess.run(
        [_node(), str(NODE_DIR / "upload.mjs")],
        env={
            **os.environ,
            "DARKROOM_TARGET": stack.target,
            "DARKROOM_API_KEY": key,
            "DARKROOM_PROTO_ROOT": str(ROOT / "proto"),
            "DARKROOM_FILE": str(photo),
        },
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    answer = json.loads(result.stdout)
    assert answer["upload"]["title"] == "Uploaded from Node"
    assert answer["get"]["url"] == answer["upload"]["url"]
    assert answer["stream"]["md5"] == answer["upload"]["md5"]
    with stack.http() as http:
        assert http.get(answer["upload"]["url"]).status_code == 200


def _chromium() -> str:
    browser = shutil.which("chromium")
    if browser is None:
        pytest.skip("Debian's chromium is not installed: scripts/test installs it as root")
    return browser


def _seen_in_browser(url: str, screenshot: Path) -> dict[str, Any]:
    """What headless Chromium renders at ``url`` (tests/e2e/node/viewer.mjs)."""
    browser, node = _chromium(), _node()
    ARTIFACTS.mkdir(exist_ok=True)
    result = subprocess.run(
        [node, str(NODE_DIR / "viewer.mjs")],
        env={
            **os.environ,
            "DARKROOM_VIEWER_URL": url,
            "DARKROOM_SCREENSHOT": str(screenshot),
            "CHROMIUM": browser,
        },
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    seen: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return seen


def test_viewer_renders_in_a_real_browser(stack: Stack, key: str) -> None:
    image = _upload(stack, key, "Seen by Chromium")
    shot = ARTIFACTS / "viewer-image.png"
    seen = _seen_in_browser(str(image["url_viewer"]), shot)
    assert seen["status"] == 200
    assert seen["img"]["naturalWidth"] == 1200
    assert str(image["url"]) in seen["codes"]
    assert f"[img]{image['url']}[/img]" in seen["codes"]
    assert shot.stat().st_size > 10_000


def test_large_multipart_upload_keeps_shim_and_server_memory_flat(stack: Stack) -> None:
    stack.cli("users", "create", "bulk", "--admin")
    key = stack.cli("keys", "rotate", "bulk").strip().splitlines()[-1]
    # 300 MB: a real photo followed by data after its end marker (cameras append such
    # trailers); Darkroom keeps the photo and drops the trailer.
    size = 300 * 1000 * 1000
    with stack.http() as http:
        http.patch(
            "/v1/settings",
            json={"upload_max_filesize_mb": 1000},
            headers={"X-API-Key": stack.admin_key},
        ).raise_for_status()

    def body() -> Iterator[bytes]:
        boundary = b"--bulkbulk"
        yield boundary + b'\r\nContent-Disposition: form-data; name="source"; filename="big.jpg"'
        yield b"\r\nContent-Type: image/jpeg\r\n\r\n" + PHOTO
        block = bytes(MiB)
        sent = len(PHOTO)
        while sent < size:
            piece = block[: min(MiB, size - sent)]
            sent += len(piece)
            yield piece
        yield b"\r\n" + boundary + b"--\r\n"

    pids = {name: stack.pid(name) for name in ("shim", "grpc server")}
    with RssPeak(pids) as rss, stack.http() as http:
        reply = http.post(
            "/api/1/upload",
            headers={"X-API-Key": key, "Content-Type": "multipart/form-data; boundary=bulkbulk"},
            content=body(),
        )
    assert reply.status_code == 200, reply.text
    image = reply.json()["image"]
    assert (image["width"], image["height"]) == (1200, 800)
    assert image["size"] < 2 * MiB  # the trailer did not survive
    for name in ("shim", "grpc server"):
        assert rss.growth(name) < 64 * MiB, f"{name} grew by {rss.growth(name) / MiB:.1f} MiB"


def test_video_viewer_plays_in_a_real_browser(stack: Stack, key: str) -> None:
    _chromium()
    clip = video.clip(container="webm", codec="libvpx-vp9", seconds=2, size=(640, 360))
    with stack.http() as http:
        reply = http.post(
            "/api/1/upload",
            headers={"X-API-Key": key},
            data={"title": "A short clip"},
            files={"source": ("clip.webm", clip, "video/webm")},
        )
        assert reply.status_code == 200, reply.text
        image = reply.json()["image"]
        assert image["type"] == "video" and image["url_viewer"].startswith(f"{stack.url}clip/")
        ranged = http.get(image["url"], headers={"Range": "bytes=0-1023"})
        assert ranged.status_code == 206 and ranged.headers["content-type"] == "video/webm"
        assert len(ranged.content) == 1024
    seen = _seen_in_browser(image["url_viewer"], ARTIFACTS / "viewer-video.png")
    assert seen["status"] == 200
    assert seen["video"]["poster"] == image["url_frame"]
    assert image["url"] in seen["video"]["sources"]
    # Metadata loaded: the browser can play what Envoy serves.
    assert seen["video"]["readyState"] >= 1 and seen["video"]["videoWidth"] == 640
