"""Reading, listing, deleting and expiring media."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import grpc
import pytest
import sqlalchemy

from darkroom.v1 import media_pb2
from tests.conftest import admin_md
from tests.integration.test_upload_formats import upload
from tests.support import media
from tests.support.server import RunningServer
from tests.support.stored import is_stored
from tests.support.waiting import wait_until

PHOTO = media.jpeg(900, 600, seed=31)


def _files(server: RunningServer, m: media_pb2.Media) -> list[str]:
    return [url for url in (m.url, m.thumb.url, m.medium.url) if url]


def _get(server: RunningServer, id_encoded: str) -> grpc.StatusCode:
    try:
        server.media_stub().GetMedia(media_pb2.GetMediaRequest(id=id_encoded))
    except grpc.RpcError as error:
        return error.code()
    return grpc.StatusCode.OK


def _wait_for(condition: Callable[[], bool]) -> None:
    wait_until(condition, 30.0, "expiry")


def test_delete_with_the_token_removes_row_and_files(server: RunningServer, user_key: str) -> None:
    m = upload(server, user_key, PHOTO, "bye.jpg")
    urls = _files(server, m)
    assert len(urls) == 3 and all(is_stored(server, url) for url in urls)
    token = m.delete_url.rsplit("/", 1)[1]

    with pytest.raises(grpc.RpcError) as wrong:
        server.media_stub().DeleteMedia(
            media_pb2.DeleteMediaRequest(id=m.id_encoded, delete_token="0" * 48)
        )
    assert wrong.value.code() == grpc.StatusCode.NOT_FOUND
    assert all(is_stored(server, url) for url in urls)

    server.media_stub().DeleteMedia(
        media_pb2.DeleteMediaRequest(id=m.id_encoded, delete_token=token)
    )
    assert _get(server, m.id_encoded) == grpc.StatusCode.NOT_FOUND
    assert not any(is_stored(server, url) for url in urls)


def test_delete_by_key_owner_or_admin_only(server: RunningServer, user_key: str) -> None:
    m = upload(server, user_key, PHOTO, "mine.jpg")
    _, other = server.new_user()
    with pytest.raises(grpc.RpcError) as refused:
        server.media_stub().DeleteMedia(
            media_pb2.DeleteMediaRequest(id=m.id_encoded), metadata=[("x-api-key", other)]
        )
    assert refused.value.code() == grpc.StatusCode.NOT_FOUND
    server.media_stub().DeleteMedia(
        media_pb2.DeleteMediaRequest(id=m.id_encoded), metadata=[("x-api-key", user_key)]
    )
    assert _get(server, m.id_encoded) == grpc.StatusCode.NOT_FOUND

    n = upload(server, user_key, PHOTO, "admin-deletes.jpg")
    server.media_stub().DeleteMedia(
        media_pb2.DeleteMediaRequest(id=n.id_encoded), metadata=admin_md(server)
    )
    assert _get(server, n.id_encoded) == grpc.StatusCode.NOT_FOUND


def test_unknown_ids_are_not_found(server: RunningServer) -> None:
    for bogus in ("", "zzzzzzzzzz", "!!"):
        assert _get(server, bogus) == grpc.StatusCode.NOT_FOUND


def test_list_pages_through_the_users_media_newest_first(server: RunningServer) -> None:
    _, key = server.new_user()
    uploaded = [upload(server, key, PHOTO, f"p{i}.jpg").id_encoded for i in range(5)]
    seen: list[str] = []
    token = ""
    while True:
        page = server.media_stub().ListMedia(
            media_pb2.ListMediaRequest(page_size=2, page_token=token),
            metadata=[("x-api-key", key)],
        )
        assert len(page.media) <= 2
        seen += [item.id_encoded for item in page.media]
        token = page.next_page_token
        if not token:
            break
    assert seen == list(reversed(uploaded))
    everyone = server.media_stub().ListMedia(
        media_pb2.ListMediaRequest(page_size=500), metadata=admin_md(server)
    )
    assert set(uploaded) <= {item.id_encoded for item in everyone.media}


def _expire_now(server: RunningServer, id_encoded: str) -> None:
    """Move an item's expiry into the past: the clock is the one thing a test can't wait for."""
    url = server.env["DARKROOM_DATABASE_URL"] or f"sqlite:///{server.data_dir / 'darkroom.db'}"
    engine = sqlalchemy.create_engine(url)
    try:
        with engine.begin() as conn:
            past = datetime.now(UTC) - timedelta(seconds=1)
            media_table = sqlalchemy.table(
                "media",
                sqlalchemy.column("id"),
                sqlalchemy.column("expiration_gmt"),
                sqlalchemy.column("original_filename"),
            )
            conn.execute(
                media_table.update()
                .where(media_table.c.original_filename == f"{id_encoded}.jpg")
                .values(expiration_gmt=past)
            )
    finally:
        engine.dispose()


def test_expired_media_are_deleted_with_their_files(server: RunningServer, user_key: str) -> None:
    marker = uuid.uuid4().hex[:10]
    m = upload(server, user_key, PHOTO, f"{marker}.jpg", expiration="PT5M")
    keep = upload(server, user_key, PHOTO, "keep.jpg", expiration="PT5M")
    urls = _files(server, m)
    _expire_now(server, marker)
    _wait_for(lambda: _get(server, m.id_encoded) == grpc.StatusCode.NOT_FOUND)
    _wait_for(lambda: not any(is_stored(server, url) for url in urls))
    assert _get(server, keep.id_encoded) == grpc.StatusCode.OK


def test_expiry_survives_a_restart(fresh_server: RunningServer) -> None:
    server = fresh_server
    marker = uuid.uuid4().hex[:10]
    m = upload(server, server.admin_key, PHOTO, f"{marker}.jpg", expiration="P1D")
    urls = _files(server, m)
    server.stop()
    _expire_now(server, marker)  # it expired while the server was down

    restarted = server.start_again()
    try:
        _wait_for(lambda: _get(restarted, m.id_encoded) == grpc.StatusCode.NOT_FOUND)
        _wait_for(lambda: not any(is_stored(server, url) for url in urls))
    finally:
        restarted.stop()
