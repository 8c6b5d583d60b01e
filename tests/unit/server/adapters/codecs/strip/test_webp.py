"""WebP: EXIF and XMP chunks gone, flags cleared; orientation only where VP8X can flag it."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image

from tests.unit.server.adapters.codecs.strip.samples import (
    ORIENTATION,
    SECRET_GPS,
    frames_of,
    picture,
    strip,
    webp,
)


def webp_chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    riff, size, webp = struct.unpack("<4sI4s", data[:12])
    assert riff == b"RIFF" and webp == b"WEBP" and size == len(data) - 8
    chunks, pos = [], 12
    while pos < len(data):
        fourcc, length = struct.unpack("<4sI", data[pos : pos + 8])
        chunks.append((fourcc, data[pos + 8 : pos + 8 + length]))
        pos += 8 + length + (length & 1)
    assert pos == len(data)
    return chunks


@pytest.mark.parametrize("kind", ["lossy", "lossless", "animated"])
def test_webp_exif_and_xmp_chunks_removed(kind: str) -> None:
    original = webp(kind)
    assert {b"EXIF", b"XMP "} <= {fourcc for fourcc, _ in webp_chunks(original)}

    stripped = strip("webp", original)

    chunks = webp_chunks(stripped)
    assert {b"EXIF", b"XMP "}.isdisjoint(fourcc for fourcc, _ in chunks)
    assert chunks[0][0] == b"VP8X"
    flags = chunks[0][1][0]
    assert flags & 0x0C == 0  # EXIF and XMP flags cleared
    assert bool(flags & 0x02) == (kind == "animated")
    assert SECRET_GPS not in stripped and b"SECRET-XMP-PACKET" not in stripped
    with Image.open(io.BytesIO(stripped)) as im:
        assert not im.getexif() and "xmp" not in im.info
    assert frames_of(stripped) == frames_of(original)


def test_webp_orientation_written_for_extended_files() -> None:
    stripped = strip("webp", webp("lossless"), orientation=6)

    chunks = webp_chunks(stripped)
    assert chunks[0][1][0] & 0x08  # EXIF flag set again, for our chunk
    assert [fourcc for fourcc, _ in chunks].count(b"EXIF") == 1
    with Image.open(io.BytesIO(stripped)) as im:
        assert dict(im.getexif()) == {ORIENTATION: 6}


def test_webp_simple_format_is_passed_through() -> None:
    buf = io.BytesIO()
    picture().save(buf, "WEBP", quality=70)
    original = buf.getvalue()
    assert webp_chunks(original)[0][0] == b"VP8 "
    # No VP8X means nowhere to flag an EXIF chunk: orientation is not written.
    assert strip("webp", original, orientation=6) == original
