"""The real grpc.aio server in the test's own process, on SQLite in a temp directory.

``create_server`` builds it exactly as ``darkroom server`` does; the first admin comes
from the admin service, as the CLI makes it. Calls go over a real aio channel, so the
servicers, the error statuses and the wire format are all the production ones.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from darkroom.v1 import admin_pb2_grpc, media_pb2, media_pb2_grpc
from server.app import App, create_server
from server.config import ServerConfig
from tests.support.media import jpeg

BASE_URL = "http://darkroom.test/"


@dataclass
class Darkroom:
    app: App
    channel: grpc.aio.Channel
    admin_key: str
    media: media_pb2_grpc.MediaServiceStub
    admin: admin_pb2_grpc.AdminServiceStub

    @property
    def media_root(self) -> Path:
        return self.app.services.config.media_dir

    def stored_files(self) -> list[str]:
        images = self.media_root / "images"
        return sorted(str(p.relative_to(self.media_root)) for p in images.rglob("*.*"))

    async def new_user(self, name: str, *, is_admin: bool = False) -> str:
        _, key = await self.app.services.admin.create_user(name, is_admin=is_admin)
        return key

    async def upload(self, key: str, data: bytes | None = None, **options: Any) -> media_pb2.Media:
        request = media_pb2.UploadRequest(
            file=data if data is not None else small_jpeg(),
            options=media_pb2.UploadOptions(**options),
        )
        reply: media_pb2.UploadResponse = await self.media.Upload(request, metadata=as_key(key))
        return reply.media


def as_key(key: str) -> list[tuple[str, str]]:
    return [("x-api-key", key)]


def small_jpeg(seed: int = 1) -> bytes:
    return jpeg(64, 48, seed)


@dataclass
class Failure:
    """A failed call as its google.rpc.Status tells it."""

    code: grpc.StatusCode
    message: str
    reason: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    violations: list[tuple[str, str]] = field(default_factory=list)

    @property
    def chevereto(self) -> tuple[int, str]:
        return int(self.metadata["chevereto_code"]), self.metadata["chevereto_message"]


async def failure(call: Any) -> Failure:
    """Await a call that must fail, and read its status with grpcio-status."""
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await call
    # grpc_status-stubs do not declare the aio module.
    status = await rpc_status.aio.from_call(call)  # type: ignore[attr-defined]
    assert status is not None, f"no google.rpc.Status in {raised.value!r}"
    assert status.code == raised.value.code().value[0]
    assert status.message == raised.value.details()
    result = Failure(raised.value.code(), status.message)
    for detail in status.details:
        info, bad = error_details_pb2.ErrorInfo(), error_details_pb2.BadRequest()
        if detail.Unpack(info):
            assert info.domain == "darkroom.v1"
            result.reason, result.metadata = info.reason, dict(info.metadata)
        elif detail.Unpack(bad):
            result.violations = [(v.field, v.description) for v in bad.field_violations]
    return result


@asynccontextmanager
async def running_darkroom(tmp_path: Path) -> AsyncIterator[Darkroom]:
    config = ServerConfig(
        data_dir=tmp_path,
        database_url=f"sqlite:///{tmp_path / 'darkroom.db'}",
        grpc_host="127.0.0.1",
        grpc_port=0,
        public_base_url=BASE_URL,
        processing_workers=2,
        reaper_interval_s=3600,
        metrics_port=0,  # a free port: servers of tests running side by side never clash
    )
    app = await create_server(config)
    channel = grpc.aio.insecure_channel(f"127.0.0.1:{app.port}")
    try:
        _, admin_key = await app.services.admin.create_user("root", is_admin=True)
        yield Darkroom(
            app,
            channel,
            admin_key,
            media_pb2_grpc.MediaServiceStub(channel),
            admin_pb2_grpc.AdminServiceStub(channel),
        )
    finally:
        await channel.close(grace=None)
        await app.stop(grace=0)
