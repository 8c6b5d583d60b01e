"""API keys in Chevereto's order, keys at rest, and the admin surface."""

from __future__ import annotations

import uuid
from typing import Any

import grpc
import pytest
import sqlalchemy

from darkroom.v1 import admin_pb2, media_pb2
from tests.conftest import admin_md
from tests.integration.test_upload_formats import upload
from tests.support import media
from tests.support.server import RunningServer, chevereto_error, error_info

PHOTO = media.jpeg(320, 240, seed=11)


def _refusal(server: RunningServer, header_key: str | None, **fields: Any) -> tuple[int, str]:
    request = media_pb2.UploadRequest(
        file=PHOTO, options=media_pb2.UploadOptions(filename="k.jpg", **fields)
    )
    metadata = [] if header_key is None else [("x-api-key", header_key)]
    with pytest.raises(grpc.RpcError) as failure:
        server.media_stub().Upload(request, metadata=metadata)
    return chevereto_error(failure.value)


def test_missing_key(server: RunningServer) -> None:
    assert _refusal(server, None) == (100, "No key provided")


def test_wrong_user_key(server: RunningServer, user_key: str) -> None:
    forged = user_key[:-4] + ("0000" if not user_key.endswith("0000") else "1111")
    assert _refusal(server, forged) == (100, "Invalid API key.")
    # An id far beyond any row, and a key of another shape with the chv_ prefix.
    assert _refusal(server, "chv_" + "Z" * 20 + "_" + "0" * 128) == (100, "Invalid API key.")
    assert _refusal(server, "chv_short") == (100, "Invalid API key.")


def test_guest_key_that_was_never_set(fresh_server: RunningServer) -> None:
    # Chevereto with guest keys off: the same answer as for any wrong key.
    assert _refusal(fresh_server, "some-public-key") == (100, "Invalid API key.")
    with pytest.raises(grpc.RpcError) as failure:
        fresh_server.media_stub().Upload(
            media_pb2.UploadRequest(file=PHOTO), metadata=[("x-api-key", "some-public-key")]
        )
    assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert error_info(failure.value).reason == "INVALID_API_KEY"


def test_header_key_wins_over_the_key_field(server: RunningServer, user_key: str) -> None:
    wrong = "chv_zz_" + "0" * 128
    assert _refusal(server, wrong, key=user_key) == (100, "Invalid API key.")
    m = (
        server.media_stub()
        .Upload(
            media_pb2.UploadRequest(
                file=PHOTO, options=media_pb2.UploadOptions(filename="f.jpg", key=user_key)
            )
        )
        .media
    )
    assert m.id_encoded


def test_error_details_carry_reason_and_status(server: RunningServer) -> None:
    with pytest.raises(grpc.RpcError) as failure:
        server.media_stub().Upload(
            media_pb2.UploadRequest(file=PHOTO), metadata=[("x-api-key", "")]
        )
    assert failure.value.code() == grpc.StatusCode.UNAUTHENTICATED
    info = error_info(failure.value)
    assert (info.reason, info.domain) == ("NO_KEY_PROVIDED", "darkroom.v1")


def test_guest_uploads_off_refuses_only_the_guest_key(fresh_server: RunningServer) -> None:
    server = fresh_server
    stub = server.admin_stub()
    guest = stub.GenerateGuestKey(admin_pb2.GenerateGuestKeyRequest(), metadata=admin_md(server))
    assert len(guest.guest_key) == 64
    assert upload(server, guest.guest_key, PHOTO, "g.jpg").id_encoded
    stub.UpdateSettings(
        admin_pb2.UpdateSettingsRequest(settings=admin_pb2.Settings(guest_uploads=False)),
        metadata=admin_md(server),
    )
    assert _refusal(server, guest.guest_key) == (401, "Request denied")
    user = stub.CreateUser(admin_pb2.CreateUserRequest(username="bob"), metadata=admin_md(server))
    assert upload(server, user.api_key, PHOTO, "u.jpg").id_encoded

    stub.ClearGuestKey(admin_pb2.ClearGuestKeyRequest(), metadata=admin_md(server))
    assert _refusal(server, guest.guest_key) == (100, "Invalid API key.")


def test_rotate_and_revoke_keys(server: RunningServer) -> None:
    stub = server.admin_stub()
    name = f"r{uuid.uuid4().hex[:8]}"
    first = stub.CreateUser(admin_pb2.CreateUserRequest(username=name), metadata=admin_md(server))
    assert first.api_key.startswith("chv_") and len(first.api_key.split("_")[2]) == 128
    rotated = stub.RotateApiKey(
        admin_pb2.RotateApiKeyRequest(username=name), metadata=admin_md(server)
    )
    assert _refusal(server, first.api_key) == (100, "Invalid API key.")
    assert upload(server, rotated.api_key, PHOTO, "r.jpg").id_encoded
    stub.RevokeApiKey(admin_pb2.RevokeApiKeyRequest(username=name), metadata=admin_md(server))
    assert _refusal(server, rotated.api_key) == (100, "Invalid API key.")
    again = stub.CreateApiKey(
        admin_pb2.CreateApiKeyRequest(username=name), metadata=admin_md(server)
    )
    assert upload(server, again.api_key, PHOTO, "a.jpg").id_encoded


def test_disabled_users_are_denied(server: RunningServer) -> None:
    stub = server.admin_stub()
    name = f"d{uuid.uuid4().hex[:8]}"
    user = stub.CreateUser(admin_pb2.CreateUserRequest(username=name), metadata=admin_md(server))
    stub.DisableUser(admin_pb2.DisableUserRequest(username=name), metadata=admin_md(server))
    assert _refusal(server, user.api_key) == (401, "Request denied")


def test_admin_rpcs_need_an_admin_key(server: RunningServer, user_key: str) -> None:
    with pytest.raises(grpc.RpcError) as failure:
        server.admin_stub().ListUsers(
            admin_pb2.ListUsersRequest(), metadata=[("x-api-key", user_key)]
        )
    assert failure.value.code() == grpc.StatusCode.PERMISSION_DENIED


def test_admin_surface_lists_what_it_made(server: RunningServer) -> None:
    stub = server.admin_stub()
    name = f"l{uuid.uuid4().hex[:8]}"
    stub.CreateUser(admin_pb2.CreateUserRequest(username=name), metadata=admin_md(server))
    users = {
        u.username: u
        for u in stub.ListUsers(admin_pb2.ListUsersRequest(), metadata=admin_md(server)).users
    }
    assert users[name].has_key and users[name].key_hint.endswith("_***")
    assert users["root"].is_admin
    with pytest.raises(grpc.RpcError) as duplicate:
        stub.CreateUser(admin_pb2.CreateUserRequest(username=name), metadata=admin_md(server))
    assert duplicate.value.code() == grpc.StatusCode.FAILED_PRECONDITION

    settings = stub.GetSettings(admin_pb2.GetSettingsRequest(), metadata=admin_md(server))
    assert settings.settings.upload_max_filesize_mb == 100
    assert settings.settings.upload_max_filesize_mb_guest == 10
    with pytest.raises(grpc.RpcError) as bad:
        stub.UpdateSettings(
            admin_pb2.UpdateSettingsRequest(
                settings=admin_pb2.Settings(upload_enabled_image_formats="jpg,exe")
            ),
            metadata=admin_md(server),
        )
    assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_cli_and_rpc_see_the_same_accounts(server: RunningServer) -> None:
    name = f"cli{uuid.uuid4().hex[:6]}"
    key = server.cli("users", "create", name).strip().splitlines()[-1]
    assert upload(server, key, PHOTO, "cli.jpg").id_encoded
    album_id = server.cli("albums", "create", "From CLI", "--owner", name).strip().splitlines()[-1]
    albums = (
        server.admin_stub()
        .ListAlbums(admin_pb2.ListAlbumsRequest(), metadata=[("x-api-key", key)])
        .albums
    )
    assert [a.id for a in albums] == [album_id]
    new_key = server.cli("keys", "rotate", name).strip().splitlines()[-1]
    assert _refusal(server, key) == (100, "Invalid API key.")
    assert upload(server, new_key, PHOTO, "cli2.jpg").id_encoded
    category_id = int(server.cli("categories", "create", f"Cat {name}").strip().splitlines()[-1])
    categories = (
        server.admin_stub()
        .ListCategories(admin_pb2.ListCategoriesRequest(), metadata=[("x-api-key", new_key)])
        .categories
    )
    assert category_id in {c.id for c in categories}


def test_cli_manages_the_guest_key(fresh_server: RunningServer) -> None:
    server = fresh_server
    guest = server.cli("guest-key", "generate").strip().splitlines()[-1]
    assert upload(server, guest, PHOTO, "g.jpg").id_encoded
    server.cli("guest-key", "set", "a-chosen-guest-key-0123")
    assert _refusal(server, guest) == (100, "Invalid API key.")
    assert upload(server, "a-chosen-guest-key-0123", PHOTO, "g2.jpg").id_encoded
    server.cli("guest-key", "clear")
    assert _refusal(server, "a-chosen-guest-key-0123") == (100, "Invalid API key.")


def _every_stored_value(server: RunningServer) -> str:
    """Every value of every row, whatever the database."""
    url = server.env["DARKROOM_DATABASE_URL"] or f"sqlite:///{server.data_dir / 'darkroom.db'}"
    engine = sqlalchemy.create_engine(url)
    try:
        metadata = sqlalchemy.MetaData()
        metadata.reflect(engine)
        with engine.connect() as conn:
            return repr([list(conn.execute(table.select())) for table in metadata.tables.values()])
    finally:
        engine.dispose()


def test_keys_and_delete_tokens_are_not_stored_in_plaintext(server: RunningServer) -> None:
    stub = server.admin_stub()
    name = f"h{uuid.uuid4().hex[:8]}"
    key = stub.CreateUser(
        admin_pb2.CreateUserRequest(username=name), metadata=admin_md(server)
    ).api_key
    guest = stub.GenerateGuestKey(
        admin_pb2.GenerateGuestKeyRequest(), metadata=admin_md(server)
    ).guest_key
    m = upload(server, key, PHOTO, "h.jpg")
    token = m.delete_url.rsplit("/", 1)[1]

    stored = _every_stored_value(server)
    assert name in stored  # the dump does hold the rows
    for secret in (key, key.split("_")[2], guest, token, server.admin_key):
        assert secret not in stored


def test_flood_limits_count_per_key_and_per_address(fresh_server: RunningServer) -> None:
    server = fresh_server
    stub = server.admin_stub()
    stub.UpdateSettings(
        admin_pb2.UpdateSettingsRequest(
            settings=admin_pb2.Settings(flood_protection=True, flood_uploads_per_minute=2)
        ),
        metadata=admin_md(server),
    )
    _, alice = server.new_user("alice")
    _, bob = server.new_user("bob")

    def send(key: str, address: str | None = None) -> media_pb2.Media:
        metadata = [("x-api-key", key)]
        if address is not None:
            metadata.append(("x-forwarded-for", f"198.51.100.9, {address}"))
        request = media_pb2.UploadRequest(
            file=PHOTO, options=media_pb2.UploadOptions(filename="f.jpg")
        )
        return server.media_stub().Upload(request, metadata=metadata).media  # type: ignore[no-any-return]

    send(alice, "203.0.113.1")
    send(alice, "203.0.113.2")
    message = "Flooding detected. You can only upload 2 images per minute"
    with pytest.raises(grpc.RpcError) as by_key:
        send(alice, "203.0.113.3")  # a fresh address does not help a busy key
    assert chevereto_error(by_key.value) == (130, message)
    assert by_key.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED

    send(bob, "203.0.113.1")  # the address has 1 upload: allowed
    with pytest.raises(grpc.RpcError) as by_address:
        send(bob, "203.0.113.1")  # now 2 from there, whoever's key
    assert chevereto_error(by_address.value) == (130, message)
    # The forwarded address counts, not the earlier entries a client could forge.
    send(bob, "203.0.113.4")
    # Admins are exempt.
    for _ in range(3):
        send(server.admin_key, "203.0.113.1")
