"""The shim's access log and metrics: the real app and gRPC client against a grpc.aio server.

The server here answers as Darkroom's does (the caller in the trailers, errors as a
google.rpc.Status) and records the metadata it was sent, so the test sees the request
id cross from the HTTP request into the gRPC call.
"""

from __future__ import annotations

import asyncio
import json
import logging
import urllib.request
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest
import pytest_asyncio
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status
from prometheus_client.parser import text_string_to_metric_families

from darkroom.v1 import media_pb2, media_pb2_grpc
from gateway.shim.app import create_app
from gateway.shim.config import ShimConfig
from gateway.shim.grpc_client import DarkroomClient
from gateway.shim.observability import ShimMetrics

Context = grpc.aio.ServicerContext[Any, Any]
KEY = "dr_user_key_never_to_be_logged"
TOKEN = "delete-token-never-to-be-logged"


class Darkroom(media_pb2_grpc.MediaServiceServicer):
    def __init__(self) -> None:
        self.metadata: list[dict[str, str]] = []

    async def WhoAmI(
        self, request: media_pb2.WhoAmIRequest, context: Context
    ) -> media_pb2.WhoAmIResponse:
        self.metadata.append({k: str(v) for k, v in context.invocation_metadata() or ()})
        context.set_trailing_metadata([("darkroom-caller", "user"), ("darkroom-user-id", "7")])
        return media_pb2.WhoAmIResponse(kind="user", username="ann", can_upload=True)

    async def GetMedia(
        self, request: media_pb2.GetMediaRequest, context: Context
    ) -> media_pb2.GetMediaResponse:
        self.metadata.append({k: str(v) for k, v in context.invocation_metadata() or ()})
        # As Darkroom fails: a google.rpc.Status in binary trailers, beside the caller's.
        status = status_pb2.Status(code=grpc.StatusCode.NOT_FOUND.value[0], message="gone")
        status.details.add().Pack(
            error_details_pb2.ErrorInfo(reason="MEDIA_NOT_FOUND", domain="darkroom.v1")
        )
        rich = rpc_status.to_status(status)
        trailers = (*rich.trailing_metadata, ("darkroom-caller", "guest"))
        await context.abort(rich.code, rich.details, trailing_metadata=trailers)
        raise AssertionError("abort() returned")


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.raw: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.raw.append(record.getMessage())

    @property
    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(raw) for raw in self.raw]


@dataclass
class Shim:
    http: httpx.AsyncClient
    darkroom: Darkroom
    metrics: ShimMetrics
    log: _Lines


@pytest_asyncio.fixture
async def shim(tmp_path: Path) -> AsyncIterator[Shim]:
    darkroom = Darkroom()
    server = grpc.aio.server()
    media_pb2_grpc.add_MediaServiceServicer_to_server(darkroom, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    client = DarkroomClient(f"127.0.0.1:{port}", 5.0, 64 * 1024)
    metrics = ShimMetrics()
    app = create_app(ShimConfig(spool_dir=tmp_path / "spool"), client=client, metrics=metrics)
    lines = _Lines()
    access = logging.getLogger("darkroom.shim.access")
    access.addHandler(lines)
    transport = httpx.ASGITransport(app=app, client=("203.0.113.9", 40000))
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://shim.test") as http:
            yield Shim(http, darkroom, metrics, lines)
    finally:
        access.removeHandler(lines)
        await client.close()
        await server.stop(None)


@pytest.mark.asyncio
async def test_the_request_id_goes_on_to_the_server_and_into_the_line(shim: Shim) -> None:
    answer = await shim.http.get(
        f"/api/1/nothing?key={KEY}", headers={"x-request-id": "envoy-made-this-1"}
    )
    assert answer.json()["error"]["code"] == 120  # Invalid API action, after a WhoAmI
    assert shim.darkroom.metadata[-1]["x-request-id"] == "envoy-made-this-1"
    [line] = shim.log.lines
    assert line["request_id"] == "envoy-made-this-1"
    assert (line["component"], line["method"], line["route"]) == ("shim", "GET", "/api/{rest:path}")
    assert (line["status"], line["chevereto_code"], line["grpc_code"]) == (400, 120, "OK")
    assert (line["caller"], line["user_id"]) == ("user", 7)
    assert isinstance(line["duration_ms"], float)
    assert KEY not in shim.log.raw[0]
    assert (
        shim.metrics.registry.get_sample_value(
            "darkroom_shim_requests_total",
            {
                "route": "/api/{rest:path}",
                "method": "GET",
                "status": "400",
                "chevereto_code": "120",
            },
        )
        == 1
    )


@pytest.mark.asyncio
async def test_a_delete_link_is_logged_by_its_route_never_its_token(shim: Shim) -> None:
    await shim.http.get(f"/image/Ab12/delete/{TOKEN}")
    [line] = shim.log.lines
    assert line["route"] == "/image/{id}/delete/{token}"
    assert (line["grpc_code"], line["caller"]) == ("NOT_FOUND", "guest")
    assert TOKEN not in shim.log.raw[0]
    # Without an id from Envoy the shim makes one, and the server gets that.
    assert line["request_id"] == shim.darkroom.metadata[-1]["x-request-id"]


@pytest.mark.asyncio
async def test_health_checks_are_counted_not_logged_and_metrics_are_served(shim: Shim) -> None:
    assert (await shim.http.get("/healthz")).status_code == 200
    assert shim.log.raw == []
    port = shim.metrics.serve("127.0.0.1", 0)
    try:

        def scrape() -> str:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=10) as reply:
                return str(reply.read().decode())

        families = {
            f.name: f for f in text_string_to_metric_families(await asyncio.to_thread(scrape))
        }
    finally:
        shim.metrics.close()
    [health] = [s for s in families["darkroom_shim_requests"].samples if s.name.endswith("_total")]
    assert health.labels["route"] == "/healthz" and health.value == 1
    durations = families["darkroom_shim_request_duration_seconds"].samples
    assert any(s.name.endswith("_count") and s.value == 1 for s in durations)
