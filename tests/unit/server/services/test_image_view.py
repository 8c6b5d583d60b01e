"""A media record as Chevereto's image object: files, display choice, URLs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from server.domain.ids import IdCodec
from server.domain.media import MediaRecord, MediaType
from server.services.image_view import (
    ImageView,
    MediaFileView,
    MediaPresenter,
    PublicUrls,
    TagView,
)

NOW = datetime(2024, 5, 6, 7, 8, 9, tzinfo=UTC)
IDS = IdCodec("changeme", 0)


def record(**changes: Any) -> MediaRecord:
    fields: dict[str, Any] = dict(
        name="pic",
        extension="jpg",
        size=1234,
        width=640,
        height=480,
        date_gmt=NOW - timedelta(hours=3),
        folder="2024/05/06",
        title="A title",
        description=None,
        nsfw=False,
        md5="a" * 32,
        source_md5=None,
        original_filename="pic.jpg",
        type=MediaType.IMAGE,
        chain=0b00101,
        thumb_size=100,
        thumb_extension="jpg",
        medium_size=0,
        medium_width=0,
        medium_height=0,
        frame_size=0,
        is_animated=False,
        is_360=False,
        duration=0,
        id=42,
    )
    return MediaRecord(**(fields | changes))


def view(urls: PublicUrls | None = None, token: str | None = None, **changes: Any) -> ImageView:
    presenter = MediaPresenter(urls or PublicUrls("http://darkroom.test/"), IDS)
    return presenter.image_object(record(**changes), now=NOW, delete_token=token)


def test_a_missing_variant_is_chevereto_s_placeholder() -> None:
    image = view()
    assert image.medium == MediaFileView()
    assert image.thumb == MediaFileView(
        filename="pic.th.jpg",
        name="pic.th",
        mime="image/jpeg",
        extension="jpg",
        url="http://darkroom.test/images/2024/05/06/pic.th.jpg",
        size=100,
    )
    assert image.image.url == image.url and image.image.size == image.size


def test_only_video_has_a_frame() -> None:
    assert view().frame is None and view().url_frame == ""
    clip = view(type=MediaType.VIDEO, extension="mp4", chain=0b10101, frame_size=50, duration=125)
    assert clip.frame is not None
    assert clip.frame.filename == "pic.fr.jpeg" and clip.url_frame == clip.frame.url
    assert (clip.display_url, clip.duration_time) == (clip.url_frame, "02:05")
    assert view(type=MediaType.VIDEO, extension="mp4").frame == MediaFileView()


def test_display_prefers_medium_then_a_thumb_for_big_images() -> None:
    medium = view(chain=0b00111, medium_size=500, medium_width=500, medium_height=375)
    assert (medium.display_url, medium.display_width, medium.display_height) == (
        medium.medium.url,
        500,
        375,
    )
    big = view(size=300_000, urls=PublicUrls("http://darkroom.test/", thumb_width=160))
    assert (big.display_url, big.display_width, big.display_height) == (big.thumb.url, 160, 320)
    assert view().display_url == view().url


def test_urls_follow_routes_seo_and_the_delete_token() -> None:
    urls = PublicUrls("https://x.example/sub/", image_route="img", seo_urls=False)
    image = view(urls, token="f" * 48)
    assert image.url_viewer == f"https://x.example/sub/img/{image.id_encoded}"
    assert image.path_viewer == f"/sub/img/{image.id_encoded}"
    assert image.delete_url == f"{image.url_short}/delete/{'f' * 48}"
    assert view().delete_url is None
    assert view().url_viewer == f"http://darkroom.test/image/A-title.{view().id_encoded}"


def test_chevereto_types_and_fixed_values() -> None:
    image = view(nsfw=True, tags=["a b", "<x>"], expiration_gmt=NOW + timedelta(days=1))
    assert (image.nsfw, image.is_animated, image.is_approved, image.is_360) == (1, 0, 1, 0)
    assert (image.views, image.likes, image.storage_mode) == (0, 0, "datefolder")
    assert image.original_exifdata is None and image.file_resource_type == "path"
    assert image.tags == (
        TagView("a b", "a b", "a%20b", "http://darkroom.test/tag/a%20b"),
        TagView("<x>", "&lt;x&gt;", "%3Cx%3E", "http://darkroom.test/tag/%3Cx%3E"),
    )
    assert image.tags_string == "a b, <x>"
    assert (image.date_gmt, image.expiration_date_gmt) == (
        "2024-05-06 04:08:09",
        "2024-05-07 07:08:09",
    )
    assert image.how_long_ago == "3 hours ago" and image.date_fixed_peer == image.date_gmt
    assert view(height=0).ratio == 0.0 and view().ratio == 640 / 480


def test_a_media_base_url_moves_the_files_and_leaves_the_pages() -> None:
    urls = PublicUrls("https://site.example/", media_base_url="https://cdn.example/m/")
    image = view(urls, chain=0b00111, medium_size=500, medium_width=500, medium_height=375)
    for url in (image.url, image.image.url, image.thumb.url, image.medium.url):
        assert url and url.startswith("https://cdn.example/m/images/"), url
    assert image.url_viewer.startswith("https://site.example/image/")
    assert image.url_short.startswith("https://site.example/image/")
