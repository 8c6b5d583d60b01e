"""UploadStream: chunks spool to disk as they arrive, with flat server memory."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest

from darkroom.v1 import admin_pb2, media_pb2
from tests.conftest import admin_md
from tests.support import media
from tests.support.rss import RssPeak
from tests.support.server import RunningServer, chevereto_error

MB = 1000 * 1000
MiB = 1024 * 1024
RSS_BUDGET = 64 * MiB


def _stream(
    options: media_pb2.UploadOptions, head: bytes, total: int, chunk: int, sent: list[int]
) -> Iterator[media_pb2.UploadStreamRequest]:
    yield media_pb2.UploadStreamRequest(options=options)
    filler = bytes(chunk)
    position = 0
    while position < total:
        piece = head[position : position + chunk] if position < len(head) else b""
        piece = piece or filler[: min(chunk, total - position)]
        position += len(piece)
        sent[0] = position
        yield media_pb2.UploadStreamRequest(chunk=piece)


def test_stream_over_the_limit_is_refused_as_soon_as_it_is_crossed(
    fresh_server: RunningServer,
) -> None:
    server = fresh_server
    server.admin_stub().UpdateSettings(
        admin_pb2.UpdateSettingsRequest(settings=admin_pb2.Settings(upload_max_filesize_mb=20)),
        metadata=admin_md(server),
    )
    sent = [0]
    total = 400 * MB
    options = media_pb2.UploadOptions(filename="huge.jpg")
    with RssPeak({"server": server.process.pid}) as rss, pytest.raises(grpc.RpcError) as failure:
        server.media_stub().UploadStream(
            _stream(options, media.jpeg(64, 64), total, 256 * 1024, sent),
            metadata=[("x-api-key", server.admin_key)],
            timeout=120,
        )
    assert failure.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert chevereto_error(failure.value) == (400, "File too big - max 20 MB")
    # Refused while the client was still sending: far less than the 400 MB was read
    # (what is in flight is bounded by HTTP/2 flow-control windows).
    print(f"sent {sent[0] / MiB:.1f} MiB, server RSS growth {rss.growth('server') / MiB:.1f} MiB")
    assert sent[0] < 20 * MB + 40 * MiB, f"client had sent {sent[0]} bytes"
    assert rss.growth("server") < RSS_BUDGET, (
        f"server RSS grew by {rss.growth('server') / MiB:.1f} MiB"
    )
    assert server.scratch_files() == [] and server.stored_files() == []


def test_large_photo_streams_through_with_flat_memory(server: RunningServer) -> None:
    photo = media.jpeg(6000, 4000, seed=5)  # 24 MP
    chunks = [photo[i : i + 256 * 1024] for i in range(0, len(photo), 256 * 1024)]

    def requests() -> Iterator[media_pb2.UploadStreamRequest]:
        yield media_pb2.UploadStreamRequest(
            options=media_pb2.UploadOptions(filename="big photo.jpg")
        )
        for chunk in chunks:
            yield media_pb2.UploadStreamRequest(chunk=chunk)

    with RssPeak({"server": server.process.pid}) as rss:
        reply = server.media_stub().UploadStream(
            requests(), metadata=[("x-api-key", server.admin_key)], timeout=120
        )
    m = reply.media
    print(f"server RSS growth {rss.growth('server') / MiB:.1f} MiB")
    assert (m.width, m.height, m.size, m.chain) == (6000, 4000, len(photo), 7)
    assert rss.growth("server") < RSS_BUDGET, (
        f"server RSS grew by {rss.growth('server') / MiB:.1f} MiB"
    )


def test_stream_must_start_with_options(server: RunningServer) -> None:
    def requests() -> Iterator[media_pb2.UploadStreamRequest]:
        yield media_pb2.UploadStreamRequest(chunk=b"\xff\xd8\xff")

    with pytest.raises(grpc.RpcError) as failure:
        server.media_stub().UploadStream(requests(), metadata=[("x-api-key", server.admin_key)])
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_late_options_fill_in_fields_sent_after_the_file(server: RunningServer) -> None:
    photo = media.jpeg(640, 480, seed=6)

    def requests() -> Iterator[media_pb2.UploadStreamRequest]:
        yield media_pb2.UploadStreamRequest(options=media_pb2.UploadOptions(title="early"))
        yield media_pb2.UploadStreamRequest(chunk=photo)
        yield media_pb2.UploadStreamRequest(
            late_options=media_pb2.UploadOptions(
                title="late title", filename="after.jpg", description="came last", key="x"
            )
        )

    m = server.media_stub().UploadStream(requests(), metadata=server.admin_metadata()).media
    assert (m.title, m.description, m.original_filename) == ("late title", "came last", "after.jpg")


def test_whoami_tells_the_key_kind(server: RunningServer) -> None:
    me = server.media_stub().WhoAmI(media_pb2.WhoAmIRequest(), metadata=server.admin_metadata())
    assert (me.kind, me.username, me.can_upload) == ("admin", "root", True)
