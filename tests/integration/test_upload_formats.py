"""Uploading each supported format through gRPC gives Chevereto's full image object."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

import grpc
import pytest

from darkroom.v1 import media_pb2
from tests.support import media
from tests.support.server import RunningServer, chevereto_error
from tests.support.stored import open_stored, stored_bytes

DATE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")


def upload(
    server: RunningServer, key: str, data: bytes, filename: str, **options: Any
) -> media_pb2.Media:
    request = media_pb2.UploadRequest(
        file=data, options=media_pb2.UploadOptions(filename=filename, **options)
    )
    reply = server.media_stub().Upload(request, metadata=[("x-api-key", key)], timeout=120)
    return cast(media_pb2.Media, reply.media)


def test_jpeg_upload_returns_the_whole_chevereto_image_object(
    server: RunningServer, user_key: str
) -> None:
    data = media.jpeg(1600, 1200)
    m = upload(server, user_key, data, "Summer holiday_at the-lake.jpg")

    today = datetime.now(UTC).strftime("%Y/%m/%d")
    assert m.name == "Summer-holiday_at-the-lake"
    assert m.extension == "jpg"
    assert m.filename == "Summer-holiday_at-the-lake.jpg"
    assert m.mime == "image/jpeg"
    assert m.url == f"http://darkroom.test/images/{today}/Summer-holiday_at-the-lake.jpg"
    assert (m.width, m.height) == (1600, 1200)
    assert m.ratio == pytest.approx(4 / 3)
    assert m.title == "Summer holiday at the lake"
    assert m.title_truncated == "Summer holiday at the lake"
    assert m.display_title == m.title
    assert m.type == "image"
    assert m.storage_mode == "datefolder"
    assert m.file.resource.type == "path"
    assert m.original_filename == "Summer holiday_at the-lake.jpg"
    assert not m.HasField("description") and not m.HasField("source_md5")
    assert not m.HasField("expiration_date_gmt") and not m.HasField("category_id")
    assert (m.nsfw, m.is_animated, m.is_approved, m.is_360, m.duration) == (0, 0, 1, 0, 0)
    assert (m.views, m.likes, m.views_label, m.likes_label) == (0, 0, "views", "likes")
    assert m.how_long_ago == "moments ago"
    assert DATE.fullmatch(m.date) and DATE.fullmatch(m.date_gmt)
    assert m.date_fixed_peer == m.date_gmt
    assert m.duration_time == "" and m.url_frame == "" and not m.HasField("frame")

    stored = stored_bytes(server, m.url)
    assert m.size == len(stored)
    assert m.md5 == hashlib.md5(stored).hexdigest()
    assert m.image.url == m.url and m.image.size == m.size and m.image.extension == "jpg"

    # 1600 px wide: a 500 px medium exists, so chain = image|medium|thumb = 7.
    assert m.chain == 7
    assert m.thumb.filename == "Summer-holiday_at-the-lake.th.jpg"
    assert m.medium.filename == "Summer-holiday_at-the-lake.md.jpg"
    with open_stored(server, m.thumb.url) as thumb:
        assert thumb.size == (320, 320)
    with open_stored(server, m.medium.url) as medium:
        assert medium.size == (500, 375)
    assert m.thumb_size == len(stored_bytes(server, m.thumb.url)) == m.thumb.size
    assert m.medium_size == len(stored_bytes(server, m.medium.url))
    assert (m.display_url, m.display_width, m.display_height) == (m.medium.url, 500, 375)

    assert re.fullmatch(r"[A-Za-z0-9]+", m.id_encoded)
    assert m.url_viewer == f"http://darkroom.test/image/Summer-holiday-at-the-lake.{m.id_encoded}"
    assert m.path_viewer == f"/image/Summer-holiday-at-the-lake.{m.id_encoded}"
    assert m.url_short == f"http://darkroom.test/image/{m.id_encoded}"
    assert re.fullmatch(re.escape(m.url_short) + r"/delete/[0-9a-f]{48}", m.delete_url)
    assert m.size_formatted.endswith(("KB", "MB"))

    got = server.media_stub().GetMedia(media_pb2.GetMediaRequest(id=m.id_encoded))
    assert got.media.url == m.url and got.media.delete_url == ""


def test_small_image_has_no_medium_and_chain_5(server: RunningServer, user_key: str) -> None:
    m = upload(server, user_key, media.jpeg(400, 300), "small.jpeg")
    assert m.extension == "jpeg"
    assert m.chain == 5
    assert not m.medium.HasField("url") and not m.medium.HasField("size")
    assert m.medium_size == 0
    assert (m.display_url, m.display_width, m.display_height) == (m.url, 400, 300)


def test_png_with_alpha_keeps_transparency(server: RunningServer, user_key: str) -> None:
    m = upload(server, user_key, media.png_with_alpha(), "alpha.png")
    assert (m.extension, m.mime, m.chain) == ("png", "image/png", 7)
    with open_stored(server, m.url) as original, open_stored(server, m.thumb.url) as thumb:
        assert original.mode == "RGBA" and thumb.mode == "RGBA"
        # The corner lies outside the opaque ellipse.
        assert thumb.getchannel("A").getpixel((0, 0)) == 0


@pytest.mark.parametrize(
    ("maker", "extension", "mime"),
    [(media.animated_gif, "gif", "image/gif"), (media.animated_webp, "webp", "image/webp")],
)
def test_animated_images_stay_animated(
    server: RunningServer, user_key: str, maker: object, extension: str, mime: str
) -> None:
    data = maker()  # type: ignore[operator]
    m = upload(server, user_key, data, f"loop.{extension}", width=100)
    assert (m.extension, m.mime, m.is_animated) == (extension, mime, 1)
    # `width` is ignored for animations; the medium is made even when narrow.
    assert m.source_md5 == "" and not m.HasField("source_md5")
    assert m.chain == 7
    with open_stored(server, m.url) as stored:
        assert getattr(stored, "n_frames", 1) == 6
        assert stored.size == (m.width, m.height)
    with open_stored(server, m.medium.url) as medium:
        assert medium.size[0] == min(500, m.width)


def test_avif_is_stored_as_avif(server: RunningServer, user_key: str) -> None:
    m = upload(server, user_key, media.avif(), "pic.avif")
    assert (m.extension, m.mime, m.width, m.height) == ("avif", "image/avif", 800, 600)
    with open_stored(server, m.thumb.url) as thumb:
        assert thumb.format == "AVIF" and thumb.size == (320, 320)


@pytest.mark.parametrize(
    "sample",
    [
        media.generated("IMG_0001.HEIC", media.iphone_like_heic),
        *media.corpus_files("exif-samples/heic/IMG_5195.HEIC"),
    ],
)
def test_heic_is_converted_to_jpeg(
    server: RunningServer, user_key: str, sample: media.Sample
) -> None:
    data = sample.read_bytes()
    m = upload(server, user_key, data, sample.name)
    assert (m.extension, m.mime, m.name) == ("jpeg", "image/jpeg", Path(sample.name).stem)
    with open_stored(server, m.url) as stored:
        assert stored.format == "JPEG"
        assert stored.size == (m.width, m.height)
        assert 0x8825 not in stored.getexif()


def test_bmp_is_stored_as_png(server: RunningServer, user_key: str) -> None:
    data = media.encode(media.photo_like(120, 90), "BMP")
    m = upload(server, user_key, data, "scan.bmp")
    assert (m.extension, m.filename) == ("png", "scan.png")
    with open_stored(server, m.url) as stored:
        assert stored.format == "PNG"


def test_declared_name_and_type_never_decide_the_format(
    server: RunningServer, user_key: str
) -> None:
    m = upload(
        server, user_key, media.png_with_alpha(64, 64), "actually.jpg", content_type="image/jpeg"
    )
    assert (m.extension, m.mime, m.filename) == ("png", "image/png", "actually.png")


NOT_AN_IMAGE = (610, "Can't get target upload source info")
NOT_ACCEPTED = (613, "Unavailable image format")


@pytest.mark.parametrize(
    ("sample", "code", "message"),
    [
        *media.with_values(media.fixtures("pdf.pdf", "zip.zip", "svg.svg"), *NOT_AN_IMAGE),
        *media.with_values(media.fixtures("tiff.tif", "ico.ico"), *NOT_ACCEPTED),
        *media.with_values([media.generated("scan.tiff", media.tiff_photo)], *NOT_ACCEPTED),
        *media.with_values(media.corpus_files("exif-samples/tiff/Arbitro.tiff"), *NOT_ACCEPTED),
    ],
)
def test_files_that_are_not_accepted_images_are_refused(
    server: RunningServer, user_key: str, sample: media.Sample, code: int, message: str
) -> None:
    before = server.stored_files()
    with pytest.raises(grpc.RpcError) as failure:
        upload(server, user_key, sample.read_bytes(), sample.name)
    assert failure.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert chevereto_error(failure.value) == (code, message)
    assert server.stored_files() == before
    assert server.scratch_files() == []
