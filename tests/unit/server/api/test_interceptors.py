"""The server's access log and metrics, on the real grpc.aio server in this process.

``create_server`` wires the interceptor, the observed authenticator and the metrics
exactly as ``darkroom server`` does; calls go over a real aio channel and the metrics
are read by scraping the server's own /metrics port.
"""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import pytest
import pytest_asyncio
from prometheus_client.parser import text_string_to_metric_families

from darkroom.v1 import media_pb2, media_pb2_grpc
from server.api.interceptors import USER_ID
from server.app import App, create_server
from server.config import ServerConfig
from tests.support.media import jpeg

WRONG_KEY = "not-a-key-of-anyone"


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.lines: list[dict[str, object]] = []
        self.raw: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.raw.append(record.getMessage())
        self.lines.append(json.loads(record.getMessage()))


@dataclass
class Observed:
    app: App
    media: media_pb2_grpc.MediaServiceStub
    admin_key: str
    log: _Lines
    channel: grpc.aio.Channel = field(repr=False)

    def rpc_lines(self, rpc: str) -> list[dict[str, object]]:
        return [line for line in self.log.lines if line["rpc"] == rpc]

    async def scrape(self) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
        url = f"http://127.0.0.1:{self.app.metrics_port}/metrics"

        def fetch() -> str:
            with urllib.request.urlopen(url, timeout=10) as reply:
                return str(reply.read().decode())

        samples = {}
        for family in text_string_to_metric_families(await asyncio.to_thread(fetch)):
            for sample in family.samples:
                samples[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
        return samples


def _value(
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float], name: str, **labels: str
) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest_asyncio.fixture
async def observed(tmp_path: Path) -> AsyncIterator[Observed]:
    config = ServerConfig(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'darkroom.db'}",
        grpc_port=0,
        metrics_port=0,
        public_base_url="http://darkroom.test/",
        processing_workers=1,
        reaper_interval_s=3600,
    )
    lines = _Lines()
    access = logging.getLogger("darkroom.access")
    app = await create_server(config)
    access.addHandler(lines)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{app.port}")
    try:
        _, admin_key = await app.services.admin.create_user("root", is_admin=True)
        yield Observed(app, media_pb2_grpc.MediaServiceStub(channel), admin_key, lines, channel)
    finally:
        access.removeHandler(lines)
        await channel.close(grace=None)
        await app.stop(grace=0)


WHOAMI = "/darkroom.v1.MediaService/WhoAmI"
UPLOAD = "/darkroom.v1.MediaService/Upload"


@pytest.mark.asyncio
async def test_one_line_per_call_under_the_request_id_it_came_with(observed: Observed) -> None:
    metadata = [("x-api-key", observed.admin_key), ("x-request-id", "req-42.a:b")]
    await observed.media.WhoAmI(media_pb2.WhoAmIRequest(), metadata=metadata)
    [line] = observed.rpc_lines(WHOAMI)
    assert line["request_id"] == "req-42.a:b"
    assert line["component"] == "server"
    assert (line["caller"], line["user_id"]) == ("admin", 1)
    assert (line["grpc_code"], line["chevereto_code"]) == ("OK", 200)
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert observed.admin_key not in observed.log.raw[-1]


@pytest.mark.asyncio
async def test_a_refused_call_is_logged_with_both_codes_and_no_key(observed: Observed) -> None:
    with pytest.raises(grpc.aio.AioRpcError):
        await observed.media.WhoAmI(media_pb2.WhoAmIRequest(key=WRONG_KEY))
    [line] = observed.rpc_lines(WHOAMI)
    assert (line["grpc_code"], line["chevereto_code"]) == ("UNAUTHENTICATED", 100)
    assert (line["caller"], line["user_id"]) == (None, None)
    assert all(WRONG_KEY not in raw for raw in observed.log.raw)


@pytest.mark.asyncio
async def test_a_call_without_a_usable_request_id_gets_a_fresh_one(observed: Observed) -> None:
    key = [("x-api-key", observed.admin_key)]
    await observed.media.WhoAmI(media_pb2.WhoAmIRequest(), metadata=key)
    forged = '"},{"user_id":1'
    await observed.media.WhoAmI(
        media_pb2.WhoAmIRequest(), metadata=[*key, ("x-request-id", forged)]
    )
    first, second = (str(line["request_id"]) for line in observed.rpc_lines(WHOAMI))
    assert first != second
    assert all(len(rid) == 32 and int(rid, 16) >= 0 for rid in (first, second))


@pytest.mark.asyncio
async def test_the_caller_goes_back_in_the_trailers_even_of_a_failed_call(
    observed: Observed,
) -> None:
    call = observed.media.WhoAmI(
        media_pb2.WhoAmIRequest(), metadata=[("x-api-key", observed.admin_key)]
    )
    await call
    assert (USER_ID, "1") in list(await call.trailing_metadata())
    with pytest.raises(grpc.aio.AioRpcError) as refused:
        await observed.media.Upload(
            media_pb2.UploadRequest(file=b"not an image"),
            metadata=[("x-api-key", observed.admin_key)],
        )
    trailers: dict[str, object] = dict(refused.value.trailing_metadata() or ())  # type: ignore[arg-type]
    assert trailers[USER_ID] == "1" and "grpc-status-details-bin" in trailers


@pytest.mark.asyncio
async def test_health_checks_are_counted_not_logged(observed: Observed) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc

    await health_pb2_grpc.HealthStub(observed.channel).Check(health_pb2.HealthCheckRequest())
    assert observed.log.lines == []
    samples = await observed.scrape()
    assert (
        _value(
            samples,
            "darkroom_grpc_requests_total",
            service="grpc.health.v1.Health",
            method="Check",
            grpc_code="OK",
            chevereto_code="200",
        )
        == 1
    )


@pytest.mark.asyncio
async def test_uploads_move_the_counters_and_every_stage(observed: Observed) -> None:
    key = [("x-api-key", observed.admin_key)]
    photo = jpeg(640, 480, seed=5)
    await observed.media.Upload(media_pb2.UploadRequest(file=photo), metadata=key)
    with pytest.raises(grpc.aio.AioRpcError):
        await observed.media.Upload(media_pb2.UploadRequest(file=b"plain text"), metadata=key)
    with pytest.raises(grpc.aio.AioRpcError):
        await observed.media.Upload(
            media_pb2.UploadRequest(file=photo), metadata=[("x-api-key", WRONG_KEY)]
        )
    samples = await observed.scrape()

    uploads = "darkroom_uploads_total"
    assert _value(samples, uploads, outcome="200", reason="OK", kind="image", format="jpeg") == 1
    assert (
        _value(
            samples,
            uploads,
            outcome="610",
            reason="SOURCE_INFO_UNREADABLE",
            kind="unknown",
            format="unknown",
        )
        == 1
    )
    # A wrong key never reaches the pipeline: the RPC counter has it.
    assert (
        _value(
            samples,
            "darkroom_grpc_requests_total",
            service="darkroom.v1.MediaService",
            method="Upload",
            grpc_code="UNAUTHENTICATED",
            chevereto_code="100",
        )
        == 1
    )
    for stage in ("spool", "sniff", "probe", "decode", "strip", "variants", "store", "record"):
        count = _value(samples, "darkroom_upload_stage_duration_seconds_count", stage=stage)
        assert count >= 1, stage
    assert _value(samples, "darkroom_upload_received_bytes_total") == len(photo) + len(
        b"plain text"
    )
    assert _value(samples, "darkroom_upload_stored_bytes_total") > 0
    assert (
        _value(
            samples,
            "darkroom_grpc_request_duration_seconds_count",
            service="darkroom.v1.MediaService",
            method="Upload",
        )
        == 3
    )
    assert _value(samples, "darkroom_workers") == 1
    assert _value(samples, "darkroom_worker_queue_depth") == 0
    assert observed.admin_key not in "".join(observed.log.raw)
    assert [line["chevereto_code"] for line in observed.rpc_lines(UPLOAD)] == [200, 610, 100]
