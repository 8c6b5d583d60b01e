"""P1's floor: the same ingest pipeline, called in this process with no transport at all."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from server.app import build_services
from server.config import ServerConfig
from server.domain.caller import Caller, CallerKind
from server.domain.upload import FileSource, UploadOptions


async def _one_chunk(data: bytes):  # type: ignore[no-untyped-def]
    yield data


async def _run(photo: bytes, data_dir: Path, seconds: int, concurrency: int) -> float:
    services = await build_services(ServerConfig(data_dir=data_dir, grpc_port=0))
    try:
        user, _ = await services.admin.create_user("bench", is_admin=True)
        caller = Caller(CallerKind.ADMIN, user.id, user.username)
        options = UploadOptions(filename="p1.jpg")

        async def one() -> None:
            await services.ingest.upload(caller, FileSource(_one_chunk(photo)), options)

        for _ in range(4):
            await one()
        done = 0
        deadline = time.monotonic() + seconds
        start = time.monotonic()

        async def worker() -> None:
            nonlocal done
            while time.monotonic() < deadline:
                await one()
                done += 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return done / (time.monotonic() - start)
    finally:
        services.pool.shutdown()
        services.engine.dispose()


def pipeline_uploads_per_second(
    photo: bytes, data_dir: Path, seconds: int, concurrency: int
) -> float:
    return asyncio.run(_run(photo, data_dir, seconds, concurrency))
