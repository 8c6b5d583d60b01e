"""``/api/1/upload``: one Chevereto request in, one gRPC upload out.

The request and answer shapes are docs/chevereto-compatibility.md §1-§7.

The checks that depend only on the HTTP request (path, missing key, output format)
happen here, in Chevereto's order; everything else is the server's, whose errors
carry the exact Chevereto code and message.
"""

from __future__ import annotations

import asyncio
import re
import tempfile
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass, field
from typing import IO
from urllib.parse import parse_qsl

from python_multipart.exceptions import MultipartParseError
from starlette.requests import Request
from starlette.responses import Response

from darkroom.v1 import media_pb2
from gateway.shim import envelope
from gateway.shim.config import ShimConfig
from gateway.shim.forms import (
    FieldEvent,
    FileData,
    FileEnd,
    FileStart,
    FormLimits,
    FormTooLarge,
    boundary_of,
    json_fields,
    multipart_events,
    read_small_body,
    urlencoded_fields,
)
from gateway.shim.grpc_client import CallFailed, DarkroomClient

FORMATS = ("json", "txt", "redirect")
STREAM_CHUNK = 256 * 1024
QUEUE_DEPTH = 8
_PHP_NUMERIC = re.compile(r"\s*[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?\s*")


class Refusal(Exception):
    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.message = message
        self.code = code


def _php_int(value: str, bits: int) -> int:
    """``is_numeric`` then integer, as PHP casts; anything else, or anything that does
    not fit the field, is 0 (not sent)."""
    if not _PHP_NUMERIC.fullmatch(value):
        return 0
    try:
        number = int(float(value))
    except (OverflowError, ValueError):
        return 0
    return number if 0 < number < 2 ** (bits - 1) else 0


@dataclass
class Params:
    """GET and POST merged with POST winning (PHP's request_order=GP)."""

    query: dict[str, str]
    body: dict[str, str] = field(default_factory=dict)

    def raw(self, name: str) -> str | None:
        return self.body.get(name, self.query.get(name))

    def get(self, name: str) -> str:
        # The API runs array_filter over its parameters: "", "0" and 0 mean "not sent".
        value = self.raw(name) or ""
        return "" if value == "0" else value

    def output(self) -> str:
        value = self.raw("format") or "json"
        return value if value in FORMATS else "json"


def _forwarded_for(request: Request) -> str:
    """The client address Envoy appended to X-Forwarded-For, else the shim's caller.

    Only the last entry is Envoy's own; the rest is whatever the client sent, and an
    oversized header must not become oversized gRPC metadata.
    """
    forwarded = request.headers.get("x-forwarded-for", "")
    if forwarded:
        return forwarded.rsplit(",", 1)[-1].strip()[:64]
    return request.client.host if request.client else ""


RETRY_AFTER_S = "2"

# Printable ASCII, as every key Darkroom or Chevereto makes; longer ones are not keys.
_KEY_CHARACTERS = re.compile(r"[\x21-\x7e]{1,512}")


def api_key(request: Request, params: Params) -> str:
    header = request.headers.get("x-api-key")
    # The header wins whenever it is present at all, even empty (§2.1).
    return header if header is not None else (params.raw("key") or "")


def upload_options(
    params: Params, *, method: str, filename: str = "", content_type: str = ""
) -> media_pb2.UploadOptions:
    return media_pb2.UploadOptions(
        title=params.get("title") or params.get("name"),
        description=params.get("description"),
        tags=params.get("tags"),
        album_id=params.get("album_id"),
        category_id=_php_int(params.get("category_id"), 64),
        width=_php_int(params.get("width"), 32),
        expiration=params.get("expiration"),
        nsfw=params.get("nsfw") == "1",
        use_file_date=params.get("use_file_date") == "1",
        filename=filename,
        content_type=content_type,
        http_method=method,
    )


def late_options(params: Params, late_fields: Mapping[str, str]) -> media_pb2.UploadOptions | None:
    if not late_fields:
        return None
    return upload_options(Params(query={}, body=dict(late_fields)), method="")


class _ChunkFeed:
    """File bytes on their way into the gRPC stream, coalesced into ~256 KiB messages.

    The queue is short, so a slow server slows the client down instead of filling
    memory; if the call ends early (an error), feeding stops at once.
    """

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue(QUEUE_DEPTH)
        self._pending = bytearray()
        self.call: asyncio.Task[media_pb2.Media] | None = None

    async def chunks(self) -> AsyncIterator[bytes]:
        while (chunk := await self.queue.get()) is not None:
            yield chunk

    async def _put(self, item: bytes | None) -> bool:
        assert self.call is not None
        put = asyncio.ensure_future(self.queue.put(item))
        done, _ = await asyncio.wait({put, self.call}, return_when=asyncio.FIRST_COMPLETED)
        if put not in done:
            put.cancel()
            return False
        return True

    async def feed(self, data: bytes) -> bool:
        self._pending += data
        if len(self._pending) < STREAM_CHUNK:
            return True
        chunk, self._pending = bytes(self._pending), bytearray()
        return await self._put(chunk)

    async def close(self) -> None:
        if self._pending and not await self._put(bytes(self._pending)):
            return
        self._pending = bytearray()
        await self._put(None)


async def _spooled_chunks(spool: IO[bytes]) -> AsyncIterator[bytes]:
    spool.seek(0)
    while chunk := await asyncio.to_thread(spool.read, STREAM_CHUNK):
        yield chunk


class UploadHandler:
    def __init__(self, client: DarkroomClient, config: ShimConfig) -> None:
        self._client = client
        self._config = config
        self._limits = FormLimits(
            max_fields=config.max_fields,
            max_field_bytes=config.max_field_bytes,
            max_source_bytes=config.max_message_bytes,
        )
        config.spool_dir.mkdir(parents=True, exist_ok=True)

    async def handle(self, request: Request) -> Response:
        params = Params(query=dict(parse_qsl(request.url.query, keep_blank_values=True)))
        try:
            return await self._handle(request, params)
        except Refusal as refusal:
            return envelope.error(refusal.message, refusal.code, output=params.output())
        except CallFailed as failed:
            answer = envelope.error(
                failed.message,
                failed.code,
                output=params.output(),
                http_status=failed.http_status,
            )
            if answer.status_code == 503:
                # The server is restarting or draining: say when to come back, as Envoy
                # does when it has no healthy server at all.
                answer.headers["Retry-After"] = RETRY_AFTER_S
            return answer
        except FormTooLarge:
            return envelope.error(
                "File exceeds form max size (UPLOAD_ERR_FORM_SIZE)", 601, output=params.output()
            )

    async def _handle(self, request: Request, params: Params) -> Response:
        segments = request.url.path.strip("/").split("/")
        version = segments[1] if len(segments) > 1 else ""
        action = segments[2] if len(segments) > 2 else ""
        if not version:
            raise Refusal("No version provided", 100)
        if not action:
            raise Refusal("No action provided", 100)

        boundary = boundary_of(request.headers.get("content-type", ""))
        if boundary is not None:
            return await self._multipart(request, params, boundary, version, action)
        await self._read_fields(request, params)
        key = self._checked_key(request, params, version)
        await self._check_action(action, key)
        return await self._unary(request, params, key)

    def _checked_key(self, request: Request, params: Params, version: str) -> str:
        key = api_key(request, params)
        if not key:
            raise Refusal("No key provided", 100)
        if version != "1":
            raise Refusal("Invalid API version.", 110)
        if not _KEY_CHARACTERS.fullmatch(key):
            # No key has such characters, and gRPC metadata could not carry them.
            raise Refusal("Invalid API key.", 100)
        return key

    async def _check_action(self, action: str, key: str) -> None:
        if action == "upload":
            return
        # Chevereto checks the key and upload permission before the action.
        who = await self._client.whoami(key)
        if not who.can_upload:
            raise Refusal("Request denied", 401)
        raise Refusal("Invalid API action", 120)

    async def _read_fields(self, request: Request, params: Params) -> None:
        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type == "application/x-www-form-urlencoded":
            params.body = await urlencoded_fields(request.stream(), self._limits)
        elif content_type == "application/json" or content_type.endswith("+json"):
            # Room for JSON's escapes: PHP's json_encode writes every '/' of base64 as '\/'.
            limit = self._config.max_message_bytes * 9 // 8
            body = await read_small_body(request.stream(), limit)
            params.body = await asyncio.to_thread(json_fields, body)
            del body  # before the source is copied into a message

    async def _unary(self, request: Request, params: Params, key: str) -> Response:
        # Chevereto switches to the ImgBB envelope whenever `image` is sent at all.
        imgbb = params.raw("image") is not None
        text = params.raw("source")
        if text is None:
            text = params.raw("image")
        options = upload_options(params, method=request.method)
        if text is None:
            upload = media_pb2.UploadRequest(options=options)  # no source: the server says so
        elif text == "":
            upload = media_pb2.UploadRequest(base64="", options=options)
        else:
            upload = media_pb2.UploadRequest(text=text, options=options)
        media = await self._client.upload(upload, key, _forwarded_for(request))
        return envelope.success(media, output=params.output(), imgbb=imgbb)

    async def _multipart(
        self, request: Request, params: Params, boundary: bytes, version: str, action: str
    ) -> Response:
        feed: _ChunkFeed | None = None
        spool: IO[bytes] | None = None
        spooled = 0
        file_start: FileStart | None = None
        file_complete = False
        late_fields: dict[str, str] = {}
        try:
            events = multipart_events(request.stream(), boundary, self._limits)
            async for event in events:
                if isinstance(event, FieldEvent):
                    (late_fields if file_start else params.body)[event.name] = event.value
                elif isinstance(event, FileStart):
                    file_start = event
                    key = api_key(request, params)
                    if key:
                        # The key is known before the file: stream it as it arrives.
                        self._checked_key(request, params, version)
                        await self._check_action(action, key)
                        feed = self._start_stream(request, params, event, key, late_fields)
                    else:
                        # The key may still come after the file: keep the bytes on disk,
                        # never in memory, until the form is complete.
                        # Under the data directory: /tmp is often a small tmpfs.
                        spool = tempfile.TemporaryFile(dir=self._config.spool_dir)  # noqa: SIM115
                elif isinstance(event, FileData):
                    if feed is not None:
                        if not await feed.feed(event.data):
                            break  # the server refused: answer now, stop reading
                    elif spool is not None:
                        spooled += len(event.data)
                        if spooled > self._config.max_message_bytes:
                            raise FormTooLarge("source")
                        await asyncio.to_thread(spool.write, event.data)
                elif isinstance(event, FileEnd):
                    file_complete = True
            else:
                if file_start is not None and not file_complete:
                    raise Refusal("File was partially uploaded (UPLOAD_ERR_PARTIAL)", 601)
            # Fields after the file are known only now: they go last in the stream and
            # may change the answer's format.
            params.body.update(late_fields)
            imgbb = params.raw("image") is not None or (
                file_start is not None and file_start.name == "image"
            )
            if feed is not None and feed.call is not None:
                if not feed.call.done():
                    await feed.close()
                media = await feed.call
                return envelope.success(media, output=params.output(), imgbb=imgbb)
            key = self._checked_key(request, params, version)
            await self._check_action(action, key)
            if spool is not None and file_start is not None:
                options = upload_options(
                    params,
                    method=request.method,
                    filename=file_start.filename,
                    content_type=file_start.content_type,
                )
                media = await self._client.upload_stream(
                    options, _spooled_chunks(spool), lambda: None, key, _forwarded_for(request)
                )
                return envelope.success(media, output=params.output(), imgbb=imgbb)
            return await self._unary(request, params, key)
        except MultipartParseError as exc:
            raise Refusal("File was partially uploaded (UPLOAD_ERR_PARTIAL)", 601) from exc
        finally:
            if feed is not None and feed.call is not None and not feed.call.done():
                # The request ended without a complete file: the server drops the upload.
                feed.call.cancel()
                # Wait for it without taking on its CancelledError; a cancellation of
                # this request itself still propagates out of wait().
                await asyncio.wait([feed.call])
                if not feed.call.cancelled():
                    feed.call.exception()  # retrieved: its failure is already answered
            if spool is not None:
                spool.close()

    def _start_stream(
        self,
        request: Request,
        params: Params,
        start: FileStart,
        key: str,
        late_fields: dict[str, str],
    ) -> _ChunkFeed:
        feed = _ChunkFeed()
        options = upload_options(
            params,
            method=request.method,
            filename=start.filename,
            content_type=start.content_type,
        )
        feed.call = asyncio.create_task(
            self._client.upload_stream(
                options,
                feed.chunks(),
                lambda: late_options(params, late_fields),
                key,
                _forwarded_for(request),
            )
        )
        return feed
