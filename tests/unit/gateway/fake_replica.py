"""A stand-in gRPC server replica, run as its own process so a test can SIGKILL it.

``python -m tests.unit.gateway.fake_replica NAME`` prints ``port N`` once it serves,
answers WhoAmI with ``username=NAME`` and Upload with ``name=NAME``, prints ``upload``
when an UploadStream arrives (and then holds it open), and on SIGUSR1 says NOT_SERVING
as a draining server does.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from collections.abc import AsyncIterator
from typing import Any

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1._async import HealthServicer

from darkroom.v1 import media_pb2, media_pb2_grpc

Context = grpc.aio.ServicerContext[Any, Any]


class Replica(media_pb2_grpc.MediaServiceServicer):
    def __init__(self, name: str) -> None:
        self.name = name

    async def WhoAmI(
        self, request: media_pb2.WhoAmIRequest, context: Context
    ) -> media_pb2.WhoAmIResponse:
        return media_pb2.WhoAmIResponse(kind="user", username=self.name)

    async def Upload(
        self, request: media_pb2.UploadRequest, context: Context
    ) -> media_pb2.UploadResponse:
        return media_pb2.UploadResponse(media=media_pb2.Media(name=self.name))

    async def UploadStream(
        self, request_iterator: AsyncIterator[media_pb2.UploadStreamRequest], context: Context
    ) -> media_pb2.UploadStreamResponse:
        await anext(aiter(request_iterator))
        print("upload", flush=True)
        await asyncio.Event().wait()  # until the test kills this process
        raise AssertionError("unreachable")


async def main(name: str) -> None:
    server = grpc.aio.server()
    health = HealthServicer()
    media_pb2_grpc.add_MediaServiceServicer_to_server(Replica(name), server)
    health_pb2_grpc.add_HealthServicer_to_server(health, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    await health.set("", health_pb2.HealthCheckResponse.SERVING)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(
        signal.SIGUSR1,
        lambda: loop.create_task(health.set("", health_pb2.HealthCheckResponse.NOT_SERVING)),
    )
    print(f"port {port}", flush=True)
    await server.wait_for_termination()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
