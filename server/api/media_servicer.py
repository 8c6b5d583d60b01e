"""MediaService: convert → one service call → convert."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import grpc

from darkroom.v1 import media_pb2, media_pb2_grpc
from server.api.convert import media_message, upload_options, upload_source
from server.api.errors import grpc_errors
from server.api.request_meta import api_key, client_ip
from server.domain import errors
from server.domain.upload import FileSource, UploadOptions
from server.services.auth import Authenticator
from server.services.ingest import IngestService
from server.services.media import MediaService

Context = grpc.aio.ServicerContext[Any, Any]


class MediaServicer(media_pb2_grpc.MediaServiceServicer):
    def __init__(self, auth: Authenticator, ingest: IngestService, media: MediaService) -> None:
        self._auth = auth
        self._ingest = ingest
        self._media = media

    @grpc_errors
    async def Upload(
        self, request: media_pb2.UploadRequest, context: Context
    ) -> media_pb2.UploadResponse:
        caller = await self._auth.caller(api_key(context, request.options.key))
        result = await self._ingest.upload(
            caller,
            upload_source(request),
            upload_options(request.options),
            client_ip=client_ip(context),
        )
        return media_pb2.UploadResponse(media=media_message(result.image))

    @grpc_errors
    async def UploadStream(
        self, request_iterator: AsyncIterator[media_pb2.UploadStreamRequest], context: Context
    ) -> media_pb2.UploadStreamResponse:
        first = await anext(aiter(request_iterator), None)
        if first is None or first.WhichOneof("part") != "options":
            raise errors.InvalidArgument(
                "The first message of an upload stream carries the options", field="options"
            )
        caller = await self._auth.caller(api_key(context, first.options.key))

        late: list[media_pb2.UploadOptions] = []

        async def chunks() -> AsyncIterator[bytes]:
            async for message in request_iterator:
                part = message.WhichOneof("part")
                if part == "chunk" and not late:
                    yield message.chunk
                elif part == "late_options" and not late:
                    late.append(message.late_options)
                else:
                    raise errors.InvalidArgument(
                        "An upload stream is options, chunks, then at most one late_options",
                        field=part or "part",
                    )

        def late_options() -> UploadOptions | None:
            # Domain options hold no key: the one that authenticated the stream stays.
            return upload_options(late[0]) if late else None

        result = await self._ingest.upload(
            caller,
            FileSource(chunks(), late_options),
            upload_options(first.options),
            client_ip=client_ip(context),
        )
        return media_pb2.UploadStreamResponse(media=media_message(result.image))

    @grpc_errors
    async def GetMedia(
        self, request: media_pb2.GetMediaRequest, context: Context
    ) -> media_pb2.GetMediaResponse:
        return media_pb2.GetMediaResponse(media=media_message(await self._media.get(request.id)))

    @grpc_errors
    async def ListMedia(
        self, request: media_pb2.ListMediaRequest, context: Context
    ) -> media_pb2.ListMediaResponse:
        caller = await self._auth.caller(api_key(context, request.key))
        page = await self._media.list(
            caller,
            page_size=request.page_size,
            page_token=request.page_token,
            album_id=request.album_id,
            owner=request.owner,
        )
        return media_pb2.ListMediaResponse(
            media=[media_message(image) for image in page.images],
            next_page_token=page.next_page_token,
        )

    @grpc_errors
    async def WhoAmI(
        self, request: media_pb2.WhoAmIRequest, context: Context
    ) -> media_pb2.WhoAmIResponse:
        caller = await self._auth.caller(api_key(context, request.key))
        return media_pb2.WhoAmIResponse(
            kind=caller.kind.value,
            username=caller.username,
            can_upload=await self._ingest.can_upload(caller),
        )

    @grpc_errors
    async def DeleteMedia(
        self, request: media_pb2.DeleteMediaRequest, context: Context
    ) -> media_pb2.DeleteMediaResponse:
        key = api_key(context, request.key)
        caller = await self._auth.caller(key) if key else None
        await self._media.delete(request.id, caller=caller, delete_token=request.delete_token)
        return media_pb2.DeleteMediaResponse(id=request.id)
