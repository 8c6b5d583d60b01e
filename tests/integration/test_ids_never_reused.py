"""Public ids (media, keys) are never handed out twice, on every database and across restarts.

Chevereto never reuses an id: a share link that once showed one upload must never
show another, and a key's id part must never name a later key.
"""

from __future__ import annotations

from darkroom.v1 import admin_pb2, media_pb2
from tests.integration.test_upload_formats import upload
from tests.support import media
from tests.support.server import RunningServer, media_gone

PHOTO = media.jpeg(200, 150, seed=43)


def _delete(server: RunningServer, id_encoded: str) -> None:
    server.media_stub().DeleteMedia(
        media_pb2.DeleteMediaRequest(id=id_encoded), metadata=server.admin_metadata()
    )


def test_a_deleted_items_id_is_never_handed_out_again(fresh_server: RunningServer) -> None:
    server = fresh_server
    a = upload(server, server.admin_key, PHOTO, "a.jpg").id_encoded
    b = upload(server, server.admin_key, PHOTO, "b.jpg").id_encoded
    _delete(server, b)  # the newest item: the one a reused id would bring back
    c = upload(server, server.admin_key, PHOTO, "c.jpg").id_encoded
    assert c not in (a, b)
    assert media_gone(server, b)  # the old share link does not show the new upload

    _delete(server, c)
    server.stop()
    restarted = server.start_again()
    try:
        d = upload(restarted, server.admin_key, PHOTO, "d.jpg").id_encoded
        assert d not in (a, b, c)
        assert media_gone(restarted, b) and media_gone(restarted, c)
    finally:
        restarted.stop()


def test_a_rotated_key_never_gets_the_old_keys_id(fresh_server: RunningServer) -> None:
    server = fresh_server
    name, old = server.new_user()  # the newest key row
    new = (
        server.admin_stub()
        .RotateApiKey(
            admin_pb2.RotateApiKeyRequest(username=name), metadata=server.admin_metadata()
        )
        .api_key
    )
    # "chv_<encoded key id>_<secret>": the id part names the key row.
    assert new.split("_")[1] != old.split("_")[1]
