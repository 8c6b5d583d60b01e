"""The shim's only way to Darkroom: gRPC calls, with errors read from their details."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any, cast

import grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from darkroom.v1 import media_pb2, media_pb2_grpc
from gateway.shim import observability


@dataclass
class CallFailed(Exception):
    """A failed call, as Chevereto would word it."""

    code: int
    message: str
    reason: str
    grpc_code: grpc.StatusCode

    @property
    def http_status(self) -> int:
        # Chevereto answers 400 for every API error; only a server that cannot be
        # reached is reported as unavailable.
        return 503 if self.grpc_code == grpc.StatusCode.UNAVAILABLE and not self.reason else 400


def _failure(error: grpc.aio.AioRpcError) -> CallFailed:
    # A finished call's error answers code(), details() and trailing_metadata()
    # synchronously, all that from_call reads.
    status = rpc_status.from_call(cast(grpc.Call, error))
    for detail in status.details if status is not None else ():
        info = error_details_pb2.ErrorInfo()
        if detail.Unpack(info):
            return CallFailed(
                int(info.metadata.get("chevereto_code", "0")),
                info.metadata.get("chevereto_message", status.message),
                info.reason,
                error.code(),
            )
    if error.code() == grpc.StatusCode.UNAVAILABLE:
        return CallFailed(503, "Service unavailable", "", error.code())
    if error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED:
        # Refused by the transport (message size) before the server saw it.
        return CallFailed(400, "File too big", "MESSAGE_TOO_LARGE", error.code())
    return CallFailed(500, "Internal error", "", error.code())


async def _observed(call: Any) -> Any:
    """The call's reply; its code and the caller the server named (in the trailers) go to
    the access log."""
    try:
        reply = await call
    except grpc.aio.AioRpcError as error:
        observability.note_call(error.code().name, error.trailing_metadata())
        raise _failure(error) from error
    observability.note_call("OK", await call.trailing_metadata())
    return reply


# The target may name several servers (``ipv4:10.0.0.1:50051,10.0.0.2:50051``, or a DNS
# name with several addresses): each call goes to the next server whose gRPC health says
# SERVING, so a dead, starting or draining replica gets no new calls. A call already on a
# replica that dies (or sent in the moment before its death is noticed) fails with
# UNAVAILABLE, which the shim answers as a 503: an upload is not idempotent, so only
# reads are tried again, on another replica.
_READS = [{"service": "darkroom.v1.MediaService", "method": m} for m in ("GetMedia", "WhoAmI")]
SERVICE_CONFIG = json.dumps(
    {
        "loadBalancingConfig": [{"round_robin": {}}],
        "healthCheckConfig": {"serviceName": ""},
        "methodConfig": [
            {
                "name": _READS,
                "retryPolicy": {
                    "maxAttempts": 3,
                    "initialBackoff": "0.1s",
                    "maxBackoff": "1s",
                    "backoffMultiplier": 2,
                    "retryableStatusCodes": ["UNAVAILABLE"],
                },
            }
        ],
    }
)
# A replica restarted on its port gets calls again within seconds, not gRPC's default
# two minutes of back-off.
MAX_RECONNECT_BACKOFF_MS = 2000


class DarkroomClient:
    def __init__(self, target: str, timeout_s: float, max_message_bytes: int) -> None:
        self._target = target
        self._timeout_s = timeout_s
        # Files stream in chunks; only base64 and URL sources travel in one message.
        self._max_message = max_message_bytes
        self._channel: grpc.aio.Channel | None = None
        self._stub: media_pb2_grpc.MediaServiceStub | None = None

    @property
    def _media(self) -> media_pb2_grpc.MediaServiceStub:
        # Made on first use: an aio channel belongs to the event loop it is created in,
        # which only exists once the ASGI server runs.
        if self._stub is None:
            self._channel = grpc.aio.insecure_channel(
                self._target,
                options=[
                    ("grpc.max_send_message_length", self._max_message),
                    ("grpc.max_receive_message_length", self._max_message),
                    ("grpc.service_config", SERVICE_CONFIG),
                    ("grpc.initial_reconnect_backoff_ms", MAX_RECONNECT_BACKOFF_MS // 4),
                    ("grpc.max_reconnect_backoff_ms", MAX_RECONNECT_BACKOFF_MS),
                ],
            )
            self._stub = media_pb2_grpc.MediaServiceStub(self._channel)  # type: ignore[no-untyped-call]
        return self._stub

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close(grace=None)
        self._channel = self._stub = None

    def _metadata(self, key: str | None, forwarded_for: str = "") -> list[tuple[str, str]]:
        metadata = [] if key is None else [("x-api-key", key)]
        request_id = observability.request_id()
        if request_id:
            # The id Envoy gave the request: the server logs its line under it too.
            metadata.append((observability.REQUEST_ID, request_id))
        if forwarded_for:
            # Where Envoy saw the request come from: flood limits count per address.
            metadata.append(("x-forwarded-for", forwarded_for))
        return metadata

    async def _call(
        self, method: Any, request: Any, key: str | None, forwarded_for: str = ""
    ) -> Any:
        call = method(request, metadata=self._metadata(key, forwarded_for), timeout=self._timeout_s)
        return await _observed(call)

    async def upload(
        self, request: media_pb2.UploadRequest, key: str, forwarded_for: str = ""
    ) -> media_pb2.Media:
        reply = await self._call(self._media.Upload, request, key, forwarded_for)
        return reply.media  # type: ignore[no-any-return]

    async def upload_stream(
        self,
        options: media_pb2.UploadOptions,
        chunks: AsyncIterator[bytes],
        late_options: Callable[[], media_pb2.UploadOptions | None],
        key: str,
        forwarded_for: str = "",
    ) -> media_pb2.Media:
        async def requests() -> AsyncIterator[media_pb2.UploadStreamRequest]:
            yield media_pb2.UploadStreamRequest(options=options)
            async for chunk in chunks:
                yield media_pb2.UploadStreamRequest(chunk=chunk)
            late = late_options()
            if late is not None:
                yield media_pb2.UploadStreamRequest(late_options=late)

        call = self._media.UploadStream(
            requests(), metadata=self._metadata(key, forwarded_for), timeout=self._timeout_s
        )
        reply = await _observed(call)
        return reply.media  # type: ignore[no-any-return]

    async def get_media(self, id_encoded: str) -> media_pb2.Media:
        reply = await self._call(
            self._media.GetMedia, media_pb2.GetMediaRequest(id=id_encoded), None
        )
        return reply.media  # type: ignore[no-any-return]

    async def delete_media(self, id_encoded: str, token: str) -> None:
        request = media_pb2.DeleteMediaRequest(id=id_encoded, delete_token=token)
        await self._call(self._media.DeleteMedia, request, None)

    async def whoami(self, key: str) -> media_pb2.WhoAmIResponse:
        return await self._call(self._media.WhoAmI, media_pb2.WhoAmIRequest(), key)  # type: ignore[no-any-return]
