"""A stored media record as Chevereto's ``image`` object (docs/chevereto-compatibility.md §5.2).

``ImageView`` holds that object with Chevereto's field names, in Chevereto's
order and with its JSON types (flags are 0/1 integers, dates are "Y-m-d H:i:s"
text); ``None`` is JSON null. The gRPC layer copies it into the ``Media``
message field for field; ``MediaPresenter`` works out every value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from darkroom.v1.media_types import MIME_OF_EXTENSION
from server.domain.ids import IdCodec
from server.domain.media import MediaRecord, MediaType, Variant
from server.domain.text import (
    duration_time,
    format_db_datetime,
    how_long_ago,
    html_escape,
    seo_slug,
    size_formatted,
    title_truncated,
)

LOADER_MIN_BYTES = 5_000_000  # image_load_max_filesize_mb default '5'
THUMB_DISPLAY_MIN_BYTES = 200_000


@dataclass(frozen=True)
class MediaFileView:
    """One stored file of the item. A variant that does not exist is all None
    (Chevereto's placeholder), and then has no ``size`` key at all."""

    filename: str | None = None
    name: str | None = None
    mime: str | None = None
    extension: str | None = None
    url: str | None = None
    size: int | None = None


@dataclass(frozen=True)
class TagView:
    name: str
    name_safe_html: str
    url_key: str
    url: str


@dataclass(frozen=True, kw_only=True)
class ImageView:
    name: str
    extension: str
    size: int
    width: int
    height: int
    date: str  # in the configured timezone
    date_gmt: str
    title: str
    tags: tuple[TagView, ...]
    description: str | None
    nsfw: int
    storage_mode: str = "datefolder"
    md5: str
    source_md5: str | None
    original_filename: str
    original_exifdata: str | None = None  # Darkroom never keeps EXIF
    views: int = 0  # no view or like counters: Chevereto's values for a fresh item
    category_id: int | None
    chain: int
    thumb_size: int
    medium_size: int
    frame_size: int
    expiration_date_gmt: str | None
    likes: int = 0
    is_animated: int
    is_approved: int = 1
    is_360: int
    duration: int
    type: str
    tags_string: str
    file_resource_type: str = "path"  # Chevereto's file.resource.type: local storage
    id_encoded: str
    filename: str
    mime: str
    url: str
    ratio: float
    size_formatted: str
    frame: MediaFileView | None  # only video has the key
    image: MediaFileView
    thumb: MediaFileView
    url_frame: str
    medium: MediaFileView
    duration_time: str
    url_viewer: str
    path_viewer: str
    url_short: str
    display_url: str
    display_width: int
    display_height: int
    views_label: str = "views"
    likes_label: str = "likes"
    how_long_ago: str
    date_fixed_peer: str
    title_truncated: str
    title_truncated_html: str
    is_use_loader: bool
    display_title: str
    delete_url: str | None = None  # only in the answer to the upload


@dataclass(frozen=True)
class PublicUrls:
    base_url: str  # ends with "/"
    image_route: str = "image"
    video_route: str = "clip"
    seo_urls: bool = True
    timezone: str = "UTC"
    thumb_width: int = 320
    thumb_height: int = 320
    # A CDN (or the bucket's own host) for the files; the pages stay on base_url.
    media_base_url: str = ""  # ends with "/" when set

    @property
    def files_base(self) -> str:
        return self.media_base_url or self.base_url

    @property
    def base_path(self) -> str:
        return urlsplit(self.base_url).path or "/"

    def route(self, media_type: MediaType) -> str:
        return self.video_route if media_type is MediaType.VIDEO else self.image_route


class MediaPresenter:
    def __init__(self, urls: PublicUrls, ids: IdCodec) -> None:
        self._urls = urls
        self._ids = ids
        self._zone = ZoneInfo(urls.timezone)

    def local_date(self, date_gmt: datetime) -> datetime:
        return date_gmt.astimezone(self._zone)

    def url_short(self, record: MediaRecord) -> str:
        assert record.id is not None
        return f"{self._urls.base_url}{self._urls.route(record.type)}/{self._ids.encode(record.id)}"

    def delete_url(self, record: MediaRecord, token: str) -> str:
        return f"{self.url_short(record)}/delete/{token}"

    def viewer_path(self, record: MediaRecord) -> str:
        """Path of the viewer page below the base URL: ``image/slug.id``."""
        assert record.id is not None
        id_encoded = self._ids.encode(record.id)
        slug = seo_slug(record.title) if self._urls.seo_urls else ""
        tail = f"{slug}.{id_encoded}" if slug else id_encoded
        return f"{self._urls.route(record.type)}/{tail}"

    def _file(self, record: MediaRecord, variant: Variant, size: int) -> MediaFileView:
        filename = record.variant_filename(variant)
        if filename is None:
            return MediaFileView()
        name, _, extension = filename.rpartition(".")
        return MediaFileView(
            filename=filename,
            name=name,
            mime=MIME_OF_EXTENSION.get(extension, "application/octet-stream"),
            extension=extension,
            url=self._blob_url(record, filename),
            size=size,
        )

    def _blob_url(self, record: MediaRecord, filename: str) -> str:
        return f"{self._urls.files_base}images/{record.folder}/{filename}"

    def _tag(self, tag: str) -> TagView:
        key = quote(tag, safe="")
        return TagView(tag, html_escape(tag), key, f"{self._urls.base_url}tag/{key}")

    def image_object(
        self, record: MediaRecord, *, now: datetime, delete_token: str | None = None
    ) -> ImageView:
        assert record.id is not None
        urls = self._urls
        is_video = record.type is MediaType.VIDEO
        filename = f"{record.name}.{record.extension}"
        url = self._blob_url(record, filename)
        date_gmt = format_db_datetime(record.date_gmt.astimezone(UTC))
        thumb = self._file(record, Variant.THUMB, record.thumb_size)
        medium = self._file(record, Variant.MEDIUM, record.medium_size)
        frame = self._file(record, Variant.FRAME, record.frame_size) if is_video else None
        url_frame = frame.url if frame and frame.url else ""
        truncated = title_truncated(record.title)
        viewer_path = self.viewer_path(record)

        display_url, display_w, display_h = (url_frame or url), record.width, record.height
        display_size = record.frame_size if url_frame else record.size
        if medium.url:
            display_url, display_w, display_h = (
                medium.url,
                record.medium_width,
                record.medium_height,
            )
            display_size = record.medium_size
        elif thumb.url and record.size > THUMB_DISPLAY_MIN_BYTES and not is_video:
            display_url, display_w, display_h = thumb.url, urls.thumb_width, urls.thumb_height
            display_size = record.thumb_size
        if url_frame and record.frame_size < display_size:
            display_url, display_w, display_h = url_frame, record.width, record.height

        return ImageView(
            name=record.name,
            extension=record.extension,
            size=record.size,
            width=record.width,
            height=record.height,
            date=format_db_datetime(self.local_date(record.date_gmt)),
            date_gmt=date_gmt,
            title=record.title,
            tags=tuple(self._tag(tag) for tag in record.tags),
            description=record.description,
            nsfw=int(record.nsfw),
            md5=record.md5,
            source_md5=record.source_md5,
            original_filename=record.original_filename,
            category_id=record.category_id,
            chain=record.chain,
            thumb_size=record.thumb_size,
            medium_size=record.medium_size,
            frame_size=record.frame_size,
            expiration_date_gmt=(
                format_db_datetime(record.expiration_gmt.astimezone(UTC))
                if record.expiration_gmt
                else None
            ),
            is_animated=int(record.is_animated),
            is_360=int(record.is_360),
            duration=record.duration,
            type=record.type.value,
            tags_string=", ".join(record.tags),
            id_encoded=self._ids.encode(record.id),
            filename=filename,
            mime=MIME_OF_EXTENSION.get(record.extension, "application/octet-stream"),
            url=url,
            ratio=record.width / record.height if record.height else 0.0,
            size_formatted=size_formatted(record.size),
            frame=frame,
            image=self._file(record, Variant.IMAGE, record.size),
            thumb=thumb,
            url_frame=url_frame,
            medium=medium,
            duration_time=duration_time(record.duration),
            url_viewer=f"{urls.base_url}{viewer_path}",
            path_viewer=f"{urls.base_path}{viewer_path}",
            url_short=self.url_short(record),
            display_url=display_url,
            display_width=display_w,
            display_height=display_h,
            how_long_ago=how_long_ago(int((now - record.date_gmt).total_seconds())),
            date_fixed_peer=date_gmt,
            title_truncated=truncated,
            title_truncated_html=html_escape(truncated),
            is_use_loader=record.size > LOADER_MIN_BYTES,
            display_title=record.title or filename,
            delete_url=None if delete_token is None else self.delete_url(record, delete_token),
        )
