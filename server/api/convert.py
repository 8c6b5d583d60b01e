"""Proto ↔ domain conversions; pure functions, no I/O."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format

from darkroom.v1 import admin_pb2, media_pb2
from server.domain.upload import (
    Base64Source,
    FileSource,
    TextSource,
    UploadOptions,
    UploadSource,
    UrlSource,
)
from server.ports import AlbumInfo, CategoryInfo
from server.services.settings import UploadSettings


def media_message(image: dict[str, Any]) -> media_pb2.Media:
    """Chevereto's image object (None = JSON null = field unset) as a Media message."""
    return json_format.ParseDict(image, media_pb2.Media())


def upload_options(options: media_pb2.UploadOptions) -> UploadOptions:
    return UploadOptions(
        title=options.title,
        description=options.description,
        tags=options.tags,
        album_id=options.album_id,
        category_id=options.category_id,
        width=options.width,
        expiration=options.expiration,
        nsfw=options.nsfw,
        use_file_date=options.use_file_date,
        filename=options.filename,
        content_type=options.content_type,
        http_method=options.http_method,
    )


async def _one_chunk(data: bytes) -> Any:
    yield data


def upload_source(request: media_pb2.UploadRequest) -> UploadSource | None:
    which = request.WhichOneof("source")
    if which == "file":
        return FileSource(_one_chunk(request.file))
    if which == "url":
        return UrlSource(request.url)
    if which == "base64":
        return Base64Source(request.base64)
    if which == "text":
        return TextSource(request.text)
    return None


def album_message(album: AlbumInfo, id_encoded: str) -> admin_pb2.Album:
    return admin_pb2.Album(
        id=id_encoded, name=album.name, description=album.description, owner=album.owner
    )


def category_message(category: CategoryInfo) -> admin_pb2.Category:
    return admin_pb2.Category(id=category.id, name=category.name, url_key=category.url_key)


def settings_message(settings: UploadSettings) -> admin_pb2.Settings:
    return admin_pb2.Settings(
        guest_uploads=settings.guest_uploads,
        enable_uploads_url=settings.enable_uploads_url,
        upload_max_filesize_mb=settings.upload_max_filesize_mb,
        upload_max_filesize_mb_guest=settings.upload_max_filesize_mb_guest,
        enable_expirable_uploads=settings.enable_expirable_uploads,
        auto_delete_guest_uploads=settings.auto_delete_guest_uploads,
        upload_enabled_image_formats=settings.upload_enabled_image_formats,
        flood_protection=settings.flood_protection,
        flood_uploads_per_minute=settings.flood_uploads_per_minute,
        flood_uploads_per_hour=settings.flood_uploads_per_hour,
        flood_uploads_per_day=settings.flood_uploads_per_day,
        flood_uploads_per_week=settings.flood_uploads_per_week,
        flood_uploads_per_month=settings.flood_uploads_per_month,
    )


def settings_changes(settings: admin_pb2.Settings) -> dict[str, Any]:
    """Only the fields present in the message (proto3 `optional` keeps presence)."""
    return {
        field.name: getattr(settings, field.name)
        for field in settings.DESCRIPTOR.fields
        if settings.HasField(field.name)
    }
