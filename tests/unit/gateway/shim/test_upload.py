"""``/api/1/upload`` in process: what the shim asks Darkroom, and what it answers the client.

The app is the real one (forms, envelope, routes) over a fake DarkroomClient; the body
goes through httpx's ASGI transport piece by piece, as a socket would deliver it.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest

from gateway.shim.grpc_client import CallFailed
from gateway.shim.upload import STREAM_CHUNK
from tests.unit.gateway.shim.fake_darkroom import (
    CLIENT_ADDRESS,
    MULTIPART,
    UNREACHABLE,
    FakeDarkroom,
    File,
    Trickle,
    multipart,
    shim,
)

pytestmark = pytest.mark.asyncio

URL = "/api/1/upload"
PHOTO = File("holiday.jpg", b"\xff\xd8\xff\xe0" + bytes(range(256)) * 40)
FORM = {"content-type": "application/x-www-form-urlencoded"}
PARTIAL = {"message": "File was partially uploaded (UPLOAD_ERR_PARTIAL)", "code": 601}
FORM_SIZE = {"message": "File exceeds form max size (UPLOAD_ERR_FORM_SIZE)", "code": 601}


@pytest.fixture
def fake() -> FakeDarkroom:
    return FakeDarkroom()


def _error(answer: httpx.Response) -> dict[str, Any]:
    body = answer.json()
    assert answer.status_code == body["status_code"]
    return dict(body["error"])


async def _post(fake: FakeDarkroom, tmp_path: Path, *args: Any, **kwargs: Any) -> httpx.Response:
    config = kwargs.pop("config", {})
    async with shim(fake, tmp_path, **config) as http:
        return await http.post(*args, **kwargs)


# --- the key: header first, even empty; then POST, then GET (§2.1) -----------------------


@pytest.mark.parametrize(
    ("headers", "query", "form", "used"),
    [
        ({"x-api-key": "header"}, "?key=query", "key=form", "header"),
        ({"x-api-key": "header"}, "?key=query", "", "header"),
        ({}, "?key=query", "key=form", "form"),
        ({}, "?key=query", "", "query"),
        ({}, "", "key=form", "form"),
    ],
)
async def test_the_header_key_wins_then_the_form_then_the_query(
    fake: FakeDarkroom,
    tmp_path: Path,
    headers: dict[str, str],
    query: str,
    form: str,
    used: str,
) -> None:
    body = "&".join(p for p in (form, "source=http://example.test/a.jpg") if p)
    answer = await _post(fake, tmp_path, URL + query, content=body, headers={**FORM, **headers})
    assert answer.status_code == 200
    assert [call.key for call in fake.uploads] == [used]


async def test_an_empty_header_key_hides_the_form_key(fake: FakeDarkroom, tmp_path: Path) -> None:
    answer = await _post(
        fake, tmp_path, URL + "?key=query", content="key=form", headers={**FORM, "x-api-key": ""}
    )
    assert _error(answer) == {"message": "No key provided", "code": 100}
    assert fake.calls == 0


async def test_a_key_outside_printable_ascii_is_invalid_without_asking(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    for key in ("has space", "ключ", "k" * 513):
        answer = await _post(fake, tmp_path, URL, data={"key": key, "source": "x"})
        assert _error(answer) == {"message": "Invalid API key.", "code": 100}
    assert fake.calls == 0


# --- Chevereto's order of checks (§1) -----------------------------------------------------


@pytest.mark.parametrize(
    ("path", "error"),
    [
        ("/api", ("No version provided", 100)),
        ("/api/", ("No version provided", 100)),
        ("/api/1", ("No action provided", 100)),
        ("/api/1/upload", ("No key provided", 100)),
        ("/api/2/upload", ("No key provided", 100)),  # the key is missed before the version
        ("/api/2/upload?key=k", ("Invalid API version.", 110)),
        ("/api/v1/upload?key=k", ("Invalid API version.", 110)),
    ],
)
async def test_checks_come_in_chevereto_order(
    fake: FakeDarkroom, tmp_path: Path, path: str, error: tuple[str, int]
) -> None:
    answer = await _post(fake, tmp_path, path)
    assert answer.status_code == 400
    assert _error(answer) == {"message": error[0], "code": error[1]}
    assert fake.calls == 0


async def test_another_action_asks_who_the_key_is_before_saying_it_is_invalid(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    answer = await _post(fake, tmp_path, "/api/1/album?key=k")
    assert _error(answer) == {"message": "Invalid API action", "code": 120}
    fake.who.can_upload = False
    answer = await _post(fake, tmp_path, "/api/1/album?key=k")
    assert _error(answer) == {"message": "Request denied", "code": 401}
    assert fake.whoami_keys == ["k", "k"] and fake.uploads == []


async def test_a_key_darkroom_rejects_is_its_answer_for_another_action_too(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    fake.failure = CallFailed(
        100, "Invalid API key.", "INVALID_API_KEY", grpc.StatusCode.UNAUTHENTICATED
    )
    answer = await _post(fake, tmp_path, "/api/1/album?key=k")
    assert _error(answer) == {"message": "Invalid API key.", "code": 100}


async def test_refusals_come_in_the_format_asked_for(fake: FakeDarkroom, tmp_path: Path) -> None:
    for output in ("txt", "redirect"):
        answer = await _post(fake, tmp_path, f"/api?format={output}")
        assert answer.status_code == 400
        assert answer.text == "No version provided"
        assert answer.headers["content-type"] == "text/plain; charset=UTF-8"


# --- answers: json, txt, redirect (§5-§7) -------------------------------------------------


async def test_a_json_answer_is_chevereto_s_envelope(fake: FakeDarkroom, tmp_path: Path) -> None:
    answer = await _post(fake, tmp_path, URL, data={"key": "k", "source": "x"})
    assert answer.status_code == 200
    assert answer.headers["cache-control"] == "no-store, no-cache, must-revalidate"
    body = answer.json()
    assert list(body) == ["status_code", "success", "image", "status_txt"]
    assert body["success"] == {"message": "file uploaded", "code": 200}
    assert body["image"]["id_encoded"] == "Ab12" and body["image"]["url"] == fake.reply.url


@pytest.mark.parametrize("output", ["", "json", "xml", "JSON"])
async def test_json_is_the_answer_unless_txt_or_redirect(
    fake: FakeDarkroom, tmp_path: Path, output: str
) -> None:
    answer = await _post(fake, tmp_path, URL, data={"key": "k", "source": "x", "format": output})
    assert answer.json()["status_txt"] == "OK"


async def test_txt_is_the_bare_url_and_redirect_goes_to_the_viewer(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    answer = await _post(fake, tmp_path, URL + "?format=txt", data={"key": "k", "source": "x"})
    assert (answer.status_code, answer.text) == (200, fake.reply.url)
    answer = await _post(
        fake, tmp_path, URL, data={"key": "k", "source": "x", "format": "redirect"}
    )
    assert answer.status_code == 302
    assert answer.headers["location"] == "/image/pic.Ab12"


async def test_a_posted_format_beats_the_query(fake: FakeDarkroom, tmp_path: Path) -> None:
    answer = await _post(fake, tmp_path, URL + "?format=json", data={"key": "k", "format": "txt"})
    assert answer.text == fake.reply.url


# --- errors from Darkroom -----------------------------------------------------------------


async def test_a_darkroom_error_is_its_chevereto_code_and_message(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    fake.failure = CallFailed(
        130, "Flooding detected", "FLOODING", grpc.StatusCode.RESOURCE_EXHAUSTED
    )
    answer = await _post(fake, tmp_path, URL, data={"key": "k", "source": "x"})
    assert answer.json() == {
        "status_code": 400,
        "error": {"message": "Flooding detected", "code": 130},
        "status_txt": "Bad Request",
    }
    assert "retry-after" not in answer.headers


async def test_an_unreachable_server_is_503_with_retry_after(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    fake.failure = UNREACHABLE
    answer = await _post(fake, tmp_path, URL, data={"key": "k", "source": "x"})
    assert answer.status_code == 503 and answer.headers["retry-after"] == "2"
    assert answer.json()["status_txt"] == "Service Unavailable"
    assert _error(answer) == {"message": "Service unavailable", "code": 503}
    answer = await _post(fake, tmp_path, URL + "?format=txt", data={"key": "k", "source": "x"})
    assert (answer.status_code, answer.text) == (503, "Service unavailable")


async def test_an_unavailable_upstream_with_a_reason_is_the_clients_400(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    fake.failure = CallFailed(
        202, "Can't fetch target upload source", "URL_FETCH_FAILED", grpc.StatusCode.UNAVAILABLE
    )
    answer = await _post(fake, tmp_path, URL, data={"key": "k", "source": "x"})
    assert answer.status_code == 400 and "retry-after" not in answer.headers


# --- sources and options of a unary upload ------------------------------------------------


async def test_the_source_field_is_text_empty_is_base64_and_none_is_no_source(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    for data in ({"source": "http://a.test/x.jpg"}, {"source": ""}, {}):
        await _post(fake, tmp_path, URL, data={"key": "k", **data})
    text, empty, missing = (call.request for call in fake.uploads)
    assert text.WhichOneof("source") == "text" and text.text == "http://a.test/x.jpg"
    assert empty.WhichOneof("source") == "base64" and empty.base64 == ""
    assert missing.WhichOneof("source") is None


async def test_options_are_read_as_php_would(fake: FakeDarkroom, tmp_path: Path) -> None:
    form = {
        "key": "k", "source": "x", "name": "From name", "description": "About",
        "tags": "a,b", "album_id": "Xy9", "category_id": " 12 ", "width": "640.7",
        "expiration": "PT5M", "nsfw": "1", "use_file_date": "yes",
    }  # fmt: skip
    await _post(fake, tmp_path, URL, data=form)
    options = fake.uploads[0].request.options
    assert (options.title, options.description, options.tags) == ("From name", "About", "a,b")
    assert (options.album_id, options.category_id, options.width) == ("Xy9", 12, 640)
    assert (options.expiration, options.nsfw, options.use_file_date) == ("PT5M", True, False)
    assert options.http_method == "POST" and options.key == ""


@pytest.mark.parametrize("value", ["0", "", "abc", "-5", "1e99", "9" * 30])
async def test_numbers_php_would_not_send_are_not_sent(
    fake: FakeDarkroom, tmp_path: Path, value: str
) -> None:
    await _post(fake, tmp_path, URL, data={"key": "k", "width": value, "category_id": value})
    options = fake.uploads[0].request.options
    assert (options.width, options.category_id) == (0, 0)


async def test_title_beats_name_and_zero_means_not_sent(fake: FakeDarkroom, tmp_path: Path) -> None:
    await _post(fake, tmp_path, URL, data={"key": "k", "title": "T", "name": "N"})
    await _post(fake, tmp_path, URL, data={"key": "k", "title": "0", "name": "N"})
    assert [call.request.options.title for call in fake.uploads] == ["T", "N"]


async def test_a_get_upload_says_so_and_reads_the_query(fake: FakeDarkroom, tmp_path: Path) -> None:
    async with shim(fake, tmp_path) as http:
        answer = await http.get(URL, params={"key": "k", "source": "http://a.test/x.jpg"})
    assert answer.status_code == 200
    (call,) = fake.uploads
    assert call.request.options.http_method == "GET" and call.request.text == "http://a.test/x.jpg"


async def test_a_json_body_is_read_as_form_fields(fake: FakeDarkroom, tmp_path: Path) -> None:
    document = {"key": "k", "source": "aGk=", "nsfw": True, "width": 300, "title": None}
    await _post(fake, tmp_path, URL, json=document)
    (call,) = fake.uploads
    assert (call.key, call.request.text) == ("k", "aGk=")
    assert (call.request.options.nsfw, call.request.options.width) == (True, 300)


async def test_the_client_address_is_envoys_last_forwarded_entry(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    data = {"key": "k", "source": "x"}
    await _post(fake, tmp_path, URL, data=data)
    await _post(
        fake, tmp_path, URL, data=data, headers={"x-forwarded-for": "6.6.6.6, 198.51.100.7"}
    )
    await _post(fake, tmp_path, URL, data=data, headers={"x-forwarded-for": "1" * 100})
    assert [call.forwarded_for for call in fake.uploads] == [
        CLIENT_ADDRESS,
        "198.51.100.7",
        "1" * 64,
    ]


# --- the ImgBB envelope -------------------------------------------------------------------


@pytest.mark.parametrize("form", [{"image": "aGk="}, {"image": ""}, {"source": "x", "image": "y"}])
async def test_an_image_field_switches_to_imgbb_s_envelope(
    fake: FakeDarkroom, tmp_path: Path, form: dict[str, str]
) -> None:
    answer = await _post(fake, tmp_path, URL, data={"key": "k", **form})
    body = answer.json()
    assert list(body) == ["status_code", "status", "success", "data", "status_txt"]
    assert body["data"]["id"] == "Ab12" and body["status"] == 200
    request = fake.uploads[0].request
    assert request.text or request.base64 == ""
    if "source" in form:
        assert request.text == "x"  # source still wins as the upload


async def test_a_file_named_image_is_imgbb_too(fake: FakeDarkroom, tmp_path: Path) -> None:
    body = multipart([("key", "k"), ("image", PHOTO)])
    answer = await _post(fake, tmp_path, URL, content=body, headers={"content-type": MULTIPART})
    assert answer.json()["data"]["id"] == "Ab12"
    assert bytes(fake.streams[0].data) == PHOTO.data


# --- multipart: streamed while it arrives ------------------------------------------------


async def test_a_file_after_the_key_streams_with_early_and_late_fields(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    photo = File("big.png", bytes(range(256)) * 4000, "image/png")  # ~1 MB
    body = multipart(
        [("title", "Early"), ("key", "k"), ("source", photo), ("title", "Late"), ("nsfw", "1")]
    )
    trickle = Trickle(body)
    # The rest of the body only comes once a chunk has reached Darkroom: the file is
    # streamed while it arrives, not after the form is complete.
    trickle.before_piece[len(trickle.pieces) - 1] = lambda: asyncio.wait_for(
        fake.chunk_seen.wait(), 5
    )
    answer = await _post(fake, tmp_path, URL, content=trickle, headers={"content-type": MULTIPART})
    assert answer.status_code == 200
    (call,) = fake.streams
    assert call.finished and bytes(call.data) == photo.data and call.key == "k"
    assert (call.options.title, call.options.filename, call.options.content_type) == (
        "Early", "big.png", "image/png",
    )  # fmt: skip
    assert call.late is not None and (call.late.title, call.late.nsfw) == ("Late", True)
    assert call.late.http_method == ""
    assert all(size >= STREAM_CHUNK for size in call.chunk_sizes[:-1])
    assert len(call.chunk_sizes) > 1


async def test_no_fields_after_the_file_send_no_late_options(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    body = multipart([("key", "k"), ("source", PHOTO)])
    await _post(fake, tmp_path, URL, content=body, headers={"content-type": MULTIPART})
    assert fake.streams[0].late is None


async def test_a_late_format_field_changes_the_answer(fake: FakeDarkroom, tmp_path: Path) -> None:
    body = multipart([("key", "k"), ("source", PHOTO), ("format", "txt")])
    answer = await _post(fake, tmp_path, URL, content=body, headers={"content-type": MULTIPART})
    assert answer.text == fake.reply.url


async def test_the_header_key_streams_a_file_sent_before_any_field(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    body = multipart([("source", PHOTO), ("key", "ignored")])
    headers = {"content-type": MULTIPART, "x-api-key": "header"}
    await _post(fake, tmp_path, URL, content=body, headers=headers)
    assert [call.key for call in fake.streams] == ["header"]
    assert fake.streams[0].late is not None and fake.streams[0].late.key == ""


async def test_only_the_first_source_file_is_the_upload_and_other_files_are_dropped(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    other = File("other.jpg", b"other bytes")
    body = multipart([("key", "k"), ("attachment", other), ("source", PHOTO), ("image", other)])
    answer = await _post(fake, tmp_path, URL, content=body, headers={"content-type": MULTIPART})
    assert answer.status_code == 200
    assert bytes(fake.streams[0].data) == PHOTO.data


async def test_a_refusal_mid_stream_is_answered_and_the_rest_is_not_read(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    fake.failure = CallFailed(400, "File too big", "FILE_TOO_BIG", grpc.StatusCode.OUT_OF_RANGE)
    fake.fail_after_chunks = 1
    trickle = Trickle(multipart([("key", "k"), ("source", File("huge.jpg", b"x" * 2**23))]))
    answer = await _post(fake, tmp_path, URL, content=trickle, headers={"content-type": MULTIPART})
    assert _error(answer) == {"message": "File too big", "code": 400}
    assert trickle.sent < len(trickle.pieces) // 2


async def test_a_refusal_of_a_small_file_is_answered(fake: FakeDarkroom, tmp_path: Path) -> None:
    fake.failure = CallFailed(
        610, "Can't get target upload source info", "X", grpc.StatusCode.INVALID_ARGUMENT
    )
    body = multipart([("key", "k"), ("source", PHOTO)])
    answer = await _post(fake, tmp_path, URL, content=body, headers={"content-type": MULTIPART})
    assert _error(answer)["code"] == 610


# --- multipart: the key after the file, spooled to disk ----------------------------------


async def test_a_key_after_the_file_spools_it_then_streams_it_whole(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    body = multipart([("title", "Early"), ("source", PHOTO), ("description", "Late"), ("key", "k")])
    answer = await _post(fake, tmp_path, URL, content=body, headers={"content-type": MULTIPART})
    assert answer.status_code == 200
    (call,) = fake.streams
    assert call.key == "k" and bytes(call.data) == PHOTO.data
    # Everything is known before the stream starts: all of it goes in the first message.
    assert (call.options.title, call.options.description) == ("Early", "Late")
    assert (call.options.filename, call.options.content_type) == ("holiday.jpg", "image/jpeg")
    assert call.late is None
    assert list((tmp_path / "spool").iterdir()) == []


async def test_a_file_with_no_key_anywhere_is_no_key_and_never_sent(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    body = multipart([("source", PHOTO), ("title", "t")])
    answer = await _post(fake, tmp_path, URL, content=body, headers={"content-type": MULTIPART})
    assert _error(answer) == {"message": "No key provided", "code": 100}
    assert fake.calls == 0


async def test_a_spooled_file_is_checked_for_version_and_action_once_the_key_comes(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    body = multipart([("source", PHOTO), ("key", "k")])
    headers = {"content-type": MULTIPART}
    answer = await _post(fake, tmp_path, "/api/2/upload", content=body, headers=headers)
    assert _error(answer) == {"message": "Invalid API version.", "code": 110}
    answer = await _post(fake, tmp_path, "/api/1/other", content=body, headers=headers)
    assert _error(answer) == {"message": "Invalid API action", "code": 120}
    assert fake.streams == []


async def test_a_spooled_file_over_the_message_limit_is_form_size(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    body = multipart([("source", File("a.jpg", b"x" * 5000)), ("key", "k")])
    answer = await _post(
        fake, tmp_path, URL, content=body, headers={"content-type": MULTIPART},
        config={"max_message_bytes": 4096},
    )  # fmt: skip
    assert _error(answer) == FORM_SIZE
    assert fake.streams == []


async def test_a_multipart_form_without_a_file_is_a_unary_upload(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    body = multipart([("source", "http://a.test/x.jpg"), ("key", "k")])
    await _post(fake, tmp_path, URL, content=body, headers={"content-type": MULTIPART})
    assert fake.streams == [] and fake.uploads[0].request.text == "http://a.test/x.jpg"


# --- broken and oversized forms -----------------------------------------------------------


async def test_a_form_cut_off_inside_the_file_is_a_partial_upload_and_cancels_the_stream(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    whole = multipart([("key", "k"), ("source", File("a.jpg", b"y" * 600_000))])
    answer = await _post(
        fake, tmp_path, URL, content=whole[:400_000], headers={"content-type": MULTIPART}
    )
    assert _error(answer) == PARTIAL
    (call,) = fake.streams
    assert call.cancelled and not call.finished


async def test_a_spooled_file_cut_off_is_a_partial_upload(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    whole = multipart([("source", PHOTO), ("key", "k")])
    cut = whole[: whole.index(PHOTO.data) + 100]
    answer = await _post(fake, tmp_path, URL, content=cut, headers={"content-type": MULTIPART})
    assert _error(answer) == PARTIAL
    assert fake.calls == 0


async def test_a_form_that_is_not_multipart_at_all_is_a_partial_upload(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    answer = await _post(
        fake, tmp_path, URL, content=b"not a form at all", headers={"content-type": MULTIPART}
    )
    assert _error(answer) == PARTIAL


async def test_a_form_missing_its_closing_boundary_is_a_partial_upload(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    body = multipart([("key", "k"), ("source", PHOTO)], closed=False)
    answer = await _post(fake, tmp_path, URL, content=body, headers={"content-type": MULTIPART})
    # Without the next delimiter the file part never ends, as PHP sees it too. The
    # stream, if it had begun at all, is cancelled: nothing is stored.
    assert _error(answer) == PARTIAL
    assert not any(call.finished for call in fake.streams)


@pytest.mark.parametrize("kind", ["urlencoded", "multipart"])
async def test_too_many_fields_is_form_size(fake: FakeDarkroom, tmp_path: Path, kind: str) -> None:
    fields = [("key", "k"), ("a", "1"), ("b", "2"), ("c", "3")]
    if kind == "urlencoded":
        request: dict[str, Any] = {"data": dict(fields)}
    else:
        request = {"content": multipart(fields), "headers": {"content-type": MULTIPART}}
    answer = await _post(fake, tmp_path, URL, **request, config={"max_fields": 3})
    assert _error(answer) == FORM_SIZE
    assert fake.calls == 0


@pytest.mark.parametrize("kind", ["urlencoded", "multipart"])
async def test_an_oversized_field_is_form_size_but_a_source_may_be_large(
    fake: FakeDarkroom, tmp_path: Path, kind: str
) -> None:
    config = {"max_field_bytes": 16, "max_message_bytes": 4096}

    def send(fields: dict[str, str]) -> dict[str, Any]:
        if kind == "urlencoded":
            return {"data": fields}
        return {"content": multipart(fields.items()), "headers": {"content-type": MULTIPART}}

    too_long = await _post(
        fake, tmp_path, URL, **send({"key": "k", "title": "t" * 17}), config=config
    )
    assert _error(too_long) == FORM_SIZE
    source = await _post(
        fake, tmp_path, URL, **send({"key": "k", "source": "s" * 4000}), config=config
    )
    assert source.status_code == 200
    too_big = await _post(
        fake, tmp_path, URL, **send({"key": "k", "source": "s" * 4097}), config=config
    )
    assert _error(too_big) == FORM_SIZE
    assert [len(call.request.text) for call in fake.uploads] == [4000]


async def test_a_json_body_over_the_limit_is_form_size(fake: FakeDarkroom, tmp_path: Path) -> None:
    config = {"max_message_bytes": 800}  # JSON may take 9/8 of it, for escaped slashes
    fits = json.dumps({"key": "k", "source": "a" * 850})
    answer = await _post(
        fake,
        tmp_path,
        URL,
        content=fits,
        headers={"content-type": "application/json"},
        config=config,
    )
    assert answer.status_code == 200
    over = json.dumps({"key": "k", "source": "a" * 900})
    answer = await _post(
        fake,
        tmp_path,
        URL,
        content=over,
        headers={"content-type": "application/json"},
        config=config,
    )
    assert _error(answer) == FORM_SIZE
