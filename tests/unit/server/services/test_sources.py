"""Sources: a text read as URL or base64, the switches that refuse one, and base64
accepted exactly when Chevereto's round-trip rule accepts it."""

from __future__ import annotations

import base64
import binascii
import itertools
import random
import re
import tracemalloc
from collections.abc import AsyncIterator

import pytest

from server.domain import errors
from server.domain.upload import (
    Base64Source,
    FileSource,
    TextSource,
    UploadOptions,
    UploadSource,
    UrlSource,
)
from server.services.settings import UploadSettings
from server.services.sources import accepted_source, decode_base64_strict, is_chevereto_url

Outcome = tuple[str, bytes | type[Exception]]


def _round_trip_rule(data: str) -> bytes:
    """The rule as first written: decode, re-encode the whole payload, compare."""
    compact = re.sub(r"\s+", "", data)
    if not compact:
        raise errors.EmptySource()
    try:
        decoded = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise errors.InvalidBase64() from exc
    if base64.b64encode(decoded).decode("ascii") != compact:
        raise errors.InvalidBase64()
    if not decoded:
        raise errors.EmptySource()
    return decoded


def _outcome(rule: object, data: str) -> Outcome:
    assert callable(rule)
    try:
        return ("ok", rule(data))
    except errors.DarkroomError as exc:
        return ("refused", type(exc))


EDGES = [
    "", " ", "\n\t ", "\u00a0", "=", "==", "===", "====", "Q", "QQ", "QQ=", "QQ==", "QR==",
    "QQ===", "Q===", "QUI=", "QUJ=", "QUJD", "QUJDRA==", "QUJDRB==", "QUJDRA=", "QUJDRA",
    "QQ==QQ==", "QQ=\n=", " Q Q = = ", "QUJD\r\n", "QU\tJD", "QUJD====", "=QUJD", "QU=JD",
    "Q\u00a0Q==", "QQ\u2028==", "QUJ\u00e9", "QUJ-", "QUJ_", "QUJ*", "////", "++++", "+/+/",
    "AAAA", "AAA=", "AA==", "AAB=", "AB==", "AP==", "AQ==",
]  # fmt: skip


@pytest.mark.parametrize("data", EDGES)
def test_edge_cases_agree_with_the_round_trip_rule(data: str) -> None:
    assert _outcome(decode_base64_strict, data) == _outcome(_round_trip_rule, data)


def test_every_short_string_over_a_small_alphabet_agrees() -> None:
    # Letters whose low bits are zero and not, both extremes, padding, whitespace, junk.
    alphabet = "AQRw/+= \n*"
    for length in range(6):
        for chars in itertools.product(alphabet, repeat=length):
            data = "".join(chars)
            assert _outcome(decode_base64_strict, data) == _outcome(_round_trip_rule, data), data
    rng = random.Random(5)
    for _ in range(50_000):
        data = "".join(rng.choices(alphabet, k=rng.randrange(6, 11)))
        assert _outcome(decode_base64_strict, data) == _outcome(_round_trip_rule, data), data


def test_random_encodings_and_their_mutations_agree() -> None:
    rng = random.Random(20261128)
    symbols = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/= \n"
    for _ in range(20_000):
        size = rng.randrange(0, 11)
        text = base64.b64encode(rng.randbytes(size)).decode("ascii")
        data = list(text)
        for _ in range(rng.randrange(0, 3)):
            action = rng.randrange(3)
            at = rng.randrange(len(data) + 1)
            if action == 0:
                data.insert(at, rng.choice(symbols))
            elif data and action == 1:
                del data[min(at, len(data) - 1)]
            elif data:
                data[min(at, len(data) - 1)] = rng.choice(symbols)
        mutated = "".join(data)
        expected = _outcome(_round_trip_rule, mutated)
        assert _outcome(decode_base64_strict, mutated) == expected, mutated


def test_checking_a_large_payload_makes_no_copy_of_it_beyond_the_decode() -> None:
    payload = random.Random(7).randbytes(3 * 1024 * 1024 + 1)
    text = base64.b64encode(payload).decode("ascii")
    tracemalloc.start()
    try:
        decoded = decode_base64_strict(text)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert decoded == payload
    # The decoded bytes and the one ASCII copy the decoder makes of its input; a
    # re-encode would add two more copies of the text (bytes, then str).
    assert peak < len(payload) + len(text) + 256 * 1024


async def _no_chunks() -> AsyncIterator[bytes]:
    return
    yield b""


@pytest.mark.parametrize(
    ("text", "is_url"),
    [
        ("https://example.com/a.jpg", True),
        ("FTP://example.com/a.jpg", True),
        ("mailto://someone@example.com", True),
        ("https://exämple.com/a.jpg", False),  # not ASCII
        ("javascript://example.com", False),  # not a known scheme
        ("http:///a.jpg", False),  # no host
        ("http://[::1/", False),  # unparsable
        ("aGVsbG8=", False),
    ],
)
def test_a_url_is_what_chevereto_is_url_says_it_is(text: str, is_url: bool) -> None:
    assert is_chevereto_url(text) is is_url


def test_a_text_source_is_read_as_url_or_else_as_base64() -> None:
    settings, options = UploadSettings(), UploadOptions()
    url = "https://example.com/a.jpg"
    assert accepted_source(TextSource(url), options, settings) == UrlSource(url)
    assert accepted_source(TextSource("aGVsbG8="), options, settings) == Base64Source("aGVsbG8=")
    file = FileSource(_no_chunks())
    assert accepted_source(file, options, settings) is file


@pytest.mark.parametrize("source", [None, TextSource("")], ids=["none", "empty text"])
def test_no_source_is_an_empty_upload_source(source: UploadSource | None) -> None:
    with pytest.raises(errors.EmptyUploadSource):
        accepted_source(source, UploadOptions(), UploadSettings())


def test_url_sources_follow_their_switch_whether_named_or_read_from_text() -> None:
    off = UploadSettings(enable_uploads_url=False)
    for source in (UrlSource("https://example.com/a"), TextSource("https://example.com/a")):
        with pytest.raises(errors.UrlUploadDisabled):
            accepted_source(source, UploadOptions(), off)
    assert accepted_source(TextSource("aGVsbG8="), UploadOptions(), off) == Base64Source("aGVsbG8=")


@pytest.mark.parametrize(("method", "accepted"), [("", True), ("post", True), ("GET", False)])
def test_base64_must_come_by_post(method: str, accepted: bool) -> None:
    options = UploadOptions(http_method=method)
    if accepted:
        assert accepted_source(TextSource("aGVsbG8="), options, UploadSettings())
    else:
        with pytest.raises(errors.Base64NotPosted):
            accepted_source(TextSource("aGVsbG8="), options, UploadSettings())
    # A URL is not held to it.
    assert accepted_source(TextSource("https://example.com/a"), options, UploadSettings())
