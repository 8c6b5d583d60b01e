"""The shim's gRPC client against a real grpc.aio server: what a failed call becomes.

The fake MediaService answers with statuses built here, the way any server
following the proto's error contract would, so the shim is tested on the wire
format alone, not on the server's code.
"""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
import pytest_asyncio
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from darkroom.v1 import media_pb2, media_pb2_grpc
from gateway.shim.grpc_client import CallFailed, DarkroomClient

Context = grpc.aio.ServicerContext[Any, Any]
MAX_MESSAGE = 64 * 1024


def darkroom_status(
    code: grpc.StatusCode, message: str, reason: str = "", **metadata: str
) -> status_pb2.Status:
    status = status_pb2.Status(code=code.value[0], message=message)
    if reason:
        info = error_details_pb2.ErrorInfo(reason=reason, domain="darkroom.v1", metadata=metadata)
        status.details.add().Pack(info)
    return status


class FakeMedia(media_pb2_grpc.MediaServiceServicer):
    def __init__(self) -> None:
        self.status: status_pb2.Status | None = None
        self.metadata: dict[str, str] = {}
        self.stream: list[str] = []

    async def _answer(self, context: Context) -> None:
        self.metadata = {key: str(value) for key, value in context.invocation_metadata() or ()}
        if self.status is not None:
            await context.abort_with_status(rpc_status.to_status(self.status))  # type: ignore[attr-defined]

    async def GetMedia(
        self, request: media_pb2.GetMediaRequest, context: Context
    ) -> media_pb2.GetMediaResponse:
        await self._answer(context)
        return media_pb2.GetMediaResponse(media=media_pb2.Media(id_encoded=request.id))

    async def Upload(
        self, request: media_pb2.UploadRequest, context: Context
    ) -> media_pb2.UploadResponse:
        await self._answer(context)
        return media_pb2.UploadResponse(media=media_pb2.Media(size=len(request.base64)))

    async def UploadStream(
        self, request_iterator: AsyncIterator[media_pb2.UploadStreamRequest], context: Context
    ) -> media_pb2.UploadStreamResponse:
        async for message in request_iterator:
            part = message.WhichOneof("part")
            self.stream.append(message.chunk.decode() if part == "chunk" else part or "")
        await self._answer(context)
        return media_pb2.UploadStreamResponse(media=media_pb2.Media(name="streamed"))


@pytest_asyncio.fixture
async def served() -> AsyncIterator[tuple[FakeMedia, DarkroomClient]]:
    fake = FakeMedia()
    server = grpc.aio.server()
    media_pb2_grpc.add_MediaServiceServicer_to_server(fake, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    client = DarkroomClient(f"127.0.0.1:{port}", 5.0, MAX_MESSAGE)
    try:
        yield fake, client
    finally:
        await client.close()
        await server.stop(grace=None)


async def failure(client: DarkroomClient) -> CallFailed:
    with pytest.raises(CallFailed) as raised:
        await client.get_media("Ab12")
    return raised.value


@pytest.mark.asyncio
async def test_the_chevereto_pair_comes_from_error_info(
    served: tuple[FakeMedia, DarkroomClient],
) -> None:
    fake, client = served
    fake.status = darkroom_status(
        grpc.StatusCode.NOT_FOUND,
        "That media doesn't exist",
        "MEDIA_NOT_FOUND",
        chevereto_code="404",
        chevereto_message="That media doesn't exist",
        id="Ab12",
    )
    failed = await failure(client)
    assert failed == CallFailed(
        404, "That media doesn't exist", "MEDIA_NOT_FOUND", grpc.StatusCode.NOT_FOUND
    )
    assert failed.http_status == 400


@pytest.mark.asyncio
async def test_error_info_without_the_pair_falls_back_to_the_status(
    served: tuple[FakeMedia, DarkroomClient],
) -> None:
    fake, client = served
    fake.status = darkroom_status(grpc.StatusCode.INVALID_ARGUMENT, "Bad thing", "SOMETHING_NEW")
    failed = await failure(client)
    assert (failed.code, failed.message, failed.reason) == (0, "Bad thing", "SOMETHING_NEW")


@pytest.mark.asyncio
async def test_a_server_error_that_is_unavailable_is_still_a_chevereto_400(
    served: tuple[FakeMedia, DarkroomClient],
) -> None:
    fake, client = served
    fake.status = darkroom_status(
        grpc.StatusCode.UNAVAILABLE,
        "Can't fetch target upload source",
        "URL_FETCH_FAILED",
        chevereto_code="202",
        chevereto_message="Can't fetch target upload source",
    )
    failed = await failure(client)
    assert (failed.code, failed.reason, failed.http_status) == (202, "URL_FETCH_FAILED", 400)


@pytest.mark.asyncio
async def test_a_status_without_details_is_internal(
    served: tuple[FakeMedia, DarkroomClient],
) -> None:
    fake, client = served
    fake.status = darkroom_status(grpc.StatusCode.INTERNAL, "Internal error")
    failed = await failure(client)
    assert failed == CallFailed(500, "Internal error", "", grpc.StatusCode.INTERNAL)


@pytest.mark.asyncio
async def test_a_message_the_transport_refuses_is_file_too_big(
    served: tuple[FakeMedia, DarkroomClient],
) -> None:
    _, client = served
    request = media_pb2.UploadRequest(base64="A" * (MAX_MESSAGE + 1))
    with pytest.raises(CallFailed) as raised:
        await client.upload(request, "key")
    assert raised.value == CallFailed(
        400, "File too big", "MESSAGE_TOO_LARGE", grpc.StatusCode.RESOURCE_EXHAUSTED
    )


@pytest.mark.asyncio
async def test_no_server_is_service_unavailable() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = DarkroomClient(f"127.0.0.1:{port}", 2.0, MAX_MESSAGE)
    try:
        failed = await failure(client)
    finally:
        await client.close()
    assert failed == CallFailed(503, "Service unavailable", "", grpc.StatusCode.UNAVAILABLE)
    assert failed.http_status == 503


@pytest.mark.asyncio
async def test_key_and_forwarded_address_travel_as_metadata(
    served: tuple[FakeMedia, DarkroomClient],
) -> None:
    fake, client = served
    reply = await client.upload(media_pb2.UploadRequest(base64="QUJD"), "k3y", "203.0.113.9")
    assert reply.size == 4
    assert (fake.metadata["x-api-key"], fake.metadata["x-forwarded-for"]) == ("k3y", "203.0.113.9")
    await client.get_media("Ab12")
    assert "x-api-key" not in fake.metadata and "x-forwarded-for" not in fake.metadata


@pytest.mark.asyncio
async def test_a_stream_sends_options_chunks_then_late_options(
    served: tuple[FakeMedia, DarkroomClient],
) -> None:
    fake, client = served

    async def chunks() -> AsyncIterator[bytes]:
        yield b"one"
        yield b"two"

    media = await client.upload_stream(
        media_pb2.UploadOptions(), chunks(), lambda: media_pb2.UploadOptions(title="t"), "k"
    )
    assert media.name == "streamed"
    assert fake.stream == ["options", "one", "two", "late_options"]


@pytest.mark.asyncio
async def test_a_failed_stream_is_read_like_a_failed_call(
    served: tuple[FakeMedia, DarkroomClient],
) -> None:
    fake, client = served
    fake.status = darkroom_status(
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "File too big",
        "FILE_TOO_BIG",
        chevereto_code="400",
        chevereto_message="File too big",
    )

    async def chunks() -> AsyncIterator[bytes]:
        yield b"data"

    with pytest.raises(CallFailed) as raised:
        await client.upload_stream(media_pb2.UploadOptions(), chunks(), lambda: None, "k")
    assert (raised.value.code, raised.value.reason) == (400, "FILE_TOO_BIG")
