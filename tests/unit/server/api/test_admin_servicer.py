"""AdminService over a real grpc.aio server in process: users, keys, albums, settings.

Who may call what is the servicer's first line in every method; the statuses here are
what any gRPC client sees.
"""

from __future__ import annotations

from typing import Any

import grpc
import pytest

from darkroom.v1 import admin_pb2, media_pb2
from tests.unit.server.api.in_process import Darkroom, as_key, failure

pytestmark = pytest.mark.asyncio


def _admin(darkroom: Darkroom) -> list[tuple[str, str]]:
    return as_key(darkroom.admin_key)


def _whoami(darkroom: Darkroom, key: str) -> Any:
    """The call, to await for its answer or to hand to ``failure``."""
    return darkroom.media.WhoAmI(media_pb2.WhoAmIRequest(), metadata=as_key(key))


# --- users --------------------------------------------------------------------------------


async def test_an_admin_creates_a_user_whose_key_works_at_once(darkroom: Darkroom) -> None:
    reply = await darkroom.admin.CreateUser(
        admin_pb2.CreateUserRequest(username="ann"), metadata=_admin(darkroom)
    )
    assert (reply.user.username, reply.user.is_admin, reply.user.has_key) == ("ann", False, True)
    assert reply.user.key_hint.endswith("_***") and reply.user.date_gmt
    assert reply.api_key not in reply.user.key_hint
    assert (await _whoami(darkroom, reply.api_key)).username == "ann"


async def test_only_an_admin_key_may_manage_users(darkroom: Darkroom) -> None:
    ann = await darkroom.new_user("ann")
    request = admin_pb2.CreateUserRequest(username="bob")
    denied = await failure(darkroom.admin.CreateUser(request, metadata=as_key(ann)))
    assert (denied.code, denied.reason) == (grpc.StatusCode.PERMISSION_DENIED, "PERMISSION_DENIED")
    nobody = await failure(darkroom.admin.CreateUser(request))
    assert (nobody.code, nobody.reason) == (grpc.StatusCode.UNAUTHENTICATED, "NO_KEY_PROVIDED")
    listed = await darkroom.admin.ListUsers(admin_pb2.ListUsersRequest(), metadata=_admin(darkroom))
    assert [u.username for u in listed.users] == ["root", "ann"]


async def test_a_taken_name_is_a_failed_precondition(darkroom: Darkroom) -> None:
    await darkroom.new_user("ann")
    failed = await failure(
        darkroom.admin.CreateUser(
            admin_pb2.CreateUserRequest(username="ann"), metadata=_admin(darkroom)
        )
    )
    assert (failed.code, failed.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "ALREADY_EXISTS")
    assert failed.metadata["field"] == "username"
    assert failed.violations == []  # not malformed, only taken


async def test_a_malformed_name_is_an_invalid_argument_with_a_field_violation(
    darkroom: Darkroom,
) -> None:
    failed = await failure(
        darkroom.admin.CreateUser(
            admin_pb2.CreateUserRequest(username="has space"), metadata=_admin(darkroom)
        )
    )
    assert failed.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failed.violations == [("username", failed.message)]


async def test_a_disabled_users_key_is_denied_as_chevereto_denies_it(darkroom: Darkroom) -> None:
    ann = await darkroom.new_user("ann")
    reply = await darkroom.admin.DisableUser(
        admin_pb2.DisableUserRequest(username="ann"), metadata=_admin(darkroom)
    )
    assert reply.user.is_disabled
    failed = await failure(darkroom.media.WhoAmI(media_pb2.WhoAmIRequest(), metadata=as_key(ann)))
    assert (failed.code, failed.chevereto) == (
        grpc.StatusCode.PERMISSION_DENIED,
        (401, "Request denied"),
    )
    missing = await failure(
        darkroom.admin.DisableUser(
            admin_pb2.DisableUserRequest(username="nobody"), metadata=_admin(darkroom)
        )
    )
    assert (missing.code, missing.reason) == (grpc.StatusCode.NOT_FOUND, "NOT_FOUND")


# --- API keys -----------------------------------------------------------------------------


async def test_rotating_a_key_retires_the_old_one(darkroom: Darkroom) -> None:
    old = await darkroom.new_user("ann")
    reply = await darkroom.admin.RotateApiKey(
        admin_pb2.RotateApiKeyRequest(username="ann"), metadata=_admin(darkroom)
    )
    assert reply.api_key != old
    assert (await _whoami(darkroom, reply.api_key)).username == "ann"
    failed = await failure(darkroom.media.WhoAmI(media_pb2.WhoAmIRequest(), metadata=as_key(old)))
    assert failed.chevereto == (100, "Invalid API key.")


async def test_a_revoked_key_is_gone_and_a_new_one_can_be_made(darkroom: Darkroom) -> None:
    old = await darkroom.new_user("ann")
    admin = _admin(darkroom)
    taken = await failure(
        darkroom.admin.CreateApiKey(admin_pb2.CreateApiKeyRequest(username="ann"), metadata=admin)
    )
    assert (taken.code, taken.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "ALREADY_EXISTS")
    await darkroom.admin.RevokeApiKey(admin_pb2.RevokeApiKeyRequest(username="ann"), metadata=admin)
    assert (await failure(_whoami(darkroom, old))).reason == "INVALID_API_KEY"
    again = await failure(
        darkroom.admin.RevokeApiKey(admin_pb2.RevokeApiKeyRequest(username="ann"), metadata=admin)
    )
    assert again.code == grpc.StatusCode.NOT_FOUND
    new = await darkroom.admin.CreateApiKey(
        admin_pb2.CreateApiKeyRequest(username="ann"), metadata=admin
    )
    assert (await _whoami(darkroom, new.api_key)).username == "ann"


# --- the guest key ------------------------------------------------------------------------


async def test_the_guest_key_can_be_set_generated_and_cleared(darkroom: Darkroom) -> None:
    admin = _admin(darkroom)
    await darkroom.admin.SetGuestKey(
        admin_pb2.SetGuestKeyRequest(guest_key="chosen-guest-key"), metadata=admin
    )
    assert (await _whoami(darkroom, "chosen-guest-key")).kind == "guest"
    generated = await darkroom.admin.GenerateGuestKey(
        admin_pb2.GenerateGuestKeyRequest(), metadata=admin
    )
    assert (await _whoami(darkroom, generated.guest_key)).kind == "guest"
    assert (await failure(_whoami(darkroom, "chosen-guest-key"))).reason == "INVALID_API_KEY"
    await darkroom.admin.ClearGuestKey(admin_pb2.ClearGuestKeyRequest(), metadata=admin)
    assert (await failure(_whoami(darkroom, generated.guest_key))).reason == "INVALID_API_KEY"


async def test_a_guest_key_shaped_like_a_user_key_is_refused(darkroom: Darkroom) -> None:
    user_key = await darkroom.new_user("ann")
    failed = await failure(
        darkroom.admin.SetGuestKey(
            admin_pb2.SetGuestKeyRequest(guest_key=user_key), metadata=_admin(darkroom)
        )
    )
    assert failed.code == grpc.StatusCode.INVALID_ARGUMENT


# --- albums and categories ----------------------------------------------------------------


async def test_a_user_makes_albums_and_uploads_into_them(darkroom: Darkroom) -> None:
    ann = await darkroom.new_user("ann")
    album = (
        await darkroom.admin.CreateAlbum(
            admin_pb2.CreateAlbumRequest(name="Trips", description="Far"), metadata=as_key(ann)
        )
    ).album
    assert (album.name, album.description, album.owner) == ("Trips", "Far", "ann") and album.id
    await darkroom.upload(ann)
    inside = await darkroom.upload(ann, album_id=album.id)
    listed = await darkroom.media.ListMedia(
        media_pb2.ListMediaRequest(album_id=album.id), metadata=as_key(ann)
    )
    assert [m.id_encoded for m in listed.media] == [inside.id_encoded]
    albums = await darkroom.admin.ListAlbums(admin_pb2.ListAlbumsRequest(), metadata=as_key(ann))
    assert list(albums.albums) == [album]


async def test_only_an_admin_makes_or_lists_albums_for_someone_else(darkroom: Darkroom) -> None:
    ann = await darkroom.new_user("ann")
    await darkroom.new_user("bob")
    request = admin_pb2.CreateAlbumRequest(name="Bob's", owner="bob")
    denied = await failure(darkroom.admin.CreateAlbum(request, metadata=as_key(ann)))
    assert denied.code == grpc.StatusCode.PERMISSION_DENIED
    made = await darkroom.admin.CreateAlbum(request, metadata=_admin(darkroom))
    assert made.album.owner == "bob"
    listing = admin_pb2.ListAlbumsRequest(owner="bob")
    assert (await failure(darkroom.admin.ListAlbums(listing, metadata=as_key(ann)))).code == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    bobs = await darkroom.admin.ListAlbums(listing, metadata=_admin(darkroom))
    assert [a.id for a in bobs.albums] == [made.album.id]


async def test_an_album_needs_a_name(darkroom: Darkroom) -> None:
    failed = await failure(
        darkroom.admin.CreateAlbum(admin_pb2.CreateAlbumRequest(), metadata=_admin(darkroom))
    )
    assert failed.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failed.violations == [("name", failed.message)]


async def test_categories_are_made_by_admins_and_listed_to_any_key(darkroom: Darkroom) -> None:
    ann = await darkroom.new_user("ann")
    request = admin_pb2.CreateCategoryRequest(name="Nature", url_key="nature")
    assert (await failure(darkroom.admin.CreateCategory(request, metadata=as_key(ann)))).code == (
        grpc.StatusCode.PERMISSION_DENIED
    )
    made = await darkroom.admin.CreateCategory(request, metadata=_admin(darkroom))
    assert (made.category.name, made.category.url_key) == ("Nature", "nature")
    taken = await failure(darkroom.admin.CreateCategory(request, metadata=_admin(darkroom)))
    assert (taken.reason, taken.metadata["field"]) == ("ALREADY_EXISTS", "url_key")
    listed = await darkroom.admin.ListCategories(
        admin_pb2.ListCategoriesRequest(), metadata=as_key(ann)
    )
    assert list(listed.categories) == [made.category]
    nobody = await failure(darkroom.admin.ListCategories(admin_pb2.ListCategoriesRequest()))
    assert nobody.code == grpc.StatusCode.UNAUTHENTICATED


# --- settings -----------------------------------------------------------------------------


async def test_settings_read_back_what_was_changed_and_nothing_else(darkroom: Darkroom) -> None:
    admin = _admin(darkroom)
    before = (
        await darkroom.admin.GetSettings(admin_pb2.GetSettingsRequest(), metadata=admin)
    ).settings
    assert before.guest_uploads and before.HasField("flood_uploads_per_minute")
    changed = admin_pb2.Settings(guest_uploads=False, flood_uploads_per_minute=7)
    updated = (
        await darkroom.admin.UpdateSettings(
            admin_pb2.UpdateSettingsRequest(settings=changed), metadata=admin
        )
    ).settings
    assert (updated.guest_uploads, updated.flood_uploads_per_minute) == (False, 7)
    assert updated.upload_max_filesize_mb == before.upload_max_filesize_mb
    after = (
        await darkroom.admin.GetSettings(admin_pb2.GetSettingsRequest(), metadata=admin)
    ).settings
    assert after == updated


async def test_settings_are_for_admins_and_out_of_range_values_are_refused(
    darkroom: Darkroom,
) -> None:
    ann = await darkroom.new_user("ann")
    denied = await failure(
        darkroom.admin.GetSettings(admin_pb2.GetSettingsRequest(), metadata=as_key(ann))
    )
    assert denied.code == grpc.StatusCode.PERMISSION_DENIED
    too_big = admin_pb2.Settings(upload_max_filesize_mb=10**6)
    failed = await failure(
        darkroom.admin.UpdateSettings(
            admin_pb2.UpdateSettingsRequest(settings=too_big), metadata=_admin(darkroom)
        )
    )
    assert failed.code == grpc.StatusCode.INVALID_ARGUMENT
    assert failed.violations and failed.violations[0][0] == "upload_max_filesize_mb"
