"""``/api/1/upload`` in process: keys, Chevereto's checks, answers and unary uploads.

The app is the real one (forms, envelope, routes) over a fake DarkroomClient; the
multipart paths are in test_upload_multipart.py.
"""

from __future__ import annotations

from pathlib import Path

import grpc
import pytest

from gateway.shim.grpc_client import CallFailed
from tests.unit.gateway.shim.fake_darkroom import (
    CLIENT_ADDRESS,
    UNREACHABLE,
    URL,
    FakeDarkroom,
    error_of,
    post,
    shim,
)

pytestmark = pytest.mark.asyncio
FORM = {"content-type": "application/x-www-form-urlencoded"}


@pytest.fixture
def fake() -> FakeDarkroom:
    return FakeDarkroom()


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
    answer = await post(fake, tmp_path, URL + query, content=body, headers={**FORM, **headers})
    assert answer.status_code == 200
    assert [call.key for call in fake.uploads] == [used]


async def test_an_empty_header_key_hides_the_form_key(fake: FakeDarkroom, tmp_path: Path) -> None:
    answer = await post(
        fake, tmp_path, URL + "?key=query", content="key=form", headers={**FORM, "x-api-key": ""}
    )
    assert error_of(answer) == {"message": "No key provided", "code": 100}
    assert fake.calls == 0


async def test_a_key_outside_printable_ascii_is_invalid_without_asking(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    for key in ("has space", "ключ", "k" * 513):
        answer = await post(fake, tmp_path, URL, data={"key": key, "source": "x"})
        assert error_of(answer) == {"message": "Invalid API key.", "code": 100}
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
    answer = await post(fake, tmp_path, path)
    assert answer.status_code == 400
    assert error_of(answer) == {"message": error[0], "code": error[1]}
    assert fake.calls == 0


async def test_another_action_asks_who_the_key_is_before_saying_it_is_invalid(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    answer = await post(fake, tmp_path, "/api/1/album?key=k")
    assert error_of(answer) == {"message": "Invalid API action", "code": 120}
    fake.who.can_upload = False
    answer = await post(fake, tmp_path, "/api/1/album?key=k")
    assert error_of(answer) == {"message": "Request denied", "code": 401}
    assert fake.whoami_keys == ["k", "k"] and fake.uploads == []


async def test_a_key_darkroom_rejects_is_its_answer_for_another_action_too(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    fake.failure = CallFailed(
        100, "Invalid API key.", "INVALID_API_KEY", grpc.StatusCode.UNAUTHENTICATED
    )
    answer = await post(fake, tmp_path, "/api/1/album?key=k")
    assert error_of(answer) == {"message": "Invalid API key.", "code": 100}


async def test_refusals_come_in_the_format_asked_for(fake: FakeDarkroom, tmp_path: Path) -> None:
    for output in ("txt", "redirect"):
        answer = await post(fake, tmp_path, f"/api?format={output}")
        assert answer.status_code == 400
        assert answer.text == "No version provided"
        assert answer.headers["content-type"] == "text/plain; charset=UTF-8"


# --- answers: json, txt, redirect (§5-§7) -------------------------------------------------


async def test_a_json_answer_is_chevereto_s_envelope(fake: FakeDarkroom, tmp_path: Path) -> None:
    answer = await post(fake, tmp_path, URL, data={"key": "k", "source": "x"})
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
    answer = await post(fake, tmp_path, URL, data={"key": "k", "source": "x", "format": output})
    assert answer.json()["status_txt"] == "OK"


async def test_txt_is_the_bare_url_and_redirect_goes_to_the_viewer(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    answer = await post(fake, tmp_path, URL + "?format=txt", data={"key": "k", "source": "x"})
    assert (answer.status_code, answer.text) == (200, fake.reply.url)
    answer = await post(fake, tmp_path, URL, data={"key": "k", "source": "x", "format": "redirect"})
    assert answer.status_code == 302
    assert answer.headers["location"] == "/image/pic.Ab12"


async def test_a_posted_format_beats_the_query(fake: FakeDarkroom, tmp_path: Path) -> None:
    answer = await post(fake, tmp_path, URL + "?format=json", data={"key": "k", "format": "txt"})
    assert answer.text == fake.reply.url


# --- errors from Darkroom -----------------------------------------------------------------


async def test_a_darkroom_error_is_its_chevereto_code_and_message(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    fake.failure = CallFailed(
        130, "Flooding detected", "FLOODING", grpc.StatusCode.RESOURCE_EXHAUSTED
    )
    answer = await post(fake, tmp_path, URL, data={"key": "k", "source": "x"})
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
    answer = await post(fake, tmp_path, URL, data={"key": "k", "source": "x"})
    assert answer.status_code == 503 and answer.headers["retry-after"] == "2"
    assert answer.json()["status_txt"] == "Service Unavailable"
    assert error_of(answer) == {"message": "Service unavailable", "code": 503}
    answer = await post(fake, tmp_path, URL + "?format=txt", data={"key": "k", "source": "x"})
    assert (answer.status_code, answer.text) == (503, "Service unavailable")


async def test_an_unavailable_upstream_with_a_reason_is_the_clients_400(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    fake.failure = CallFailed(
        202, "Can't fetch target upload source", "URL_FETCH_FAILED", grpc.StatusCode.UNAVAILABLE
    )
    answer = await post(fake, tmp_path, URL, data={"key": "k", "source": "x"})
    assert answer.status_code == 400 and "retry-after" not in answer.headers


# --- sources and options of a unary upload ------------------------------------------------


async def test_the_source_field_is_text_empty_is_base64_and_none_is_no_source(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    for data in ({"source": "http://a.test/x.jpg"}, {"source": ""}, {}):
        await post(fake, tmp_path, URL, data={"key": "k", **data})
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
    await post(fake, tmp_path, URL, data=form)
    options = fake.uploads[0].request.options
    assert (options.title, options.description, options.tags) == ("From name", "About", "a,b")
    assert (options.album_id, options.category_id, options.width) == ("Xy9", 12, 640)
    assert (options.expiration, options.nsfw, options.use_file_date) == ("PT5M", True, False)
    assert options.http_method == "POST" and options.key == ""


@pytest.mark.parametrize("value", ["0", "", "abc", "-5", "1e99", "9" * 30])
async def test_numbers_php_would_not_send_are_not_sent(
    fake: FakeDarkroom, tmp_path: Path, value: str
) -> None:
    await post(fake, tmp_path, URL, data={"key": "k", "width": value, "category_id": value})
    options = fake.uploads[0].request.options
    assert (options.width, options.category_id) == (0, 0)


async def test_title_beats_name_and_zero_means_not_sent(fake: FakeDarkroom, tmp_path: Path) -> None:
    await post(fake, tmp_path, URL, data={"key": "k", "title": "T", "name": "N"})
    await post(fake, tmp_path, URL, data={"key": "k", "title": "0", "name": "N"})
    assert [call.request.options.title for call in fake.uploads] == ["T", "N"]


async def test_a_get_upload_says_so_and_reads_the_query(fake: FakeDarkroom, tmp_path: Path) -> None:
    async with shim(fake, tmp_path) as http:
        answer = await http.get(URL, params={"key": "k", "source": "http://a.test/x.jpg"})
    assert answer.status_code == 200
    (call,) = fake.uploads
    assert call.request.options.http_method == "GET" and call.request.text == "http://a.test/x.jpg"


async def test_a_json_body_is_read_as_form_fields(fake: FakeDarkroom, tmp_path: Path) -> None:
    document = {"key": "k", "source": "aGk=", "nsfw": True, "width": 300, "title": None}
    await post(fake, tmp_path, URL, json=document)
    (call,) = fake.uploads
    assert (call.key, call.request.text) == ("k", "aGk=")
    assert (call.request.options.nsfw, call.request.options.width) == (True, 300)


async def test_the_client_address_is_envoys_last_forwarded_entry(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    data = {"key": "k", "source": "x"}
    await post(fake, tmp_path, URL, data=data)
    await post(fake, tmp_path, URL, data=data, headers={"x-forwarded-for": "6.6.6.6, 198.51.100.7"})
    await post(fake, tmp_path, URL, data=data, headers={"x-forwarded-for": "1" * 100})
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
    answer = await post(fake, tmp_path, URL, data={"key": "k", **form})
    body = answer.json()
    assert list(body) == ["status_code", "status", "success", "data", "status_txt"]
    assert body["data"]["id"] == "Ab12" and body["status"] == 200
    request = fake.uploads[0].request
    assert request.text or request.base64 == ""
    if "source" in form:
        assert request.text == "x"  # source still wins as the upload
