"""`darkroom serve --replicas 2` on one PostgreSQL database: both replicas take uploads
(REST through the shim, native gRPC through Envoy), one killed with SIGKILL leaves
uploads working and comes back on its own, and a call that was on it fails cleanly."""

from __future__ import annotations

import json
import os
import signal
import threading
from collections.abc import Iterator
from pathlib import Path

import grpc
import httpx
import psutil
import pytest
from prometheus_client.parser import text_string_to_metric_families

from darkroom.v1 import media_pb2, media_pb2_grpc
from gateway.supervisor.probes import envoy_healthy_hosts, grpc_serving
from tests.support import media
from tests.support.server import POSTGRES_ENV, database_urls, postgres_database
from tests.support.stack import Stack, start_stack
from tests.support.waiting import wait_until

PHOTO = media.jpeg(320, 240, seed=23)
BOUND_S = 60.0  # a liveness bound for a loaded machine, not a speed target
SECOND = "grpc server 2"


def serve_replicas(data_dir: Path, database_url: str, replicas: int) -> Stack:
    """`darkroom serve --replicas N` as an operator types it: the flag wins over the setting."""
    return start_stack(
        data_dir,
        {"DARKROOM_DATABASE_URL": database_url, "DARKROOM_REPLICAS": "1"},
        serve_args=["--replicas", str(replicas)],
    )


@pytest.fixture(scope="module")
def pair(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    base = database_urls()["postgres"]
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set: replicas share a PostgreSQL database")
    with postgres_database(base) as url:
        stack = serve_replicas(tmp_path_factory.mktemp("replicas"), url, 2)
        try:
            yield stack
        finally:
            # A replica a test killed may still be on its way back.
            wait_until(lambda: psutil.pid_exists(stack.pid(SECOND)), BOUND_S, "replica 2 back")
            second = psutil.Process(stack.pid(SECOND))
            assert stack.stop() == 0
            _, alive = psutil.wait_procs([second], timeout=BOUND_S)
            assert not alive, "replica 2 left running after stop"


def rest_upload(stack: Stack) -> httpx.Response:
    with httpx.Client(base_url=stack.url, timeout=BOUND_S) as http:
        return http.post(
            "/api/1/upload",
            headers={"X-API-Key": stack.admin_key},
            files={"source": ("pair.jpg", PHOTO, "image/jpeg")},
        )


def grpc_upload(stack: Stack) -> media_pb2.UploadStreamResponse:
    def requests() -> Iterator[media_pb2.UploadStreamRequest]:
        yield media_pb2.UploadStreamRequest(options=media_pb2.UploadOptions(filename="p.jpg"))
        yield media_pb2.UploadStreamRequest(chunk=PHOTO)

    with stack.channel() as channel:
        return media_pb2_grpc.MediaServiceStub(channel).UploadStream(  # type: ignore[no-any-return]
            requests(), metadata=stack.admin_metadata(), timeout=BOUND_S
        )


def uploads_served(stack: Stack, name: str) -> float:
    """Uploads the replica's own /metrics counts (any outcome): its share of the work."""
    text = httpx.get(str(stack.ready["metrics"][name]), timeout=10).text  # type: ignore[index]
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == "darkroom_uploads_total"
    )


def test_the_ready_file_names_each_replica(pair: Stack) -> None:
    ready = json.loads((pair.data_dir / "ready.json").read_text())
    assert ready["replicas"] == 2
    assert len(set(ready["grpc_ports"])) == 2 and ready["grpc_port"] == ready["grpc_ports"][0]
    assert set(ready["pids"]) == {"grpc server", SECOND, "shim", "envoy"}
    assert {"server", "server 2", "shim", "envoy"} <= set(ready["metrics"])
    for port in ready["grpc_ports"]:
        assert grpc_serving(f"127.0.0.1:{port}")
    log = (pair.data_dir / "serve.log").read_text()
    assert "gRPC server replicas:   2" in log and "metrics (server 2):" in log


def test_both_replicas_take_uploads_through_rest_and_grpc(pair: Stack) -> None:
    before = {name: uploads_served(pair, name) for name in ("server", "server 2")}
    for _ in range(8):
        assert rest_upload(pair).status_code == 200
        assert grpc_upload(pair).media.id_encoded
    after = {name: uploads_served(pair, name) for name in ("server", "server 2")}
    assert sum(after.values()) - sum(before.values()) == 16
    # The shim goes round the replicas in turn, and Envoy sends each call to the less
    # busy one: neither replica is left out.
    assert all(after[name] > before[name] for name in after)


def _clean_unavailable(answer: httpx.Response) -> bool:
    body = answer.json()
    return (
        answer.status_code == 503
        and body["status_code"] == 503
        and bool(answer.headers.get("retry-after"))
    )


def test_a_killed_replica_leaves_uploads_working_and_comes_back(pair: Stack) -> None:
    others = {name: pair.pid(name) for name in ("grpc server", "shim", "envoy")}
    old = pair.pid(SECOND)
    os.kill(old, signal.SIGKILL)
    psutil.wait_procs([psutil.Process(old)], timeout=BOUND_S)
    # While it is down (and as it comes back) every upload is stored, or at worst told
    # plainly to retry; none hangs. One sent at the very moment the death is noticed
    # is never replayed (the dead replica may have stored it).
    stored = {"rest": 0, "grpc": 0}
    refused = 0
    for _ in range(6):
        answer = rest_upload(pair)
        if answer.status_code == 200:
            stored["rest"] += 1
        else:
            assert _clean_unavailable(answer), answer.text[:300]
            refused += 1
        try:
            grpc_upload(pair)
            stored["grpc"] += 1
        except grpc.RpcError as error:
            assert error.code() == grpc.StatusCode.UNAVAILABLE, error
            refused += 1
    assert stored["rest"] >= 5 and stored["grpc"] >= 5, (stored, refused)
    # The supervisor brought back that one only.
    wait_until(lambda: pair.pid(SECOND) != old, BOUND_S, "replica 2 restarted")
    assert {name: pair.pid(name) for name in others} == others
    port = pair.ready["grpc_ports"][1]  # type: ignore[index]
    wait_until(lambda: grpc_serving(f"127.0.0.1:{port}"), BOUND_S, "replica 2 serving")
    admin = str(pair.ready["envoy_admin"])
    wait_until(
        lambda: envoy_healthy_hosts(admin, "darkroom_grpc") == 2, BOUND_S, "envoy using both"
    )

    # And it takes its share again, from the shim and from Envoy.
    def rest_reaches_it() -> bool:
        assert rest_upload(pair).status_code == 200
        return uploads_served(pair, "server 2") > 0

    wait_until(rest_reaches_it, BOUND_S, "a REST upload on the new replica 2")
    via_rest = uploads_served(pair, "server 2")

    def grpc_reaches_it() -> bool:
        assert grpc_upload(pair).media.id_encoded
        return uploads_served(pair, "server 2") > via_rest

    wait_until(grpc_reaches_it, BOUND_S, "a gRPC upload on the new replica 2")


def _spooling(stack: Stack, name: str) -> int:
    """How many uploads' spool files the replica has open right now."""
    data = str(Path(stack.data_dir).resolve())
    files = psutil.Process(stack.pid(name)).open_files()
    return sum(1 for f in files if f.path.startswith(data) and not f.path.endswith(".log"))


def _holder(stack: Stack, names: list[str]) -> str | None:
    """The replica that has an upload's spool file open right now."""
    return next((name for name in names if _spooling(stack, name)), None)


class HeldUpload(threading.Thread):
    """A streamed upload through Envoy that sends its first chunk, then waits for
    ``release`` before it sends the rest."""

    def __init__(self, stack: Stack, release: threading.Event) -> None:
        super().__init__()
        self.stack, self.release = stack, release
        self.outcome: grpc.StatusCode | None = None

    def requests(self) -> Iterator[media_pb2.UploadStreamRequest]:
        yield media_pb2.UploadStreamRequest(options=media_pb2.UploadOptions(filename="h.jpg"))
        yield media_pb2.UploadStreamRequest(chunk=PHOTO[:1000])
        self.release.wait(BOUND_S)
        yield media_pb2.UploadStreamRequest(chunk=PHOTO[1000:])

    def run(self) -> None:
        with self.stack.channel() as channel:
            stub = media_pb2_grpc.MediaServiceStub(channel)
            try:
                stub.UploadStream(
                    self.requests(), metadata=self.stack.admin_metadata(), timeout=BOUND_S
                )
                self.outcome = grpc.StatusCode.OK
            except grpc.RpcError as error:
                self.outcome = error.code()


def test_an_upload_in_flight_on_a_killed_replica_fails_cleanly(pair: Stack) -> None:
    wait_until(
        lambda: envoy_healthy_hosts(str(pair.ready["envoy_admin"]), "darkroom_grpc") == 2,
        BOUND_S,
        "envoy using both replicas",
    )
    release = threading.Event()  # the rest of the upload never comes while the test runs
    uploader = HeldUpload(pair, release)
    uploader.start()
    try:
        names = ["grpc server", SECOND]
        wait_until(lambda: _holder(pair, names) is not None, BOUND_S, "the upload spooling")
        holder = _holder(pair, names)
        assert holder is not None
        killed = pair.pid(holder)
        os.kill(killed, signal.SIGKILL)
        uploader.join(BOUND_S)
        assert not uploader.is_alive(), "the in-flight upload hung on a dead replica"
    finally:
        release.set()
        uploader.join(BOUND_S)
    assert uploader.outcome == grpc.StatusCode.UNAVAILABLE
    assert rest_upload(pair).status_code in (200, 503)
    wait_until(lambda: pair.pid(holder) != killed, BOUND_S, f"{holder} restarted")


def test_sigterm_drains_every_replica_at_once(tmp_path: Path) -> None:
    """Uploads in flight on both replicas when SIGTERM comes: both replicas go NOT_SERVING
    together, and every upload still finishes and is answered before serve exits 0."""
    base = database_urls()["postgres"]
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set: replicas share a PostgreSQL database")
    with postgres_database(base) as url:
        stack = serve_replicas(tmp_path / "drain", url, 2)
        names = ["grpc server", SECOND]
        release = threading.Event()
        held: list[HeldUpload] = []
        try:

            def both_hold_one() -> bool:
                if not all(_spooling(stack, name) for name in names):
                    assert len(held) < 12, "Envoy kept sending every upload to one replica"
                    held.append(HeldUpload(stack, release))
                    held[-1].start()
                    wait_until(
                        lambda: sum(_spooling(stack, n) for n in names) == len(held),
                        BOUND_S, "the new upload spooling",
                    )  # fmt: skip
                return all(_spooling(stack, name) for name in names)

            wait_until(both_hold_one, BOUND_S, "an upload in flight on each replica")
            ports = stack.ready["grpc_ports"]
            assert isinstance(ports, list)
            stack.process.send_signal(signal.SIGTERM)
            wait_until(
                lambda: not any(grpc_serving(f"127.0.0.1:{port}") for port in ports),
                BOUND_S, "both replicas draining",
            )  # fmt: skip
        finally:
            release.set()
            for upload in held:
                upload.join(BOUND_S)
            if stack.process.poll() is None:
                stack.process.send_signal(signal.SIGTERM)  # drains, if the test did not
        assert [upload.outcome for upload in held] == [grpc.StatusCode.OK] * len(held)
        assert stack.process.wait(timeout=BOUND_S) == 0
