"""The shim's app in process: a DarkroomClient that answers from memory, and forms to send it.

The fake records every call as the shim made it (the request, the key, the address, each
streamed chunk), so a test sees exactly what would have gone over gRPC.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import httpx

from darkroom.v1 import media_pb2
from gateway.shim.app import create_app
from gateway.shim.config import ShimConfig
from gateway.shim.grpc_client import CallFailed, DarkroomClient

CLIENT_ADDRESS = "203.0.113.9"
URL = "/api/1/upload"
BOUNDARY = "darkroom-test-boundary"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"

NOT_FOUND = CallFailed(
    404, "That media doesn't exist", "MEDIA_NOT_FOUND", grpc.StatusCode.NOT_FOUND
)
UNREACHABLE = CallFailed(503, "Service unavailable", "", grpc.StatusCode.UNAVAILABLE)


def media(**changes: Any) -> media_pb2.Media:
    base = media_pb2.Media(
        name="pic",
        extension="jpg",
        type="image",
        title="A picture",
        id_encoded="Ab12",
        url="http://darkroom.test/images/2026/03/01/pic.jpg",
        url_viewer="http://darkroom.test/image/pic.Ab12",
        path_viewer="/image/pic.Ab12",
        image=media_pb2.MediaFile(filename="pic.jpg", size=10),
        thumb=media_pb2.MediaFile(),
        medium=media_pb2.MediaFile(),
    )
    base.MergeFrom(media_pb2.Media(**changes))
    return base


@dataclass
class UnaryCall:
    request: media_pb2.UploadRequest
    key: str
    forwarded_for: str


@dataclass
class StreamCall:
    options: media_pb2.UploadOptions
    key: str
    forwarded_for: str
    data: bytearray = field(default_factory=bytearray)
    chunk_sizes: list[int] = field(default_factory=list)
    late: media_pb2.UploadOptions | None = None
    finished: bool = False
    cancelled: bool = False


class FakeDarkroom(DarkroomClient):
    """Answers ``reply`` to uploads, or raises ``failure`` from every call."""

    def __init__(self) -> None:
        super().__init__("fake.invalid:1", 1.0, 1)
        self.reply = media()
        self.failure: CallFailed | None = None
        self.fail_after_chunks: int | None = None  # a stream fails once it has this many
        self.who = media_pb2.WhoAmIResponse(kind="user", username="ann", can_upload=True)
        self.stored: dict[str, media_pb2.Media] = {}
        self.uploads: list[UnaryCall] = []
        self.streams: list[StreamCall] = []
        self.whoami_keys: list[str] = []
        self.lookups: list[str] = []
        self.deletes: list[tuple[str, str]] = []
        self.chunk_seen = asyncio.Event()
        self.closed = False

    @property
    def calls(self) -> int:
        return len(self.uploads) + len(self.streams) + len(self.whoami_keys) + len(self.lookups)

    def _fail(self) -> None:
        if self.failure is not None:
            raise self.failure

    async def upload(
        self, request: media_pb2.UploadRequest, key: str, forwarded_for: str = ""
    ) -> media_pb2.Media:
        self.uploads.append(UnaryCall(request, key, forwarded_for))
        self._fail()
        return self.reply

    async def upload_stream(
        self,
        options: media_pb2.UploadOptions,
        chunks: AsyncIterator[bytes],
        late_options: Callable[[], media_pb2.UploadOptions | None],
        key: str,
        forwarded_for: str = "",
    ) -> media_pb2.Media:
        call = StreamCall(options, key, forwarded_for)
        self.streams.append(call)
        fail_at = self.fail_after_chunks
        try:
            async for chunk in chunks:
                call.data += chunk
                call.chunk_sizes.append(len(chunk))
                self.chunk_seen.set()
                if fail_at is not None and len(call.chunk_sizes) >= fail_at:
                    self._fail()
        except asyncio.CancelledError:
            call.cancelled = True
            raise
        call.late = late_options()  # read after the last chunk, as the real client does
        call.finished = True
        self._fail()
        return self.reply

    async def get_media(self, id_encoded: str) -> media_pb2.Media:
        self.lookups.append(id_encoded)
        self._fail()
        if id_encoded not in self.stored:
            raise NOT_FOUND
        return self.stored[id_encoded]

    async def delete_media(self, id_encoded: str, token: str) -> None:
        self.deletes.append((id_encoded, token))
        self._fail()

    async def whoami(self, key: str) -> media_pb2.WhoAmIResponse:
        self.whoami_keys.append(key)
        self._fail()
        return self.who

    async def close(self) -> None:
        self.closed = True


PARTIAL = {"message": "File was partially uploaded (UPLOAD_ERR_PARTIAL)", "code": 601}
FORM_SIZE = {"message": "File exceeds form max size (UPLOAD_ERR_FORM_SIZE)", "code": 601}


def shim_config(tmp_path: Path, **changes: Any) -> ShimConfig:
    return ShimConfig(spool_dir=tmp_path / "spool", **changes)


@asynccontextmanager
async def shim(
    fake: FakeDarkroom, tmp_path: Path, **config: Any
) -> AsyncIterator[httpx.AsyncClient]:
    """An HTTP client of the shim's app, which calls ``fake`` for Darkroom."""
    app = create_app(shim_config(tmp_path, **config), client=fake)
    transport = httpx.ASGITransport(app=app, client=(CLIENT_ADDRESS, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://shim.test") as http:
        yield http


async def post(fake: FakeDarkroom, tmp_path: Path, *args: Any, **kwargs: Any) -> httpx.Response:
    """One POST to a shim of its own; ``config=`` sets ShimConfig fields."""
    config = kwargs.pop("config", {})
    async with shim(fake, tmp_path, **config) as http:
        return await http.post(*args, **kwargs)


def error_of(answer: httpx.Response) -> dict[str, Any]:
    """The ``error`` of a JSON error answer, whose status_code is the HTTP status."""
    body = answer.json()
    assert answer.status_code == body["status_code"]
    return dict(body["error"])


@dataclass(frozen=True)
class File:
    filename: str
    data: bytes
    content_type: str = "image/jpeg"


PHOTO = File("holiday.jpg", b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40)


Part = tuple[str, "str | File"]


def part_bytes(name: str, value: str | File) -> bytes:
    if isinstance(value, File):
        head = (
            f'Content-Disposition: form-data; name="{name}"; filename="{value.filename}"\r\n'
            f"Content-Type: {value.content_type}\r\n\r\n"
        )
        return f"--{BOUNDARY}\r\n{head}".encode() + value.data + b"\r\n"
    head = f'Content-Disposition: form-data; name="{name}"\r\n\r\n'
    return f"--{BOUNDARY}\r\n{head}".encode() + value.encode() + b"\r\n"


def multipart(parts: Iterable[Part], *, closed: bool = True) -> bytes:
    """A form in exactly the order given; ``closed=False`` leaves the closing boundary off."""
    body = b"".join(part_bytes(name, value) for name, value in parts)
    return body + (f"--{BOUNDARY}--\r\n".encode() if closed else b"")


class Trickle:
    """A request body sent in pieces, counting how many the app asked for."""

    def __init__(self, body: bytes, piece: int = 64 * 1024) -> None:
        self.pieces = [body[at : at + piece] for at in range(0, len(body), piece)]
        self.sent = 0
        self.before_piece: dict[int, Callable[[], Any]] = {}

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for index, piece in enumerate(self.pieces):
            wait = self.before_piece.get(index)
            if wait is not None:
                await wait()
            self.sent += 1
            yield piece
