"""Form parsing in the shim: urlencoded bodies decoded as they stream, within budget."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from urllib.parse import parse_qsl, quote_plus, urlencode

import pytest

from gateway.shim.forms import FormLimits, FormTooLarge, json_fields, urlencoded_fields

LIMITS = FormLimits(max_fields=64, max_field_bytes=1024, max_source_bytes=4096)


async def _pieces(body: bytes, size: int) -> AsyncIterator[bytes]:
    for start in range(0, len(body), size):
        yield body[start : start + size]


def _parse(body: bytes, size: int, limits: FormLimits = LIMITS) -> dict[str, str]:
    return asyncio.run(urlencoded_fields(_pieces(body, size), limits))


def test_decoding_matches_parse_qsl_however_the_body_is_cut() -> None:
    """Escapes cut at a chunk boundary ('%', '%4') wait for the rest of them."""
    rng = random.Random(7)
    alphabet = "ab +/=%&;é€\n"
    for _ in range(300):
        fields = {
            "".join(rng.choice(alphabet) for _ in range(rng.randrange(1, 6))): "".join(
                rng.choice(alphabet) for _ in range(rng.randrange(0, 40))
            )
            for _ in range(3)
        }
        body = urlencode(fields).encode()
        expected = dict(parse_qsl(body.decode(), keep_blank_values=True))
        for size in (1, 2, 3, 5, len(body) or 1):
            assert _parse(body, size) == expected


def test_limits_count_decoded_bytes_so_an_encoded_source_at_the_limit_fits() -> None:
    source = "+/=" * 1330  # 3990 decoded bytes, 3x that on the wire
    body = ("source=" + quote_plus(source)).encode()
    assert len(body) > LIMITS.max_source_bytes
    assert _parse(body, 100)["source"] == source


def test_the_total_of_the_fields_is_bounded_too() -> None:
    fields = {f"f{n}": "x" * 1000 for n in range(5)}  # each under 1024, 5000 in all
    with pytest.raises(FormTooLarge):
        _parse(urlencode(fields).encode(), 64)


def test_deeply_nested_json_is_an_empty_form_not_a_crash() -> None:
    assert json_fields(bytearray(b"[" * 100_000)) == {}
