"""The image view becomes a Media message field for field; None stays unset."""

from __future__ import annotations

import dataclasses
import typing
from typing import Any

from darkroom.v1 import media_pb2
from server.api.convert import media_message
from server.services.image_view import ImageView, MediaFileView, TagView

# The one field whose proto name differs: Chevereto's nested file.resource.type.
RENAMED = {"file_resource_type": "file"}


def distinct_file(prefix: str, size: int) -> MediaFileView:
    return MediaFileView(
        filename=f"{prefix}.filename",
        name=f"{prefix}.name",
        mime=f"{prefix}.mime",
        extension=f"{prefix}.extension",
        url=f"{prefix}.url",
        size=size,
    )


def distinct_view() -> ImageView:
    """A view in which no two fields hold the same value, and none its default."""
    values: dict[str, Any] = {}
    hints = typing.get_type_hints(ImageView)
    for number, field in enumerate(dataclasses.fields(ImageView), start=1000):
        hint = hints[field.name]
        if hint in (int, int | None):
            values[field.name] = number
        elif hint is float:
            values[field.name] = number + 0.5
        elif hint is bool:
            values[field.name] = True
        elif hint in (str, str | None):
            values[field.name] = f"<{field.name}>"
        elif hint in (MediaFileView, MediaFileView | None):
            values[field.name] = distinct_file(field.name, number)
        else:
            assert field.name == "tags", field.name
            values[field.name] = (TagView("a", "b", "c", "d"), TagView("e", "f", "g", "h"))
    return ImageView(**values)


def file_values(file: media_pb2.MediaFile) -> MediaFileView:
    return MediaFileView(
        **{
            field.name: getattr(file, field.name) if file.HasField(field.name) else None
            for field in dataclasses.fields(MediaFileView)
        }
    )


def test_every_media_field_has_a_view_field() -> None:
    view_names = {RENAMED.get(field.name, field.name) for field in dataclasses.fields(ImageView)}
    assert view_names == set(media_pb2.Media.DESCRIPTOR.fields_by_name)


def test_every_field_is_copied_to_its_namesake() -> None:
    view = distinct_view()
    media = media_message(view)
    for field in dataclasses.fields(ImageView):
        value = getattr(view, field.name)
        if field.name == "file_resource_type":
            assert media.file.resource.type == value
        elif field.name == "tags":
            assert [
                TagView(tag.name, tag.name_safe_html, tag.url_key, tag.url) for tag in media.tags
            ] == list(value)
        elif isinstance(value, MediaFileView):
            assert file_values(getattr(media, field.name)) == value, field.name
        else:
            assert getattr(media, field.name) == value, field.name


def test_none_leaves_optional_fields_unset() -> None:
    optional = [
        name
        for name, field in media_pb2.Media.DESCRIPTOR.fields_by_name.items()
        if field.has_presence and field.message_type is None
    ]
    assert sorted(optional) == [
        "category_id",
        "description",
        "expiration_date_gmt",
        "original_exifdata",
        "source_md5",
    ]
    unset: dict[str, Any] = dict.fromkeys(optional)
    media = media_message(dataclasses.replace(distinct_view(), **unset))
    assert not any(media.HasField(name) for name in optional)


def test_zero_and_empty_are_kept_apart_from_none() -> None:
    view = dataclasses.replace(distinct_view(), category_id=0, description="", source_md5="")
    media = media_message(view)
    assert media.HasField("category_id") and media.category_id == 0
    assert media.HasField("description") and media.HasField("source_md5")


def test_a_missing_variant_is_an_empty_file_not_an_absent_one() -> None:
    media = media_message(dataclasses.replace(distinct_view(), medium=MediaFileView()))
    assert media.HasField("medium")
    assert media.medium == media_pb2.MediaFile()


def test_only_video_has_a_frame() -> None:
    media = media_message(dataclasses.replace(distinct_view(), frame=None))
    assert not media.HasField("frame")
    assert media_message(distinct_view()).HasField("frame")


def test_no_delete_url_is_the_empty_string() -> None:
    media = media_message(dataclasses.replace(distinct_view(), delete_url=None))
    assert media.delete_url == ""
