"""Native gRPC, gRPC-Web, the /v1 JSON mapping and media files, all on Envoy's one port."""

from __future__ import annotations

import base64
import struct
import uuid
from typing import Any

import grpc
import httpx
import pytest
from google.protobuf import json_format
from google.protobuf.message import Message

from darkroom.v1 import admin_pb2, media_pb2
from tests.support import media
from tests.support.stack import Stack

PHOTO = media.jpeg(900, 600, seed=61)


def _without_clock(value: Any) -> Any:
    """Drop ``how_long_ago``: the two answers are computed at different moments."""
    if isinstance(value, dict):
        return {k: _without_clock(v) for k, v in value.items() if k != "how_long_ago"}
    if isinstance(value, list):
        return [_without_clock(v) for v in value]
    return value


def _grpc_json(message: Message) -> dict[str, Any]:
    """A gRPC answer in the /v1 mapping's JSON form (field names kept, defaults printed)."""
    return _without_clock(  # type: ignore[no-any-return]
        json_format.MessageToDict(
            message, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
        )
    )


@pytest.fixture(scope="module")
def uploaded(stack: Stack) -> media_pb2.Media:
    reply = stack.media_stub().Upload(
        media_pb2.UploadRequest(file=PHOTO, options=media_pb2.UploadOptions(filename="one.jpg")),
        metadata=stack.admin_metadata(),
    )
    return reply.media  # type: ignore[no-any-return]


def test_native_grpc_through_envoy(stack: Stack, uploaded: media_pb2.Media) -> None:
    got = stack.media_stub().GetMedia(media_pb2.GetMediaRequest(id=uploaded.id_encoded))
    assert got.media.url == uploaded.url
    with pytest.raises(grpc.RpcError) as failure:
        stack.media_stub().GetMedia(media_pb2.GetMediaRequest(id="nope"))
    assert failure.value.code() == grpc.StatusCode.NOT_FOUND


def test_grpc_web_through_envoy(stack: Stack, uploaded: media_pb2.Media) -> None:
    payload = media_pb2.GetMediaRequest(id=uploaded.id_encoded).SerializeToString()
    frame = b"\x00" + struct.pack(">I", len(payload)) + payload
    with stack.http() as http:
        reply = http.post(
            "/darkroom.v1.MediaService/GetMedia",
            content=frame,
            headers={"Content-Type": "application/grpc-web+proto", "X-Grpc-Web": "1"},
        )
    assert reply.status_code == 200
    assert reply.headers["content-type"].startswith("application/grpc-web")
    raw = reply.content
    flag, length = raw[0], struct.unpack(">I", raw[1:5])[0]
    assert flag == 0
    message = media_pb2.GetMediaResponse.FromString(raw[5 : 5 + length])
    assert message.media.url == uploaded.url
    assert b"grpc-status:0" in raw[5 + length :].replace(b" ", b"")


def _v1(stack: Stack, method: str, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    with stack.http() as http:
        return http.request(
            method, f"/v1/{path}", json=body, headers={"X-API-Key": stack.admin_key}
        )


def test_v1_reads_match_grpc_answers(stack: Stack, uploaded: media_pb2.Media) -> None:
    md = stack.admin_metadata()
    media_stub, admin_stub = stack.media_stub(), stack.admin_stub()
    album = admin_stub.CreateAlbum(
        admin_pb2.CreateAlbumRequest(name="Parity", owner="root"), metadata=md
    ).album
    pairs = [
        ("GET", f"media/{uploaded.id_encoded}",
         media_stub.GetMedia(media_pb2.GetMediaRequest(id=uploaded.id_encoded))),
        ("GET", "media?page_size=3",
         media_stub.ListMedia(media_pb2.ListMediaRequest(page_size=3), metadata=md)),
        ("GET", "whoami", media_stub.WhoAmI(media_pb2.WhoAmIRequest(), metadata=md)),
        ("GET", "users", admin_stub.ListUsers(admin_pb2.ListUsersRequest(), metadata=md)),
        ("GET", "albums?owner=root",
         admin_stub.ListAlbums(admin_pb2.ListAlbumsRequest(owner="root"), metadata=md)),
        ("GET", "categories",
         admin_stub.ListCategories(admin_pb2.ListCategoriesRequest(), metadata=md)),
        ("GET", "settings", admin_stub.GetSettings(admin_pb2.GetSettingsRequest(), metadata=md)),
    ]  # fmt: skip
    for method, path, answer in pairs:
        reply = _v1(stack, method, path)
        assert reply.status_code == 200, (path, reply.text)
        assert not any(h.startswith("grpc-") for h in reply.headers), path
        assert _without_clock(reply.json()) == _grpc_json(answer), path
    assert album.id in {a["id"] for a in _v1(stack, "GET", "albums").json()["albums"]}


def test_v1_writes_take_effect_like_their_rpcs(stack: Stack) -> None:
    name = f"v1-{uuid.uuid4().hex[:6]}"
    created = _v1(stack, "POST", "users", {"username": name})
    assert created.status_code == 200, created.text
    first_key = created.json()["api_key"]
    assert _v1(stack, "POST", f"users/{name}/key:rotate", {}).json()["api_key"] != first_key
    assert _v1(stack, "DELETE", f"users/{name}/key").status_code == 200
    assert _v1(stack, "POST", f"users/{name}/key", {}).json()["api_key"].startswith("chv_")
    disabled = _v1(stack, "POST", f"users/{name}:disable", {}).json()
    assert disabled["user"]["is_disabled"] is True

    category = _v1(stack, "POST", "categories", {"name": f"Cat {name}"}).json()["category"]
    assert category["url_key"] == f"cat-{name}"
    album = _v1(stack, "POST", "albums", {"name": "JSON album", "owner": "root"}).json()["album"]
    assert album["owner"] == "root"

    guest = _v1(stack, "POST", "guest-key:generate", {}).json()["guest_key"]
    assert len(guest) == 64
    assert (
        _v1(stack, "PUT", "guest-key", {"guest_key": "a-guest-key-set-by-json"}).status_code == 200
    )
    assert _v1(stack, "DELETE", "guest-key").status_code == 200

    settings = _v1(stack, "PATCH", "settings", {"upload_max_filesize_mb_guest": 12}).json()
    assert settings["settings"]["upload_max_filesize_mb_guest"] == 12
    assert settings["settings"]["upload_max_filesize_mb"] == 100  # untouched

    upload = _v1(stack, "POST", "media:upload", {
        "file": base64.b64encode(PHOTO).decode(), "options": {"title": "Via JSON"}})  # fmt: skip
    assert upload.status_code == 200, upload.text
    item = upload.json()["media"]
    assert item["title"] == "Via JSON" and item["delete_url"]
    stream = _v1(stack, "POST", "media:uploadStream", [
        {"options": {"filename": "parts.jpg"}},
        {"chunk": base64.b64encode(PHOTO[:1000]).decode()},
        {"chunk": base64.b64encode(PHOTO[1000:]).decode()},
    ])  # type: ignore[arg-type]  # fmt: skip
    assert stream.status_code == 200, stream.text
    assert stream.json()["media"]["original_filename"] == "parts.jpg"
    token = item["delete_url"].rsplit("/", 1)[1]
    deleted = _v1(stack, "DELETE", f"media/{item['id_encoded']}?delete_token={token}")
    assert deleted.status_code == 200
    assert _v1(stack, "GET", f"media/{item['id_encoded']}").status_code == 404


def test_v1_errors_are_google_rpc_status_json(stack: Stack) -> None:
    missing = _v1(stack, "GET", "media/nope")
    assert missing.status_code == 404
    body = missing.json()
    assert body["code"] == 5 and body["details"][0]["reason"] == "MEDIA_NOT_FOUND"
    assert body["details"][0]["metadata"]["chevereto_code"] == "404"
    with stack.http() as http:
        unauthenticated = http.get("/v1/users")
    assert unauthenticated.status_code == 401
    assert unauthenticated.json()["details"][0]["reason"] == "NO_KEY_PROVIDED"
    with stack.http() as http:
        bad_body = http.post(
            "/v1/media:upload", content=b'{"file": "!!!"}',
            headers={"X-API-Key": stack.admin_key, "Content-Type": "application/json"},
        )  # fmt: skip
    assert bad_body.status_code == 400 and bad_body.json()["code"] == 3
    assert "TYPE_BYTES" in bad_body.json()["message"]
    for path in ("media?bogus=1", "no-such-method"):
        reply = _v1(stack, "GET", path)
        assert reply.status_code in (400, 404), reply.text
        assert reply.headers["content-type"].startswith("application/json")
        assert set(reply.json()) == {"code", "message", "details"}


def test_media_files_are_served_by_envoy(stack: Stack, uploaded: media_pb2.Media) -> None:
    path = uploaded.url.removeprefix(stack.url.rstrip("/"))
    with stack.http() as http:
        whole = http.get(path)
        assert whole.status_code == 200
        assert whole.headers["content-type"] == "image/jpeg"
        assert whole.headers["x-content-type-options"] == "nosniff"
        assert "max-age=31536000" in whole.headers["cache-control"]
        assert (
            whole.headers["server"] == "envoy"
            and "x-envoy-upstream-service-time" not in whole.headers
        )
        assert int(whole.headers["content-length"]) == uploaded.size

        part = http.get(path, headers={"Range": "bytes=0-99"})
        assert part.status_code == 206 and part.content == whole.content[:100]

        thumb = http.get(uploaded.thumb.url.removeprefix(stack.url.rstrip("/")))
        assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/jpeg"

        assert http.get("/images/2000/01/01/none.jpg").status_code == 404
        assert http.get("/images/../darkroom.db").status_code in (400, 404)
        assert http.get("/images/%2e%2e/darkroom.db").status_code in (400, 404)
