"""Three replicas on PostgreSQL and SeaweedFS, one killed with SIGKILL under load.

`darkroom serve` with ``replicas = 3``, its records in PostgreSQL and its files in a
SeaweedFS bucket. 16 clients send 300 uploads (two in three through the Chevereto API,
the rest as native gRPC) while one replica is killed and comes back. Every upload
answered 200 is then served through Envoy straight from the bucket, byte for byte; the
only failures are clean ones (a Chevereto-shaped 5xx or gRPC UNAVAILABLE, never a hang)
of the calls that were on the killed replica; and fsck finds nothing to repair.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import grpc
import httpx
import pytest

from darkroom.v1 import media_pb2, media_pb2_grpc
from tests.support import media
from tests.support.seaweedfs import SeaweedFS, running_seaweedfs, weed_unavailable
from tests.support.server import POSTGRES_ENV, database_urls, postgres_database
from tests.support.stack import Stack, start_stack
from tests.support.waiting import wait_until

CLIENTS = 16
UPLOADS = 300
KILL_AFTER = 60  # answered uploads before the kill: the load is well under way
VICTIM = "grpc server 2"
PHOTOS = [media.jpeg(480 + 16 * n, 360, seed=400 + n) for n in range(6)]
BOUND_S = 120.0  # a liveness bound for a loaded machine, not a speed target


@dataclass
class Load:
    # (url, md5, thumb url, viewer url) of each upload answered 200
    ok: list[tuple[str, str, str, str]] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    tickets: Iterator[int] = field(default_factory=lambda: iter(range(UPLOADS)))
    enough: threading.Event = field(default_factory=threading.Event)


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base = database_urls()["postgres"]
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set: replicas share a PostgreSQL")
    if why := weed_unavailable():
        pytest.skip(f"no SeaweedFS to store the files in: {why}")
    with (
        running_seaweedfs(tmp_path_factory.mktemp("weed")) as seaweed,
        postgres_database(base) as database,
    ):
        stack = start_stack(
            tmp_path_factory.mktemp("scaled"),
            {
                "DARKROOM_DATABASE_URL": database,
                "DARKROOM_REPLICAS": "3",
                **_storage(seaweed),
            },
        )
        yield stack
        assert stack.stop() == 0


def _storage(seaweed: SeaweedFS) -> dict[str, str]:
    return seaweed.darkroom_env(seaweed.new_bucket())


def _rest(http: httpx.Client, stack: Stack, photo: bytes, load: Load) -> None:
    answer = http.post(
        "/api/1/upload",
        headers={"X-API-Key": stack.admin_key},
        files={"source": ("scaled.jpg", photo, "image/jpeg")},
    )
    if answer.status_code == 200:
        image = answer.json()["image"]
        with load.lock:
            load.ok.append((image["url"], image["md5"], image["thumb"]["url"], image["url_viewer"]))
        return
    body = answer.json()  # a Chevereto envelope, whatever went wrong
    assert answer.status_code >= 500, answer.text[:300]
    assert body["status_code"] == answer.status_code and body["error"]["message"], body
    with load.lock:
        load.failed.append(f"REST {answer.status_code}: {body['error']['message']}")


def _grpc(stub: media_pb2_grpc.MediaServiceStub, stack: Stack, photo: bytes, load: Load) -> None:
    request = media_pb2.UploadRequest(
        file=photo, options=media_pb2.UploadOptions(filename="scaled.jpg")
    )
    try:
        reply = stub.Upload(request, metadata=stack.admin_metadata(), timeout=BOUND_S)
    except grpc.RpcError as error:
        code = error.code()
        assert code == grpc.StatusCode.UNAVAILABLE, f"{code}: {error.details()}"
        with load.lock:
            load.failed.append(f"gRPC {code.name}: {error.details()}")
        return
    m = reply.media
    with load.lock:
        load.ok.append((m.url, m.md5, m.thumb.url, m.url_viewer))


def _client(stack: Stack, number: int, load: Load, errors: list[BaseException]) -> None:
    try:
        with httpx.Client(base_url=stack.url, timeout=BOUND_S) as http, stack.channel() as ch:
            stub = media_pb2_grpc.MediaServiceStub(ch)
            for n in itertools.count():
                with load.lock:
                    ticket = next(load.tickets, None)
                if ticket is None:
                    return
                photo = PHOTOS[(number + n) % len(PHOTOS)]
                if ticket % 3 == 2:
                    _grpc(stub, stack, photo, load)
                else:
                    _rest(http, stack, photo, load)
                with load.lock:
                    if len(load.ok) >= KILL_AFTER:
                        load.enough.set()
    except BaseException as error:  # a hang (timeout) or a wrong answer fails the test
        errors.append(error)
        load.enough.set()


def test_a_replica_killed_under_load_loses_nothing_answered(scaled: Stack) -> None:
    load, errors = Load(), list[BaseException]()
    clients = [
        threading.Thread(target=_client, args=(scaled, n, load, errors)) for n in range(CLIENTS)
    ]
    for client in clients:
        client.start()
    assert load.enough.wait(BOUND_S), "uploads did not get going"
    victim = scaled.pid(VICTIM)
    os.kill(victim, signal.SIGKILL)
    wait_until(lambda: scaled.pid(VICTIM) != victim, BOUND_S, "the killed replica replaced")
    for client in clients:
        client.join(BOUND_S * 3)
    assert not any(client.is_alive() for client in clients), "a client hung"
    assert not errors, errors[0]

    # Only calls that were on the killed replica may fail: at most one per client.
    assert len(load.ok) + len(load.failed) == UPLOADS
    assert len(load.failed) <= CLIENTS, load.failed

    with httpx.Client(timeout=60) as http:
        for url, md5, thumb, _ in load.ok:
            served = http.get(url)
            assert served.status_code == 200, url
            assert hashlib.md5(served.content).hexdigest() == md5, url
            assert served.headers["content-type"] == "image/jpeg"
            assert http.get(thumb).status_code == 200, thumb
        for _, _, _, viewer in load.ok[::25]:  # the page shows the file from the bucket
            page = http.get(viewer)
            assert page.status_code == 200 and "/images/" in page.text, viewer

    report = subprocess.run(
        [sys.executable, "-m", "server", "fsck", "--json", "--grace-s", "0"],
        env=scaled.env, capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    found = json.loads(report.stdout)
    assert report.returncode == 0 and found["problems"] == 0, report.stdout
    # A replica killed after its insert and before its answer leaves a whole item its
    # client never heard of: more rows than answers, never fewer.
    assert len(load.ok) <= found["rows"] <= len(load.ok) + len(load.failed)
