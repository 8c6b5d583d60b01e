"""Proto ↔ domain conversions; pure functions, no I/O."""

from __future__ import annotations

from typing import Any

from darkroom.v1 import admin_pb2, media_pb2
from server.domain.accounts import AlbumInfo, CategoryInfo
from server.domain.upload import (
    Base64Source,
    FileSource,
    TextSource,
    UploadOptions,
    UploadSource,
    UrlSource,
)
from server.services.image_view import ImageView, MediaFileView, TagView
from server.services.settings import UploadSettings


def media_message(view: ImageView) -> media_pb2.Media:
    """The image view as a Media message; None (JSON null) leaves a field unset."""
    return media_pb2.Media(
        name=view.name,
        extension=view.extension,
        size=view.size,
        width=view.width,
        height=view.height,
        date=view.date,
        date_gmt=view.date_gmt,
        title=view.title,
        tags=[_tag_message(tag) for tag in view.tags],
        description=view.description,
        nsfw=view.nsfw,
        storage_mode=view.storage_mode,
        md5=view.md5,
        source_md5=view.source_md5,
        original_filename=view.original_filename,
        original_exifdata=view.original_exifdata,
        views=view.views,
        category_id=view.category_id,
        chain=view.chain,
        thumb_size=view.thumb_size,
        medium_size=view.medium_size,
        frame_size=view.frame_size,
        expiration_date_gmt=view.expiration_date_gmt,
        likes=view.likes,
        is_animated=view.is_animated,
        is_approved=view.is_approved,
        is_360=view.is_360,
        duration=view.duration,
        type=view.type,
        tags_string=view.tags_string,
        file=media_pb2.FileInfo(resource=media_pb2.FileResource(type=view.file_resource_type)),
        id_encoded=view.id_encoded,
        filename=view.filename,
        mime=view.mime,
        url=view.url,
        ratio=view.ratio,
        size_formatted=view.size_formatted,
        frame=None if view.frame is None else _file_message(view.frame),
        image=_file_message(view.image),
        thumb=_file_message(view.thumb),
        url_frame=view.url_frame,
        medium=_file_message(view.medium),
        duration_time=view.duration_time,
        url_viewer=view.url_viewer,
        path_viewer=view.path_viewer,
        url_short=view.url_short,
        display_url=view.display_url,
        display_width=view.display_width,
        display_height=view.display_height,
        views_label=view.views_label,
        likes_label=view.likes_label,
        how_long_ago=view.how_long_ago,
        date_fixed_peer=view.date_fixed_peer,
        title_truncated=view.title_truncated,
        title_truncated_html=view.title_truncated_html,
        is_use_loader=view.is_use_loader,
        display_title=view.display_title,
        delete_url=view.delete_url,
    )


def _tag_message(tag: TagView) -> media_pb2.MediaTag:
    return media_pb2.MediaTag(
        name=tag.name, name_safe_html=tag.name_safe_html, url_key=tag.url_key, url=tag.url
    )


def _file_message(file: MediaFileView) -> media_pb2.MediaFile:
    # Set even when every field is None: the placeholder of a missing variant is an
    # empty object, not an absent one.
    return media_pb2.MediaFile(
        filename=file.filename,
        name=file.name,
        mime=file.mime,
        extension=file.extension,
        url=file.url,
        size=file.size,
    )


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
