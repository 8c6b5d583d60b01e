"""``/api/1/upload`` with multipart forms, in process: streamed, spooled, cut off, too big.

The body goes through httpx's ASGI transport piece by piece, as a socket would deliver
it, so the tests see when the shim reads it and what reaches the fake DarkroomClient.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import grpc
import pytest

from gateway.shim.grpc_client import CallFailed
from gateway.shim.upload import STREAM_CHUNK
from tests.unit.gateway.shim.fake_darkroom import (
    FORM_SIZE,
    MULTIPART,
    PARTIAL,
    PHOTO,
    URL,
    FakeDarkroom,
    File,
    Trickle,
    error_of,
    multipart,
    post,
)

pytestmark = pytest.mark.asyncio


@pytest.fixture
def fake() -> FakeDarkroom:
    return FakeDarkroom()


# --- multipart: streamed while it arrives ------------------------------------------------


async def test_a_file_named_image_is_imgbb_too(fake: FakeDarkroom, tmp_path: Path) -> None:
    body = multipart([("key", "k"), ("image", PHOTO)])
    answer = await post(fake, tmp_path, URL, content=body, headers={"content-type": MULTIPART})
    assert answer.json()["data"]["id"] == "Ab12"
    assert bytes(fake.streams[0].data) == PHOTO.data


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
    answer = await post(fake, tmp_path, URL, content=trickle, headers={"content-type": MULTIPART})
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
    await post(fake, tmp_path, URL, content=body, headers={"content-type": MULTIPART})
    assert fake.streams[0].late is None


async def test_a_late_format_field_changes_the_answer(fake: FakeDarkroom, tmp_path: Path) -> None:
    body = multipart([("key", "k"), ("source", PHOTO), ("format", "txt")])
    answer = await post(fake, tmp_path, URL, content=body, headers={"content-type": MULTIPART})
    assert answer.text == fake.reply.url


async def test_the_header_key_streams_a_file_sent_before_any_field(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    body = multipart([("source", PHOTO), ("key", "ignored")])
    headers = {"content-type": MULTIPART, "x-api-key": "header"}
    await post(fake, tmp_path, URL, content=body, headers=headers)
    assert [call.key for call in fake.streams] == ["header"]
    assert fake.streams[0].late is not None and fake.streams[0].late.key == ""


async def test_only_the_first_source_file_is_the_upload_and_other_files_are_dropped(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    other = File("other.jpg", b"other bytes")
    body = multipart([("key", "k"), ("attachment", other), ("source", PHOTO), ("image", other)])
    answer = await post(fake, tmp_path, URL, content=body, headers={"content-type": MULTIPART})
    assert answer.status_code == 200
    assert bytes(fake.streams[0].data) == PHOTO.data


async def test_a_refusal_mid_stream_is_answered_and_the_rest_is_not_read(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    fake.failure = CallFailed(400, "File too big", "FILE_TOO_BIG", grpc.StatusCode.OUT_OF_RANGE)
    fake.fail_after_chunks = 1
    trickle = Trickle(multipart([("key", "k"), ("source", File("huge.jpg", b"x" * 2**23))]))
    answer = await post(fake, tmp_path, URL, content=trickle, headers={"content-type": MULTIPART})
    assert error_of(answer) == {"message": "File too big", "code": 400}
    assert trickle.sent < len(trickle.pieces) // 2


async def test_a_refusal_of_a_small_file_is_answered(fake: FakeDarkroom, tmp_path: Path) -> None:
    fake.failure = CallFailed(
        610, "Can't get target upload source info", "X", grpc.StatusCode.INVALID_ARGUMENT
    )
    body = multipart([("key", "k"), ("source", PHOTO)])
    answer = await post(fake, tmp_path, URL, content=body, headers={"content-type": MULTIPART})
    assert error_of(answer)["code"] == 610


# --- multipart: the key after the file, spooled to disk ----------------------------------


async def test_a_key_after_the_file_spools_it_then_streams_it_whole(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    body = multipart([("title", "Early"), ("source", PHOTO), ("description", "Late"), ("key", "k")])
    answer = await post(fake, tmp_path, URL, content=body, headers={"content-type": MULTIPART})
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
    answer = await post(fake, tmp_path, URL, content=body, headers={"content-type": MULTIPART})
    assert error_of(answer) == {"message": "No key provided", "code": 100}
    assert fake.calls == 0


async def test_a_spooled_file_is_checked_for_version_and_action_once_the_key_comes(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    body = multipart([("source", PHOTO), ("key", "k")])
    headers = {"content-type": MULTIPART}
    answer = await post(fake, tmp_path, "/api/2/upload", content=body, headers=headers)
    assert error_of(answer) == {"message": "Invalid API version.", "code": 110}
    answer = await post(fake, tmp_path, "/api/1/other", content=body, headers=headers)
    assert error_of(answer) == {"message": "Invalid API action", "code": 120}
    assert fake.streams == []


async def test_a_spooled_file_over_the_message_limit_is_form_size(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    body = multipart([("source", File("a.jpg", b"x" * 5000)), ("key", "k")])
    answer = await post(
        fake, tmp_path, URL, content=body, headers={"content-type": MULTIPART},
        config={"max_message_bytes": 4096},
    )  # fmt: skip
    assert error_of(answer) == FORM_SIZE
    assert fake.streams == []


async def test_a_multipart_form_without_a_file_is_a_unary_upload(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    body = multipart([("source", "http://a.test/x.jpg"), ("key", "k")])
    await post(fake, tmp_path, URL, content=body, headers={"content-type": MULTIPART})
    assert fake.streams == [] and fake.uploads[0].request.text == "http://a.test/x.jpg"


# --- broken and oversized forms -----------------------------------------------------------


async def test_a_form_cut_off_inside_the_file_is_a_partial_upload_and_cancels_the_stream(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    whole = multipart([("key", "k"), ("source", File("a.jpg", b"y" * 600_000))])
    answer = await post(
        fake, tmp_path, URL, content=whole[:400_000], headers={"content-type": MULTIPART}
    )
    assert error_of(answer) == PARTIAL
    (call,) = fake.streams
    assert call.cancelled and not call.finished


async def test_a_spooled_file_cut_off_is_a_partial_upload(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    whole = multipart([("source", PHOTO), ("key", "k")])
    cut = whole[: whole.index(PHOTO.data) + 100]
    answer = await post(fake, tmp_path, URL, content=cut, headers={"content-type": MULTIPART})
    assert error_of(answer) == PARTIAL
    assert fake.calls == 0


async def test_a_form_that_is_not_multipart_at_all_is_a_partial_upload(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    answer = await post(
        fake, tmp_path, URL, content=b"not a form at all", headers={"content-type": MULTIPART}
    )
    assert error_of(answer) == PARTIAL


async def test_a_form_missing_its_closing_boundary_is_a_partial_upload(
    fake: FakeDarkroom, tmp_path: Path
) -> None:
    body = multipart([("key", "k"), ("source", PHOTO)], closed=False)
    answer = await post(fake, tmp_path, URL, content=body, headers={"content-type": MULTIPART})
    # Without the next delimiter the file part never ends, as PHP sees it too. The
    # stream, if it had begun at all, is cancelled: nothing is stored.
    assert error_of(answer) == PARTIAL
    assert not any(call.finished for call in fake.streams)


@pytest.mark.parametrize("kind", ["urlencoded", "multipart"])
async def test_too_many_fields_is_form_size(fake: FakeDarkroom, tmp_path: Path, kind: str) -> None:
    fields = [("key", "k"), ("a", "1"), ("b", "2"), ("c", "3")]
    if kind == "urlencoded":
        request: dict[str, Any] = {"data": dict(fields)}
    else:
        request = {"content": multipart(fields), "headers": {"content-type": MULTIPART}}
    answer = await post(fake, tmp_path, URL, **request, config={"max_fields": 3})
    assert error_of(answer) == FORM_SIZE
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

    too_long = await post(
        fake, tmp_path, URL, **send({"key": "k", "title": "t" * 17}), config=config
    )
    assert error_of(too_long) == FORM_SIZE
    source = await post(
        fake, tmp_path, URL, **send({"key": "k", "source": "s" * 4000}), config=config
    )
    assert source.status_code == 200
    too_big = await post(
        fake, tmp_path, URL, **send({"key": "k", "source": "s" * 4097}), config=config
    )
    assert error_of(too_big) == FORM_SIZE
    assert [len(call.request.text) for call in fake.uploads] == [4000]


async def test_a_json_body_over_the_limit_is_form_size(fake: FakeDarkroom, tmp_path: Path) -> None:
    config = {"max_message_bytes": 800}  # JSON may take 9/8 of it, for escaped slashes
    fits = json.dumps({"key": "k", "source": "a" * 850})
    answer = await post(
        fake,
        tmp_path,
        URL,
        content=fits,
        headers={"content-type": "application/json"},
        config=config,
    )
    assert answer.status_code == 200
    over = json.dumps({"key": "k", "source": "a" * 900})
    answer = await post(
        fake,
        tmp_path,
        URL,
        content=over,
        headers={"content-type": "application/json"},
        config=config,
    )
    assert error_of(answer) == FORM_SIZE
