"""kill -9 of the whole stack mid-upload: after a restart, every answered upload is
served whole, every file belongs to an item, and no scratch is left."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import threading
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psutil

from darkroom.v1 import media_pb2, media_pb2_grpc
from tests.support import media
from tests.support.stack import Stack, start_stack
from tests.support.waiting import wait_until

CLIENTS = 16
UPLOADS_PER_CLIENT = 40  # a bound: the kill comes long before
SMALL = [media.jpeg(320 + 16 * n, 240, seed=200 + n) for n in range(8)]
LARGE = [media.jpeg(3000, 2000, seed=300 + n) for n in range(2)]  # seconds of work each
BUSY_BOUND_S = 120.0


@dataclass
class Uploads:
    answered: list[dict[str, object]] = field(default_factory=list)  # the 200s' image objects
    other: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    killed: threading.Event = field(default_factory=threading.Event)


def _client(stack: Stack, number: int, uploads: Uploads) -> None:
    with httpx.Client(base_url=stack.url, timeout=120) as http:
        for n in range(UPLOADS_PER_CLIENT):
            large = n % 5 == 4 and number % 4 == 0
            data = LARGE[n % 2] if large else SMALL[(number + n) % len(SMALL)]
            # Few names for many uploads: concurrent uploads race for them.
            name = f"shot-{(number + n) % 6}.jpg"
            try:
                answer = http.post(
                    "/api/1/upload",
                    headers={"X-API-Key": stack.admin_key},
                    files={"source": (name, data, "image/jpeg")},
                )
            except httpx.TransportError as error:
                if uploads.killed.is_set():
                    return
                answer_text = f"transport error before the kill: {error!r}"
                with uploads.lock:
                    uploads.other.append(answer_text)
                continue
            with uploads.lock:
                if answer.status_code == 200:
                    uploads.answered.append(answer.json()["image"])
                elif not uploads.killed.is_set():
                    uploads.other.append(f"{answer.status_code}: {answer.text[:300]}")
            if uploads.killed.is_set():
                return


def _upload_dirs(scratch: Path) -> list[Path]:
    return list(scratch.glob("proc-*/upload-*"))


def _kill_everything(stack: Stack) -> None:
    """serve and its three children, SIGKILL, all at once: nobody cleans up after anyone."""
    serve = psutil.Process(stack.process.pid)
    group = [serve, *serve.children(recursive=True)]
    assert len(group) >= 4, [p.name() for p in group]
    for process in group:
        process.kill()
    stack.process.wait()
    _, alive = psutil.wait_procs(group, timeout=30)
    assert not alive


def _media_tree(media_root: Path) -> set[str]:
    found = set()
    for directory, subdirs, files in os.walk(media_root):
        if Path(directory) == media_root:
            subdirs[:] = [d for d in subdirs if d != ".tmp"]
        for name in files:
            found.add(os.path.relpath(os.path.join(directory, name), media_root))
    return found


def _all_media(stack: Stack) -> list[media_pb2.Media]:
    items: list[media_pb2.Media] = []
    token = ""
    with stack.channel() as channel:
        stub = media_pb2_grpc.MediaServiceStub(channel)
        while True:
            page = stub.ListMedia(
                media_pb2.ListMediaRequest(page_size=500, page_token=token),
                metadata=stack.admin_metadata(),
            )
            items += page.media
            token = page.next_page_token
            if not token:
                return items


def _files_of(item: media_pb2.Media, base: str) -> set[str]:
    urls = [item.image.url, item.thumb.url, item.medium.url, item.frame.url]
    return {url.removeprefix(base) for url in urls if url}


def _fsck(stack: Stack) -> dict[str, object]:
    result = subprocess.run(
        [sys.executable, "-m", "server", "fsck", "--json", "--grace-s", "0"],
        env=stack.env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    report: dict[str, object] = json.loads(result.stdout)
    return report


def test_a_stack_killed_mid_upload_comes_back_whole_and_clean(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    env = {"DARKROOM_SCRATCH_SWEEP_INTERVAL_S": "3600"}  # only the start-up reclaim acts
    first = start_stack(data_dir, env)
    scratch = first.media_root / ".tmp"
    uploads = Uploads()
    clients = [
        threading.Thread(target=_client, args=(first, n, uploads), daemon=True)
        for n in range(CLIENTS)
    ]
    try:
        for client in clients:
            client.start()

        def busy() -> bool:
            with uploads.lock:
                answered = len(uploads.answered)
            return answered >= CLIENTS and len(_upload_dirs(scratch)) >= 4

        wait_until(busy, BUSY_BOUND_S, "uploads answered and others in flight")
        uploads.killed.set()
        _kill_everything(first)
    finally:
        uploads.killed.set()
        if first.process.poll() is None:
            _kill_everything(first)
        for client in clients:
            client.join(60)
    assert not uploads.other, uploads.other[:5]
    interrupted = _upload_dirs(scratch)
    assert interrupted, "the kill came when no upload was in flight"
    linked = [d for d in interrupted if (d / "blobs.journal").exists()]
    print(
        f"{len(uploads.answered)} answered; {len(interrupted)} uploads interrupted, "
        f"{len(linked)} of them while storing"
    )

    second = start_stack(data_dir, env, admin_key=first.admin_key)
    try:
        base = first.url
        with second.http() as http:
            for image in uploads.answered:
                path = str(image["url"]).removeprefix(base)
                served = http.get(path)
                assert served.status_code == 200, path
                assert hashlib.md5(served.content).hexdigest() == image["md5"], path
                assert len(served.content) == image["size"], path
                thumb = image["thumb"]
                assert isinstance(thumb, dict)
                thumb_served = http.get(str(thumb["url"]).removeprefix(base))
                assert thumb_served.status_code == 200
                assert len(thumb_served.content) == thumb["size"]
                viewer = http.get(str(image["url_viewer"]).removeprefix(base))
                assert viewer.status_code == 200
                assert f'src="{second.url}{path}"' in viewer.text

        items = _all_media(second)
        assert len(items) >= len(uploads.answered)
        owned = set().union(*(_files_of(item, second.url) for item in items))
        assert _media_tree(second.media_root) == owned  # no orphan, nothing missing
        # Only the new server's own scratch is left, and it holds no upload.
        left = sorted(p.name for p in scratch.iterdir() if not p.name.startswith("."))
        assert len(left) == 1 and left[0].startswith(f"proc-{second.pid('grpc server')}-")
        assert sorted(p.name for p in (scratch / left[0]).iterdir()) == [
            "owner.lock",
            "owner.pid",
        ]
        report = _fsck(second)
        assert report["problems"] == 0 and report["rows"] == len(items), report
    finally:
        assert second.stop() == 0
