"""Chevereto's response shapes: the JSON envelope, txt, redirect and errors (§5-§7, §11)."""

from __future__ import annotations

import json
from typing import Any

from google.protobuf.message import Message
from starlette.responses import Response

from darkroom.v1 import media_pb2
from gateway.shim import observability

NO_STORE = {
    "Cache-Control": "no-store, no-cache, must-revalidate",
    "Pragma": "no-cache",
    "Expires": "0",
}
STATUS_TXT = {200: "OK", 400: "Bad Request", 404: "Not Found", 503: "Service Unavailable"}


def _plain(message: Message) -> dict[str, Any]:
    """A message as a dict in field order; optional fields that are unset become None."""
    out: dict[str, Any] = {}
    for field in message.DESCRIPTOR.fields:
        value = getattr(message, field.name)
        if field.is_repeated:
            out[field.name] = [_plain(item) if field.message_type else item for item in value]
        elif field.has_presence and not message.HasField(field.name):
            out[field.name] = None
        elif field.message_type:
            out[field.name] = _plain(value)
        else:
            out[field.name] = value
    return out


def image_object(media: media_pb2.Media) -> dict[str, Any]:
    """The Media message as Chevereto's ``image`` object."""
    image = _plain(media)
    for name in ("image", "thumb", "medium", "frame"):
        variant = image.get(name)
        if isinstance(variant, dict) and variant.get("size") is None:
            variant.pop("size", None)  # Chevereto's placeholder has no size key
    if image["type"] != "video":
        image.pop("frame", None)  # the key exists only for video
    if not image.get("delete_url"):
        image.pop("delete_url", None)
    return image


def _json(body: dict[str, Any], status: int) -> Response:
    # Compact like PHP's json_encode; "/" is left unescaped (the same JSON value, §11).
    text = json.dumps(body, separators=(",", ":"))
    return Response(
        text, status_code=status, media_type="application/json; charset=UTF-8", headers=NO_STORE
    )


def success(media: media_pb2.Media, *, output: str, imgbb: bool) -> Response:
    image = image_object(media)
    if output == "txt":
        return Response(image["url"], media_type="text/plain; charset=UTF-8", headers=NO_STORE)
    if output == "redirect":
        return Response(status_code=302, headers={"Location": image["path_viewer"], **NO_STORE})
    observability.note_chevereto(200)
    body: dict[str, Any] = {"status_code": 200}
    if imgbb:
        body["status"] = 200
    body["success"] = {"message": "file uploaded", "code": 200}
    if imgbb:
        body["data"] = {**image, "id": image["id_encoded"]}
    else:
        body["image"] = image
    body["status_txt"] = "OK"
    return _json(body, 200)


def error(message: str, code: int, *, output: str, http_status: int = 400) -> Response:
    """An error as Chevereto shows it; txt and redirect clients get the bare message.

    Unlike Chevereto (HTTP 200 for txt/redirect errors) the status is 400, so a txt
    client can never mistake an error message for a URL (§11).
    """
    observability.note_chevereto(code)
    if output in ("txt", "redirect"):
        return Response(
            message,
            status_code=http_status,
            media_type="text/plain; charset=UTF-8",
            headers=NO_STORE,
        )
    body = {
        "status_code": http_status,
        "error": {"message": message, "code": code},
        "status_txt": STATUS_TXT.get(http_status, "Bad Request"),
    }
    return _json(body, http_status)
