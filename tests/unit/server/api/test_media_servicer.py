"""MediaService over a real grpc.aio server in process: uploads, lookups, pages, deletes.

Small generated JPEGs keep each upload to milliseconds; the failures are read as every
client reads them, from the google.rpc.Status in the trailers.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator, Iterable
from typing import Any

import grpc
import pytest

from darkroom.v1 import admin_pb2, media_pb2
from tests.unit.server.api.in_process import (
    BASE_URL,
    Darkroom,
    as_key,
    failure,
    small_jpeg,
)

pytestmark = pytest.mark.asyncio

JPEG = small_jpeg()


async def _stream(messages: Iterable[media_pb2.UploadStreamRequest]) -> AsyncIterator[Any]:
    for message in messages:
        yield message


def _file_stream(
    data: bytes,
    options: media_pb2.UploadOptions,
    late: media_pb2.UploadOptions | None = None,
    chunk: int = 1000,
) -> list[media_pb2.UploadStreamRequest]:
    messages = [media_pb2.UploadStreamRequest(options=options)]
    messages += [
        media_pb2.UploadStreamRequest(chunk=data[at : at + chunk])
        for at in range(0, len(data), chunk)
    ]
    if late is not None:
        messages.append(media_pb2.UploadStreamRequest(late_options=late))
    return messages


def _token(delete_url: str) -> str:
    return delete_url.rstrip("/").rsplit("/", 1)[-1]


# --- Upload -------------------------------------------------------------------------------


async def test_an_upload_is_stored_and_answered_as_chevereto_s_image(darkroom: Darkroom) -> None:
    key = await darkroom.new_user("ann")
    media = await darkroom.upload(key, JPEG, title="Fox", tags="red,fox", filename="fox.jpg")
    assert (media.type, media.extension, media.mime) == ("image", "jpg", "image/jpeg")
    assert (media.width, media.height, media.title) == (64, 48, "Fox")
    assert [tag.name for tag in media.tags] == ["red", "fox"]
    assert media.original_filename == "fox.jpg"
    assert media.url.startswith(BASE_URL + "images/") and media.url.endswith(".jpg")
    assert media.url_viewer.startswith(BASE_URL + "image/")
    assert media.delete_url.startswith(BASE_URL) and media.id_encoded
    assert len(darkroom.stored_files()) >= 2  # the image and its thumb at least
    assert any(media.image.filename in path for path in darkroom.stored_files())


async def test_a_base64_source_is_the_same_upload(darkroom: Darkroom) -> None:
    request = media_pb2.UploadRequest(
        base64=base64.b64encode(JPEG).decode(), options=media_pb2.UploadOptions()
    )
    reply = await darkroom.media.Upload(request, metadata=as_key(darkroom.admin_key))
    assert (reply.media.width, reply.media.height) == (64, 48)


async def test_the_key_may_be_an_option_but_the_header_wins_even_empty(
    darkroom: Darkroom,
) -> None:
    key = await darkroom.new_user("ann")
    request = media_pb2.UploadRequest(file=JPEG, options=media_pb2.UploadOptions(key=key))
    assert (await darkroom.media.Upload(request)).media.id_encoded
    failed = await failure(darkroom.media.Upload(request, metadata=as_key("")))
    assert failed.code == grpc.StatusCode.UNAUTHENTICATED
    assert (failed.reason, failed.chevereto) == ("NO_KEY_PROVIDED", (100, "No key provided"))


@pytest.mark.parametrize(
    ("key", "reason", "chevereto"),
    [
        ("", "NO_KEY_PROVIDED", (100, "No key provided")),
        ("not-a-key", "INVALID_API_KEY", (100, "Invalid API key.")),
    ],
)
async def test_a_missing_or_wrong_key_is_unauthenticated(
    darkroom: Darkroom, key: str, reason: str, chevereto: tuple[int, str]
) -> None:
    request = media_pb2.UploadRequest(file=JPEG)
    failed = await failure(darkroom.media.Upload(request, metadata=as_key(key)))
    assert failed.code == grpc.StatusCode.UNAUTHENTICATED
    assert (failed.reason, failed.chevereto, failed.message) == (reason, chevereto, chevereto[1])
    assert darkroom.stored_files() == []


async def test_bytes_of_no_known_format_are_refused_with_chevereto_s_610(
    darkroom: Darkroom,
) -> None:
    request = media_pb2.UploadRequest(file=b"plain text, not a picture" * 10)
    failed = await failure(darkroom.media.Upload(request, metadata=as_key(darkroom.admin_key)))
    assert failed.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failed.reason == "SOURCE_INFO_UNREADABLE"
    assert failed.chevereto == (610, "Can't get target upload source info")
    assert darkroom.stored_files() == []


async def test_no_source_at_all_is_an_empty_upload_source(darkroom: Darkroom) -> None:
    failed = await failure(
        darkroom.media.Upload(media_pb2.UploadRequest(), metadata=as_key(darkroom.admin_key))
    )
    assert failed.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failed.chevereto == (130, "Empty upload source")


async def test_a_disabled_user_is_denied_with_401(darkroom: Darkroom) -> None:
    key = await darkroom.new_user("ann")
    await darkroom.app.services.admin.disable_user("ann")
    failed = await failure(
        darkroom.media.Upload(media_pb2.UploadRequest(file=JPEG), metadata=as_key(key))
    )
    assert failed.code == grpc.StatusCode.PERMISSION_DENIED
    assert (failed.reason, failed.chevereto) == ("REQUEST_DENIED", (401, "Request denied"))


# --- UploadStream -------------------------------------------------------------------------


async def test_a_streamed_upload_takes_its_late_options_last(darkroom: Darkroom) -> None:
    options = media_pb2.UploadOptions(title="Early", description="Kept", filename="s.jpg")
    late = media_pb2.UploadOptions(title="Late", nsfw=True)
    reply = await darkroom.media.UploadStream(
        _stream(_file_stream(JPEG, options, late)), metadata=as_key(darkroom.admin_key)
    )
    media = reply.media
    assert (media.width, media.height, media.original_filename) == (64, 48, "s.jpg")
    assert (media.title, media.nsfw) == ("Late", 1)
    fetched = await darkroom.media.GetMedia(media_pb2.GetMediaRequest(id=media.id_encoded))
    assert fetched.media.title == "Late"


async def test_the_stream_key_is_the_first_messages_and_late_options_cannot_change_it(
    darkroom: Darkroom,
) -> None:
    ann = await darkroom.new_user("ann")
    late = media_pb2.UploadOptions(key="not-a-key")
    messages = _file_stream(JPEG, media_pb2.UploadOptions(key=ann), late)
    reply = await darkroom.media.UploadStream(_stream(messages))
    listed = await darkroom.media.ListMedia(media_pb2.ListMediaRequest(), metadata=as_key(ann))
    assert [m.id_encoded for m in listed.media] == [reply.media.id_encoded]


NO_OPTIONS = media_pb2.UploadOptions()
WHOLE = _file_stream(JPEG, NO_OPTIONS)
WITH_LATE = _file_stream(JPEG, NO_OPTIONS, NO_OPTIONS)


@pytest.mark.parametrize(
    ("messages", "field"),
    [
        ([], "options"),
        ([media_pb2.UploadStreamRequest(chunk=JPEG)], "options"),
        ([*WHOLE, media_pb2.UploadStreamRequest(options=NO_OPTIONS)], "options"),
        ([*WITH_LATE, media_pb2.UploadStreamRequest(chunk=b"more")], "chunk"),
        ([*WITH_LATE, media_pb2.UploadStreamRequest(late_options=NO_OPTIONS)], "late_options"),
    ],
    ids=["empty", "no-options-first", "options-twice", "chunk-after-late", "late-twice"],
)
async def test_a_stream_out_of_order_is_an_invalid_argument_naming_the_part(
    darkroom: Darkroom, messages: list[media_pb2.UploadStreamRequest], field: str
) -> None:
    failed = await failure(
        darkroom.media.UploadStream(_stream(messages), metadata=as_key(darkroom.admin_key))
    )
    assert failed.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failed.reason == "INVALID_ARGUMENT" and failed.metadata["field"] == field
    assert failed.violations == [(field, failed.message)]
    assert darkroom.stored_files() == []


# --- GetMedia -----------------------------------------------------------------------------


async def test_get_media_answers_the_upload_without_its_delete_url(darkroom: Darkroom) -> None:
    uploaded = await darkroom.upload(darkroom.admin_key, title="Fox")
    reply = await darkroom.media.GetMedia(media_pb2.GetMediaRequest(id=uploaded.id_encoded))
    assert reply.media.delete_url == ""
    expected = media_pb2.Media()
    expected.CopyFrom(uploaded)
    expected.ClearField("delete_url")
    assert reply.media == expected


@pytest.mark.parametrize("media_id", ["", "zzzzzz", "!!", "Ab12"])
async def test_an_unknown_id_is_media_not_found(darkroom: Darkroom, media_id: str) -> None:
    failed = await failure(darkroom.media.GetMedia(media_pb2.GetMediaRequest(id=media_id)))
    assert failed.code == grpc.StatusCode.NOT_FOUND
    assert (failed.reason, failed.chevereto) == (
        "MEDIA_NOT_FOUND",
        (404, "That media doesn't exist"),
    )


# --- ListMedia ----------------------------------------------------------------------------


async def test_a_user_lists_their_own_uploads_newest_first_page_by_page(
    darkroom: Darkroom,
) -> None:
    ann, bob = await darkroom.new_user("ann"), await darkroom.new_user("bob")
    mine = [(await darkroom.upload(ann, small_jpeg(seed))).id_encoded for seed in range(3)]
    await darkroom.upload(bob)
    seen: list[str] = []
    token = ""
    for _ in range(3):
        page = await darkroom.media.ListMedia(
            media_pb2.ListMediaRequest(page_size=2, page_token=token), metadata=as_key(ann)
        )
        seen += [m.id_encoded for m in page.media]
        token = page.next_page_token
        if not token:
            break
    assert seen == list(reversed(mine))
    assert all(not m.delete_url for m in page.media)


async def test_an_admin_lists_everyone_or_one_owner(darkroom: Darkroom) -> None:
    ann, bob = await darkroom.new_user("ann"), await darkroom.new_user("bob")
    a, b = await darkroom.upload(ann), await darkroom.upload(bob)
    admin = as_key(darkroom.admin_key)
    everyone = await darkroom.media.ListMedia(media_pb2.ListMediaRequest(), metadata=admin)
    assert [m.id_encoded for m in everyone.media] == [b.id_encoded, a.id_encoded]
    anns = await darkroom.media.ListMedia(media_pb2.ListMediaRequest(owner="ann"), metadata=admin)
    assert [m.id_encoded for m in anns.media] == [a.id_encoded]


async def test_a_user_may_not_list_another_users_media(darkroom: Darkroom) -> None:
    ann = await darkroom.new_user("ann")
    await darkroom.new_user("bob")
    request = media_pb2.ListMediaRequest(owner="bob")
    failed = await failure(darkroom.media.ListMedia(request, metadata=as_key(ann)))
    assert failed.code == grpc.StatusCode.PERMISSION_DENIED
    assert failed.reason == "PERMISSION_DENIED"
    request = media_pb2.ListMediaRequest(owner="nobody")
    failed = await failure(darkroom.media.ListMedia(request, metadata=as_key(ann)))
    assert (failed.code, failed.metadata["field"]) == (grpc.StatusCode.NOT_FOUND, "owner")
    assert failed.violations == []  # a field violation is for malformed arguments only


@pytest.mark.parametrize(
    ("request_", "field"),
    [
        (media_pb2.ListMediaRequest(page_size=-1), "page_size"),
        (media_pb2.ListMediaRequest(page_token="!!"), "page_token"),
    ],
)
async def test_a_malformed_list_request_names_the_field(
    darkroom: Darkroom, request_: media_pb2.ListMediaRequest, field: str
) -> None:
    failed = await failure(darkroom.media.ListMedia(request_, metadata=as_key(darkroom.admin_key)))
    assert failed.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failed.violations == [(field, failed.message)]


async def test_a_guest_may_not_list(darkroom: Darkroom) -> None:
    await darkroom.admin.SetGuestKey(
        admin_pb2.SetGuestKeyRequest(guest_key="guest-key-123456"),
        metadata=as_key(darkroom.admin_key),
    )
    failed = await failure(
        darkroom.media.ListMedia(media_pb2.ListMediaRequest(key="guest-key-123456"))
    )
    assert failed.code == grpc.StatusCode.PERMISSION_DENIED


# --- DeleteMedia --------------------------------------------------------------------------


async def test_the_delete_token_deletes_the_row_and_every_file(darkroom: Darkroom) -> None:
    uploaded = await darkroom.upload(await darkroom.new_user("ann"))
    assert darkroom.stored_files() != []
    request = media_pb2.DeleteMediaRequest(
        id=uploaded.id_encoded, delete_token=_token(uploaded.delete_url)
    )
    reply = await darkroom.media.DeleteMedia(request)
    assert reply.id == uploaded.id_encoded
    assert darkroom.stored_files() == []
    failed = await failure(
        darkroom.media.GetMedia(media_pb2.GetMediaRequest(id=uploaded.id_encoded))
    )
    assert failed.reason == "MEDIA_NOT_FOUND"
    again = await failure(darkroom.media.DeleteMedia(request))
    assert again.reason == "MEDIA_NOT_FOUND"


async def test_a_wrong_token_or_a_strangers_key_looks_like_missing_media(
    darkroom: Darkroom,
) -> None:
    ann, bob = await darkroom.new_user("ann"), await darkroom.new_user("bob")
    uploaded = await darkroom.upload(ann)
    wrong = media_pb2.DeleteMediaRequest(id=uploaded.id_encoded, delete_token="wrong")
    for metadata in ([], as_key(bob)):
        failed = await failure(darkroom.media.DeleteMedia(wrong, metadata=metadata))
        assert (failed.code, failed.reason) == (grpc.StatusCode.NOT_FOUND, "MEDIA_NOT_FOUND")
    assert (await darkroom.media.GetMedia(media_pb2.GetMediaRequest(id=uploaded.id_encoded))).media


@pytest.mark.parametrize("who", ["owner", "admin"])
async def test_the_owner_or_an_admin_deletes_with_a_key_alone(darkroom: Darkroom, who: str) -> None:
    ann = await darkroom.new_user("ann")
    uploaded = await darkroom.upload(ann)
    key = ann if who == "owner" else darkroom.admin_key
    request = media_pb2.DeleteMediaRequest(id=uploaded.id_encoded, key=key)
    assert (await darkroom.media.DeleteMedia(request)).id == uploaded.id_encoded
    assert darkroom.stored_files() == []


# --- WhoAmI -------------------------------------------------------------------------------


async def test_whoami_names_the_kind_of_key(darkroom: Darkroom) -> None:
    ann = await darkroom.new_user("ann")
    admin = await darkroom.media.WhoAmI(
        media_pb2.WhoAmIRequest(), metadata=as_key(darkroom.admin_key)
    )
    user = await darkroom.media.WhoAmI(media_pb2.WhoAmIRequest(key=ann))
    assert (admin.kind, admin.username, admin.can_upload) == ("admin", "root", True)
    assert (user.kind, user.username, user.can_upload) == ("user", "ann", True)


async def test_whoami_of_a_guest_follows_the_guest_uploads_setting(darkroom: Darkroom) -> None:
    admin = as_key(darkroom.admin_key)
    guest_key = (
        await darkroom.admin.GenerateGuestKey(admin_pb2.GenerateGuestKeyRequest(), metadata=admin)
    ).guest_key
    guest = await darkroom.media.WhoAmI(media_pb2.WhoAmIRequest(), metadata=as_key(guest_key))
    assert (guest.kind, guest.username, guest.can_upload) == ("guest", "", True)
    await darkroom.admin.UpdateSettings(
        admin_pb2.UpdateSettingsRequest(settings=admin_pb2.Settings(guest_uploads=False)),
        metadata=admin,
    )
    guest = await darkroom.media.WhoAmI(media_pb2.WhoAmIRequest(), metadata=as_key(guest_key))
    assert guest.can_upload is False


async def test_whoami_without_a_key_is_unauthenticated(darkroom: Darkroom) -> None:
    failed = await failure(darkroom.media.WhoAmI(media_pb2.WhoAmIRequest()))
    assert (failed.code, failed.reason) == (grpc.StatusCode.UNAUTHENTICATED, "NO_KEY_PROVIDED")
