"""Chevereto's response shapes built from a Media message."""

from __future__ import annotations

import json
from typing import Any

from starlette.responses import Response

from darkroom.v1 import media_pb2
from gateway.shim.envelope import error, image_object, success


def media(**changes: object) -> media_pb2.Media:
    base = media_pb2.Media(
        name="pic",
        type="image",
        id_encoded="Ab12",
        url="http://darkroom.test/images/pic.jpg",
        path_viewer="/image/pic.Ab12",
        image=media_pb2.MediaFile(filename="pic.jpg", size=10),
        thumb=media_pb2.MediaFile(),
        medium=media_pb2.MediaFile(),
    )
    base.MergeFrom(media_pb2.Media(**changes))  # type: ignore[arg-type]
    return base


def parsed(response: Response) -> Any:
    return json.loads(bytes(response.body))


def test_unset_optional_fields_are_null_and_placeholders_have_no_size() -> None:
    image = image_object(media())
    assert image["description"] is None and image["category_id"] is None
    assert image["thumb"] == {
        "filename": None,
        "name": None,
        "mime": None,
        "extension": None,
        "url": None,
    }
    assert image["image"]["size"] == 10


def test_frame_only_for_video_and_delete_url_only_when_set() -> None:
    image = image_object(media())
    assert "frame" not in image and "delete_url" not in image
    clip = image_object(media(type="video", frame=media_pb2.MediaFile(), delete_url="d"))
    assert clip["frame"]["url"] is None and clip["delete_url"] == "d"


def test_json_txt_and_redirect_success() -> None:
    body = parsed(success(media(), output="json", imgbb=False))
    assert list(body) == ["status_code", "success", "image", "status_txt"]
    imgbb = parsed(success(media(), output="json", imgbb=True))
    assert imgbb["data"]["id"] == "Ab12" and imgbb["status"] == 200
    assert (
        success(media(), output="txt", imgbb=False).body == b"http://darkroom.test/images/pic.jpg"
    )
    redirect = success(media(), output="redirect", imgbb=False)
    assert (redirect.status_code, redirect.headers["location"]) == (302, "/image/pic.Ab12")


def test_errors_as_chevereto_shows_them() -> None:
    response = error("Invalid API key.", 100, output="json")
    assert response.status_code == 400
    assert parsed(response) == {
        "status_code": 400,
        "error": {"message": "Invalid API key.", "code": 100},
        "status_txt": "Bad Request",
    }
    unavailable = error("Service unavailable", 503, output="json", http_status=503)
    assert parsed(unavailable)["status_txt"] == "Service Unavailable"
    text = error("Invalid API key.", 100, output="txt")
    assert (text.status_code, text.body) == (400, b"Invalid API key.")
