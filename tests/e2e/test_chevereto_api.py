"""Chevereto's upload API through Envoy as clients send it (docs/chevereto-compatibility.md §10)."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterator

import httpx
import pytest
import sqlalchemy

from darkroom.v1 import media_pb2
from tests.support import media
from tests.support.stack import Stack

PHOTO = media.jpeg(800, 600, seed=51)
B64 = base64.b64encode(PHOTO).decode()


def _ok(reply: httpx.Response) -> dict[str, object]:
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["status_code"] == 200 and body["status_txt"] == "OK"
    assert body["success"] == {"message": "file uploaded", "code": 200}
    assert "user" not in body and "album" not in body
    return body  # type: ignore[no-any-return]


def _error(reply: httpx.Response, code: int, message: str) -> None:
    assert reply.status_code == 400, reply.text
    assert reply.headers["content-type"].startswith("application/json")
    assert reply.json() == {
        "status_code": 400,
        "error": {"message": message, "code": code},
        "status_txt": "Bad Request",
    }


def test_multipart_file_with_header_key_gives_the_chevereto_envelope(
    stack: Stack, key: str
) -> None:
    with stack.http() as http:
        reply = http.post(
            "/api/1/upload",
            headers={"X-API-Key": key},
            files={"source": ("sunset.jpg", PHOTO, "image/jpeg")},
        )
    body = _ok(reply)
    image = body["image"]
    assert isinstance(image, dict)
    assert reply.headers["content-type"] == "application/json; charset=UTF-8"
    assert reply.headers["cache-control"] == "no-store, no-cache, must-revalidate"
    assert not any(h.startswith("grpc-") for h in reply.headers)
    assert image["filename"].startswith("sunset") and image["extension"] == "jpg"
    assert (image["width"], image["height"], image["chain"]) == (800, 600, 7)
    assert re.fullmatch(r".*/image/[A-Za-z0-9]+/delete/[0-9a-f]{48}", image["delete_url"])
    assert image["medium"]["url"] and image["description"] is None
    assert "frame" not in image
    # JSON numbers are numbers, as Chevereto's PHP arrays give them.
    assert isinstance(image["size"], int) and isinstance(image["ratio"], float)
    # The url in the answer downloads the stored file, through Envoy.
    with stack.http() as http:
        stored = http.get(image["url"])
    assert stored.status_code == 200 and stored.content[:3] == b"\xff\xd8\xff"
    assert len(stored.content) == image["size"]


@pytest.mark.parametrize(
    "send",
    ["multipart-base64", "urlencoded", "json", "multipart-key-after-file"],
)
def test_every_body_encoding(stack: Stack, key: str, send: str) -> None:
    with stack.http() as http:
        if send == "multipart-base64":
            reply = http.post("/api/1/upload", files={"key": (None, key), "source": (None, B64)})
        elif send == "urlencoded":
            reply = http.post("/api/1/upload", data={"key": key, "source": B64, "title": "Form"})
        elif send == "json":
            reply = http.post("/api/1/upload", json={"key": key, "source": B64, "nsfw": 1})
        else:
            # Fields may come after the file: the key too (the file then waits on disk).
            boundary = "XdarkroomX"
            body = (
                (
                    f'--{boundary}\r\nContent-Disposition: form-data; name="source"; '
                    f'filename="late.jpg"\r\nContent-Type: image/jpeg\r\n\r\n'
                ).encode()
                + PHOTO
                + (
                    f'\r\n--{boundary}\r\nContent-Disposition: form-data; name="title"\r\n\r\n'
                    f"Late title\r\n--{boundary}\r\nContent-Disposition: form-data; "
                    f'name="key"\r\n\r\n{key}\r\n--{boundary}--\r\n'
                ).encode()
            )
            reply = http.post(
                "/api/1/upload",
                content=body,
                headers={"Content-Type": f"multipart/form-data; boundary={boundary}"},
            )
    image = _ok(reply)["image"]
    assert isinstance(image, dict)
    assert (image["width"], image["height"]) == (800, 600)
    if send == "urlencoded":
        assert image["title"] == "Form"
    if send == "json":
        assert image["nsfw"] == 1
    if send == "multipart-key-after-file":
        assert image["title"] == "Late title" and image["original_filename"] == "late.jpg"


def test_fields_after_a_streamed_file_still_count(stack: Stack, key: str) -> None:
    with stack.http() as http:
        reply = http.post(
            "/api/1/upload",
            headers={"X-API-Key": key},
            files=[("source", ("a.jpg", PHOTO, "image/jpeg")), ("title", (None, "After"))],
        )
    image = _ok(reply)["image"]
    assert isinstance(image, dict) and image["title"] == "After"


def _slow_multipart(parts: list[bytes]) -> Iterator[bytes]:
    """Send each part as its own chunk, so the shim sees fields arrive after the file."""
    yield from parts


def test_fields_arriving_after_a_streamed_file_in_later_chunks(stack: Stack, key: str) -> None:
    head = (
        b'--B\r\nContent-Disposition: form-data; name="source"; filename="s.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n"
    )
    tail = [
        b'\r\n--B\r\nContent-Disposition: form-data; name="title"\r\n\r\nArrived late',
        b'\r\n--B\r\nContent-Disposition: form-data; name="format"\r\n\r\ntxt',
        b"\r\n--B--\r\n",
    ]
    with stack.http() as http:
        reply = http.post(
            "/api/1/upload",
            headers={"X-API-Key": key, "Content-Type": "multipart/form-data; boundary=B"},
            content=_slow_multipart([head, PHOTO, *tail]),
        )
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/plain")  # format came last
    listed = stack.media_stub().ListMedia(
        media_pb2.ListMediaRequest(page_size=5), metadata=stack.admin_metadata()
    )
    assert any(item.title == "Arrived late" and item.url == reply.text for item in listed.media)


def test_a_cut_off_multipart_body_is_a_partial_upload(stack: Stack, key: str) -> None:
    head = (
        b'--B\r\nContent-Disposition: form-data; name="source"; filename="cut.jpg"\r\n'
        b"Content-Type: image/jpeg\r\n\r\n"
    )
    with stack.http() as http:
        reply = http.post(
            "/api/1/upload",
            headers={"X-API-Key": key, "Content-Type": "multipart/form-data; boundary=B"},
            content=head + PHOTO[: len(PHOTO) // 2],
        )
        _error(reply, 601, "File was partially uploaded (UPLOAD_ERR_PARTIAL)")
        garbage = http.post(
            "/api/1/upload",
            headers={"X-API-Key": key, "Content-Type": "multipart/form-data; boundary=B"},
            content=b"--B\r\nthis is not a part header at all\r\n\r\n--B--",
        )
        assert garbage.status_code == 400


def test_numbers_out_of_range_are_ignored_not_errors(stack: Stack, key: str) -> None:
    with stack.http() as http:
        reply = http.post(
            "/api/1/upload",
            data={"key": key, "source": B64, "width": "3000000000", "category_id": "1e20"},
        )
    image = _ok(reply)["image"]
    assert isinstance(image, dict) and image["width"] == 800 and image["category_id"] is None


def test_an_empty_text_source_next_to_a_file_does_not_win(stack: Stack, key: str) -> None:
    with stack.http() as http:
        reply = http.post(
            "/api/1/upload",
            headers={"X-API-Key": key},
            files=[("source", (None, "")), ("source", ("f.jpg", PHOTO, "image/jpeg"))],
        )
    image = _ok(reply)["image"]
    assert isinstance(image, dict) and image["original_filename"] == "f.jpg"


@pytest.mark.parametrize("path", ["/api/1/upload", "/api/1/upload/"])
def test_paths_and_query_string_forms(stack: Stack, key: str, path: str) -> None:
    with stack.http() as http:
        in_query = http.post(f"{path}?key={key}&format=json", files={"source": ("q.jpg", PHOTO)})
        _ok(in_query)
        in_form = http.post(path, data={"key": key, "source": B64})
        _ok(in_form)


def test_key_precedence_header_then_field_then_query(stack: Stack, key: str) -> None:
    with stack.http() as http:
        # A header that is present wins even when empty.
        empty_header = http.post(
            f"/api/1/upload?key={key}", headers={"X-API-Key": ""}, data={"source": B64}
        )
        _error(empty_header, 100, "No key provided")
        # The form field wins over the query string (POST over GET).
        wrong_query = http.post("/api/1/upload?key=chv_x_y", data={"key": key, "source": B64})
        _ok(wrong_query)
        missing = http.post("/api/1/upload", data={"source": B64})
        _error(missing, 100, "No key provided")
        wrong = http.post(
            "/api/1/upload", data={"key": "chv_" + "A" * 5 + "_" + "0" * 128, "source": B64}
        )
        _error(wrong, 100, "Invalid API key.")


def test_version_and_action_errors(stack: Stack, key: str) -> None:
    with stack.http() as http:
        _error(http.post(f"/api/1.1/upload?key={key}"), 110, "Invalid API version.")
        _error(http.post(f"/api/1/delete?key={key}"), 120, "Invalid API action")
        _error(http.get("/api/1"), 100, "No action provided")
        _error(http.get("/api/"), 100, "No version provided")


def test_base64_over_get_is_refused(stack: Stack, key: str) -> None:
    with stack.http() as http:
        reply = http.get("/api/1/upload", params={"key": key, "source": B64[:64] + "=="})
    _error(reply, 130, "Upload using base64 source must be done using POST method.")


def test_formats_txt_and_redirect(stack: Stack, key: str) -> None:
    with stack.http(follow_redirects=False) as http:
        txt = http.post("/api/1/upload", data={"key": key, "source": B64, "format": "txt"})
        assert txt.status_code == 200
        assert txt.headers["content-type"].startswith("text/plain")
        assert re.fullmatch(re.escape(stack.url) + r"images/\d{4}/\d\d/\d\d/\w+\.jpeg", txt.text)

        moved = http.post("/api/1/upload", data={"key": key, "source": B64, "format": "redirect"})
        assert moved.status_code == 302
        assert re.fullmatch(r"/image/[\w-]+\.[A-Za-z0-9]+", moved.headers["location"])
        assert moved.content == b""

        for output in ("txt", "redirect"):
            failed = http.post("/api/1/upload", data={"key": key, "format": output})
            assert failed.status_code == 400
            assert failed.headers["content-type"].startswith("text/plain")
            assert failed.text == "Empty upload source"

        unknown = http.post("/api/1/upload", data={"key": key, "source": B64, "format": "xml"})
        _ok(unknown)


@pytest.mark.parametrize("how", ["image-text", "image-file", "source-and-image"])
def test_imgbb_alias_gives_the_imgbb_envelope(stack: Stack, key: str, how: str) -> None:
    with stack.http() as http:
        if how == "image-text":
            reply = http.post("/api/1/upload", data={"key": key, "image": B64})
        elif how == "image-file":
            reply = http.post(
                "/api/1/upload", data={"key": key}, files={"image": ("i.jpg", PHOTO, "image/jpeg")}
            )
        else:
            reply = http.post("/api/1/upload", data={"key": key, "source": B64, "image": "x"})
    assert reply.status_code == 200, reply.text
    body = reply.json()
    assert body["status"] == 200 and body["status_code"] == 200
    assert "image" not in body
    assert body["data"]["id"] == body["data"]["id_encoded"]


def test_server_errors_keep_the_chevereto_shape(stack: Stack, key: str) -> None:
    with stack.http() as http:
        pdf = media.fixture("pdf.pdf").read_bytes()
        reply = http.post("/api/1/upload", data={"key": key}, files={"source": ("a.pdf", pdf)})
        _error(reply, 610, "Can't get target upload source info")
        reply = http.post(
            "/api/1/upload", data={"key": key, "source": "data:image/png;base64,AA=="}
        )
        _error(reply, 120, "Invalid base64 string")


def test_guest_key_and_url_source(stack: Stack) -> None:
    guest = stack.cli("guest-key", "generate").strip().splitlines()[-1]
    with stack.http() as http:
        reply = http.post("/api/1/upload", data={"key": guest, "source": B64, "tags": "a,b"})
        image = _ok(reply)["image"]
        assert isinstance(image, dict) and image["tags"] == []
        # A URL source: this stack may fetch from loopback, so Darkroom fetches its own file.
        by_url = http.get("/api/1/upload", params={"key": guest, "source": image["url"]})
        fetched = _ok(by_url)["image"]
        assert isinstance(fetched, dict) and fetched["md5"] == image["md5"]


def test_json_is_compact_and_slashes_unescaped(stack: Stack, key: str) -> None:
    with stack.http() as http:
        reply = http.post("/api/1/upload", data={"key": key, "source": B64})
    assert "\\/" not in reply.text and ": " not in reply.text[:40]
    assert json.loads(reply.text)["image"]["url"].startswith("http")


def _newest_uploader_ip(stack: Stack) -> str:
    engine = sqlalchemy.create_engine(f"sqlite:///{stack.data_dir / 'darkroom.db'}")
    try:
        with engine.connect() as conn:
            query = "SELECT uploader_ip FROM media ORDER BY id DESC LIMIT 1"
            return str(conn.execute(sqlalchemy.text(query)).scalar_one())
    finally:
        engine.dispose()


def test_the_address_envoy_saw_is_what_counts(stack: Stack, key: str) -> None:
    seen = []
    for forged in ({}, {"X-Forwarded-For": "198.18.0.77"}):
        with stack.http() as http:
            _ok(http.post("/api/1/upload", headers={"X-API-Key": key, **forged},
                          data={"source": B64}))  # fmt: skip
        seen.append(_newest_uploader_ip(stack))
    # Envoy appends the address it accepted the connection from (for loopback, its own
    # host address); a forged header earlier in the list changes nothing.
    assert seen[0] == seen[1] and seen[0] not in ("", "198.18.0.77")


def test_flood_limits_answer_in_chevereto_shape(stack: Stack, key: str) -> None:
    with stack.http() as http:
        _ok(http.post("/api/1/upload", data={"key": key, "source": B64}))
        switch = {"flood_protection": True, "flood_uploads_per_minute": 1}
        http.patch("/v1/settings", json=switch, headers={"X-API-Key": stack.admin_key})
        try:
            # One upload from this key and address within the minute already.
            reply = http.post("/api/1/upload", data={"key": key, "source": B64})
        finally:
            http.patch(
                "/v1/settings", json={"flood_protection": False},
                headers={"X-API-Key": stack.admin_key},
            )  # fmt: skip
    _error(reply, 130, "Flooding detected. You can only upload 1 image per minute")
