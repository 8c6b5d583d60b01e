"""A stored media record as Chevereto's ``image`` object (docs/chevereto-compatibility.md §5.2).

The answer is a plain dict with Chevereto's field names and JSON types; ``None``
means JSON null. The gRPC layer copies it into the ``Media`` message field for field.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

from darkroom.media_types import MIME_OF_EXTENSION
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
class PublicUrls:
    base_url: str  # ends with "/"
    image_route: str = "image"
    video_route: str = "clip"
    seo_urls: bool = True
    timezone: str = "UTC"
    thumb_width: int = 320
    thumb_height: int = 320

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

    def _file(self, record: MediaRecord, variant: Variant, size: int) -> dict[str, Any]:
        filename = record.variant_filename(variant)
        if filename is None:
            return {"filename": None, "name": None, "mime": None, "extension": None, "url": None}
        name, _, extension = filename.rpartition(".")
        return {
            "filename": filename,
            "name": name,
            "mime": MIME_OF_EXTENSION.get(extension, "application/octet-stream"),
            "extension": extension,
            "url": self._blob_url(record, filename),
            "size": size,
        }

    def _blob_url(self, record: MediaRecord, filename: str) -> str:
        return f"{self._urls.base_url}images/{record.folder}/{filename}"

    def image_object(
        self, record: MediaRecord, *, now: datetime, delete_token: str | None = None
    ) -> dict[str, Any]:
        assert record.id is not None
        urls = self._urls
        is_video = record.type is MediaType.VIDEO
        filename = f"{record.name}.{record.extension}"
        url = self._blob_url(record, filename)
        date_gmt = format_db_datetime(record.date_gmt.astimezone(UTC))
        thumb = self._file(record, Variant.THUMB, record.thumb_size)
        medium = self._file(record, Variant.MEDIUM, record.medium_size)
        frame = self._file(record, Variant.FRAME, record.frame_size) if is_video else None
        url_frame = frame["url"] if frame and frame["url"] else ""
        truncated = title_truncated(record.title)
        viewer_path = self.viewer_path(record)

        display_url, display_w, display_h = (url_frame or url), record.width, record.height
        display_size = record.frame_size if url_frame else record.size
        if medium["url"]:
            display_url, display_w, display_h = (
                medium["url"],
                record.medium_width,
                (record.medium_height),
            )
            display_size = record.medium_size
        elif thumb["url"] and record.size > THUMB_DISPLAY_MIN_BYTES and not is_video:
            display_url, display_w, display_h = thumb["url"], urls.thumb_width, urls.thumb_height
            display_size = record.thumb_size
        if url_frame and record.frame_size < display_size:
            display_url, display_w, display_h = url_frame, record.width, record.height

        tags = [
            {
                "name": tag,
                "name_safe_html": html_escape(tag),
                "url_key": quote(tag, safe=""),
                "url": f"{urls.base_url}tag/{quote(tag, safe='')}",
            }
            for tag in record.tags
        ]
        image: dict[str, Any] = {
            "name": record.name,
            "extension": record.extension,
            "size": record.size,
            "width": record.width,
            "height": record.height,
            "date": format_db_datetime(self.local_date(record.date_gmt)),
            "date_gmt": date_gmt,
            "title": record.title,
            "tags": tags,
            "description": record.description,
            "nsfw": int(record.nsfw),
            "storage_mode": "datefolder",
            "md5": record.md5,
            "source_md5": record.source_md5,
            "original_filename": record.original_filename,
            "original_exifdata": None,
            "views": 0,
            "category_id": record.category_id,
            "chain": record.chain,
            "thumb_size": record.thumb_size,
            "medium_size": record.medium_size,
            "frame_size": record.frame_size,
            "expiration_date_gmt": (
                format_db_datetime(record.expiration_gmt.astimezone(UTC))
                if record.expiration_gmt
                else None
            ),
            "likes": 0,
            "is_animated": int(record.is_animated),
            "is_approved": 1,
            "is_360": int(record.is_360),
            "duration": record.duration,
            "type": record.type.value,
            "tags_string": ", ".join(record.tags),
            "file": {"resource": {"type": "path"}},
            "id_encoded": self._ids.encode(record.id),
            "filename": filename,
            "mime": MIME_OF_EXTENSION.get(record.extension, "application/octet-stream"),
            "url": url,
            "ratio": record.width / record.height if record.height else 0.0,
            "size_formatted": size_formatted(record.size),
        }
        if frame is not None:
            image["frame"] = frame
        image |= {
            "image": self._file(record, Variant.IMAGE, record.size),
            "thumb": thumb,
            "url_frame": url_frame,
            "medium": medium,
            "duration_time": duration_time(record.duration),
            "url_viewer": f"{urls.base_url}{viewer_path}",
            "path_viewer": f"{urls.base_path}{viewer_path}",
            "url_short": self.url_short(record),
            "display_url": display_url,
            "display_width": display_w,
            "display_height": display_h,
            "views_label": "views",
            "likes_label": "likes",
            "how_long_ago": how_long_ago(int((now - record.date_gmt).total_seconds())),
            "date_fixed_peer": date_gmt,
            "title_truncated": truncated,
            "title_truncated_html": html_escape(truncated),
            "is_use_loader": record.size > LOADER_MIN_BYTES,
            "display_title": record.title or filename,
        }
        if delete_token is not None:
            image["delete_url"] = self.delete_url(record, delete_token)
        return image
