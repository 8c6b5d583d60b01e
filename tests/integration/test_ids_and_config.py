"""Chevereto-compatible ids from a configured salt and padding, kept across restarts."""

from __future__ import annotations

from pathlib import Path

from darkroom.v1 import media_pb2
from tests.integration.test_upload_formats import upload
from tests.support import media
from tests.support.server import boot_with_admin, start_server

PHOTO = media.jpeg(200, 150, seed=41)


def test_configured_salt_and_padding_give_chevereto_ids(tmp_path: Path) -> None:
    # Vectors of docs/chevereto-compatibility.md §5.4: salt "changeme", padding 0: 1 -> "Y".
    env = {"DARKROOM_ID_SALT": "changeme", "DARKROOM_ID_PADDING": "0"}
    server = boot_with_admin(tmp_path / "a", "", env)
    try:
        m = upload(server, server.admin_key, PHOTO, "first.jpg")
        assert m.id_encoded == "Y"
        assert m.url_short == "http://darkroom.test/image/Y"
    finally:
        server.stop()


def test_the_id_codec_is_persisted_on_first_start(tmp_path: Path) -> None:
    first = boot_with_admin(tmp_path / "b", "", {"DARKROOM_ID_PADDING": "5000"})
    try:
        before = upload(first, first.admin_key, PHOTO, "one.jpg").id_encoded
    finally:
        first.stop()
    # Restarted with other settings: the stored salt and padding still rule, so
    # every id handed out stays valid.
    second = start_server(first.data_dir, "", {"DARKROOM_ID_PADDING": "7", "DARKROOM_ID_SALT": "x"})
    second.admin_key = first.admin_key
    try:
        after = upload(second, second.admin_key, PHOTO, "two.jpg").id_encoded
        got = second.media_stub().GetMedia(media_pb2.GetMediaRequest(id=before)).media
        assert got.original_filename == "one.jpg"
        assert len(after) >= len(before)  # padding 5000 makes long ids
    finally:
        second.stop()
