"""A stack that heals itself: every child killed with SIGKILL comes back on its own."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
from collections.abc import Iterator

import httpx
import psutil
import pytest

from darkroom.v1 import media_pb2
from tests.support import media
from tests.support.stack import Stack, start_stack
from tests.support.waiting import wait_until

PHOTO = media.jpeg(640, 480, seed=91)
MiB = 1024 * 1024
RECOVERY_BOUND_S = 30.0  # a liveness bound for a loaded CI machine, not a speed target


@pytest.fixture(scope="module")
def healing(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    running = start_stack(tmp_path_factory.mktemp("healing"))
    yield running
    assert running.stop() == 0


def _upload(stack: Stack) -> httpx.Response:
    with httpx.Client(base_url=stack.url, timeout=30) as http:
        return http.post(
            "/api/1/upload",
            headers={"X-API-Key": stack.admin_key},
            files={"source": ("heal.jpg", PHOTO, "image/jpeg")},
        )


def _uploads_work(stack: Stack) -> bool:
    try:
        return _upload(stack).status_code == 200
    except httpx.TransportError:
        return False


@pytest.mark.parametrize("name", ["grpc server", "shim", "envoy"])
def test_a_killed_child_is_restarted_and_uploads_work_again(healing: Stack, name: str) -> None:
    assert _uploads_work(healing)
    answers: list[httpx.Response] = []
    stop = threading.Event()

    def keep_uploading() -> None:
        while not stop.is_set():
            # With Envoy itself down, nothing answers the port for a moment.
            with contextlib.suppress(httpx.TransportError):
                answers.append(_upload(healing))

    uploader = threading.Thread(target=keep_uploading)
    uploader.start()
    try:
        old = healing.pid(name)
        os.kill(old, signal.SIGKILL)
        wait_until(lambda: healing.pid(name) != old, RECOVERY_BOUND_S, f"a new {name}")
        wait_until(lambda: _uploads_work(healing), RECOVERY_BOUND_S, "uploads working again")
    finally:
        stop.set()
        uploader.join(60)
    assert psutil.Process(healing.pid(name)).is_running()
    # While it was down, clients got Chevereto's shape: 200s, or an honest 503.
    for answer in answers:
        assert answer.status_code in (200, 503), answer.text[:300]
        body = answer.json()
        if answer.status_code == 503:
            assert body["status_code"] == 503 and body["error"]["code"] == 503
            assert answer.headers.get("retry-after")


def test_unhealthy_upstreams_get_honest_503s_in_each_faces_shape(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Server and shim alive but not answering (stopped): Envoy's health checks take them
    out, and the port answers 503 with Retry-After: Chevereto's JSON on /api/,
    google.rpc.Status on /v1/, a self-refreshing "starting" page for pages."""
    stack = start_stack(tmp_path_factory.mktemp("starting"))
    try:
        stopped = [psutil.Process(stack.pid(name)) for name in ("grpc server", "shim")]
        for process in stopped:
            process.suspend()
        try:
            with httpx.Client(base_url=stack.url, timeout=10) as http:

                def all_unavailable() -> bool:
                    # Until a health check fails, a request still goes to a stopped child.
                    try:
                        return all(
                            http.request(method, path, timeout=2).status_code == 503
                            for method, path in (("POST", "/api/1/upload"), ("GET", "/v1/whoami"))
                        )
                    except httpx.TimeoutException:
                        return False

                wait_until(all_unavailable, RECOVERY_BOUND_S, "the upstreams marked unhealthy")
                api = http.post("/api/1/upload", data={"key": "k", "source": "x"})
                v1 = http.get("/v1/whoami")
                page = http.get("/image/anything")
            assert api.headers["retry-after"] and api.json() == {
                "status_code": 503,
                "error": {
                    "message": "Service unavailable, starting up: retry shortly",
                    "code": 503,
                },
                "status_txt": "Service Unavailable",
            }
            assert v1.headers["retry-after"] and v1.json()["code"] == 14
            assert page.status_code == 503 and page.headers["retry-after"]
            assert page.headers["content-type"].startswith("text/html")
            assert "Darkroom is starting" in page.text and 'http-equiv="refresh"' in page.text
        finally:
            for process in stopped:
                process.resume()
        wait_until(lambda: _uploads_work(stack), RECOVERY_BOUND_S, "the upstreams back")
    finally:
        assert stack.stop() == 0


def test_a_child_that_keeps_crashing_makes_serve_give_up(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Repeated fast crashes: serve exits non-zero so a process manager above it acts."""
    stack = start_stack(tmp_path_factory.mktemp("crashing"))
    killed = 0
    while stack.process.poll() is None and killed < 10:
        old = stack.pid("grpc server")
        os.kill(old, signal.SIGKILL)
        killed += 1

        def replaced_or_gone(old: int = old) -> bool:
            return stack.process.poll() is not None or stack.pid("grpc server") != old

        wait_until(replaced_or_gone, RECOVERY_BOUND_S, "a restart or giving up")
    try:
        code = stack.process.wait(timeout=RECOVERY_BOUND_S)
    except subprocess.TimeoutExpired:
        stack.process.kill()
        raise
    assert code == 1
    assert "giving up" in (stack.data_dir / "serve.log").read_text()
    assert killed == 6  # five restarts, then the sixth fast crash ends it


def test_sigterm_lets_an_in_flight_100_mb_streamed_upload_finish(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    stack = start_stack(tmp_path_factory.mktemp("draining"))
    with httpx.Client(base_url=stack.url, timeout=30) as http:
        http.patch(
            "/v1/settings",
            json={"upload_max_filesize_mb": 150},
            headers={"X-API-Key": stack.admin_key},
        ).raise_for_status()
    size = 100 * MiB
    halfway = threading.Event()

    def requests() -> Iterator[media_pb2.UploadStreamRequest]:
        yield media_pb2.UploadStreamRequest(options=media_pb2.UploadOptions(filename="drain.jpg"))
        yield media_pb2.UploadStreamRequest(chunk=PHOTO)
        block = bytes(MiB)
        for sent in range(len(PHOTO), size, MiB):
            if sent > size // 5:
                halfway.set()  # SIGTERM has been sent by now, or is being sent
            yield media_pb2.UploadStreamRequest(chunk=block[: min(MiB, size - sent)])

    def terminate_when_halfway() -> None:
        halfway.wait(120)
        stack.process.send_signal(signal.SIGTERM)

    terminator = threading.Thread(target=terminate_when_halfway)
    terminator.start()
    try:
        reply = stack.media_stub().UploadStream(
            requests(), metadata=stack.admin_metadata(), timeout=300
        )
    finally:
        terminator.join(130)
    assert reply.media.width == 640 and reply.media.id_encoded
    assert stack.process.wait(timeout=120) == 0
    # The upload that was acknowledged during the drain is really stored.
    assert (stack.media_root / "images" / reply.media.url.split("/images/", 1)[1]).is_file()


def test_a_supervisor_killed_with_sigkill_takes_its_children_with_it(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    stack = start_stack(tmp_path_factory.mktemp("orphans"))
    children = [psutil.Process(stack.pid(name)) for name in ("grpc server", "shim", "envoy")]
    stack.process.kill()
    stack.process.wait(timeout=30)
    _, alive = psutil.wait_procs(children, timeout=RECOVERY_BOUND_S)
    for process in alive:
        process.kill()
    assert not alive, f"left running: {[p.name() for p in alive]}"


def test_ctrl_c_in_a_terminal_drains_instead_of_killing_envoy_first(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    """Ctrl-C signals a terminal's whole foreground process group: only serve is in it."""
    stack = start_stack(tmp_path_factory.mktemp("ctrl-c"))
    serve_group = os.getpgid(stack.process.pid)
    for name in ("grpc server", "shim", "envoy"):
        assert os.getpgid(stack.pid(name)) != serve_group
    stack.process.send_signal(signal.SIGINT)
    assert stack.process.wait(timeout=60) == 0
