"""AVIF/HEIC: Exif and XMP items gone with their data; every iloc layout still decodes."""

from __future__ import annotations

import io
import struct
from typing import Any

import pytest
from PIL import Image

from server.domain.errors import InvalidImage
from tests.support import media
from tests.unit.server.adapters.codecs.strip.samples import (
    GPS_IFD,
    ORIENTATION,
    SECRET_GPS,
    XMP,
    avif,
    frames_of,
    gps_exif,
    picture,
    pixels,
    strip,
)


def boxes(data: bytes, start: int = 0, end: int | None = None) -> list[tuple[bytes, int, int]]:
    """(type, payload start, end) of the boxes in data[start:end] (32-bit sizes only)."""
    end = len(data) if end is None else end
    found, pos = [], start
    while pos < end:
        size, btype = struct.unpack(">I4s", data[pos : pos + 8])
        found.append((btype, pos + 8, pos + size))
        pos += size
    return found


def child(data: bytes, parent: tuple[bytes, int, int], btype: bytes, skip: int = 0) -> bytes:
    for found, start, end in boxes(data, parent[1] + skip, parent[2]):
        if found == btype:
            return data[start:end]
    raise AssertionError(f"no {btype!r}")


def assert_avif_clean(original: bytes, stripped: bytes) -> None:
    assert SECRET_GPS in original and b"SECRET-XMP-PACKET" in original
    assert SECRET_GPS not in stripped and b"SECRET-XMP-PACKET" not in stripped
    meta = next(box for box in boxes(stripped) if box[0] == b"meta")
    iinf = child(stripped, meta, b"iinf", skip=4)
    assert b"Exif" not in iinf and b"mime" not in iinf
    with Image.open(io.BytesIO(stripped)) as im:
        assert "xmp" not in im.info
    assert frames_of(stripped) == frames_of(original)


def test_avif_exif_with_gps_and_xmp_items_removed() -> None:
    original = avif()
    stripped = strip("avif", original)

    assert_avif_clean(original, stripped)
    with Image.open(io.BytesIO(stripped)) as im:
        assert not im.getexif()
    # Their payload was cut out of mdat, not merely unreferenced.
    assert len(stripped) <= len(original) - len(XMP) - 100
    assert pixels(stripped) == pixels(original)


def test_avif_orientation_lives_in_irot_and_survives() -> None:
    original = avif(orientation=6)
    stripped = strip("avif", original)

    assert_avif_clean(original, stripped)
    with Image.open(io.BytesIO(stripped)) as im:
        assert dict(im.getexif()) == {ORIENTATION: 6}  # Pillow reports irot as orientation


def test_avif_image_sequence() -> None:
    frames = [picture(seed=seed) for seed in range(3)]
    buf = io.BytesIO()
    frames[0].save(
        buf,
        "AVIF",
        save_all=True,
        append_images=frames[1:],
        duration=80,
        exif=gps_exif(),
        xmp=XMP,
    )
    original = buf.getvalue()

    stripped = strip("avif", original)

    assert_avif_clean(original, stripped)  # items are also listed in the track's meta
    with Image.open(io.BytesIO(stripped)) as im:
        assert not im.getexif()
    assert len(frames_of(stripped)) == 3


def rebuild_avif(
    data: bytes,
    version: int,
    offset_size: int,
    length_size: int,
    base_size: int,
    index_size: int = 0,
    split: bool = False,
    exif_in_idat: bool = False,
) -> bytes:
    """Re-lay a Pillow AVIF with another iloc flavour (and optionally data in idat).

    Layout of mdat: [colour part 1][Exif][colour part 2][XMP] when ``split`` -- the
    colour item's second extent then sits after a cut -- else one extent per item.
    """
    top = boxes(data)
    assert [btype for btype, _, _ in top] == [b"ftyp", b"meta", b"mdat"]
    ftyp, meta, _ = top
    iloc = child(data, meta, b"iloc", skip=4)
    assert iloc[0] == 0 and iloc[4:6] == b"\x44\x00"  # Pillow: v0, 4-byte offsets/lengths
    items = {}
    pos = 8
    for _ in range(struct.unpack(">H", iloc[6:8])[0]):
        item_id, _, extent_count = struct.unpack(">HHH", iloc[pos : pos + 6])
        assert extent_count == 1
        offset, length = struct.unpack(">II", iloc[pos + 6 : pos + 14])
        items[item_id] = data[offset : offset + length]
        pos += 14
    colour, exif, xmp = items[1], items[2], items[3]  # Pillow's item order

    half = len(colour) // 2
    idat = exif if exif_in_idat else b""
    in_mdat = (
        [(1, colour[:half]), (2, exif), (1, colour[half:]), (3, xmp)]
        if split
        else [(1, colour), (2, exif), (3, xmp)]
    )
    if exif_in_idat:
        in_mdat = [piece for piece in in_mdat if piece[0] != 2]

    def build(mdat_start: int) -> bytes:
        id_size = 2 if version < 2 else 4
        out = bytes([version, 0, 0, 0, offset_size << 4 | length_size, base_size << 4 | index_size])
        out += len(items).to_bytes(id_size, "big")
        for item_id in (1, 2, 3):
            method = 1 if exif_in_idat and item_id == 2 else 0
            extents, pos = [], mdat_start
            for owner, piece in in_mdat:
                if owner == item_id:
                    extents.append((pos, len(piece)))
                pos += len(piece)
            if method == 1:
                extents = [(0, len(idat))]
            if offset_size == 0:  # no extent offsets: the base is the data
                base = extents[0][0]
            else:
                base = mdat_start if base_size and not method else 0
            out += item_id.to_bytes(id_size, "big")
            if version:
                out += struct.pack(">H", method)
            out += struct.pack(">H", 0) + base.to_bytes(base_size, "big")
            out += struct.pack(">H", len(extents))
            for offset, length in extents:
                out += (7 if index_size else 0).to_bytes(index_size, "big")
                out += (offset - base).to_bytes(offset_size, "big")
                out += length.to_bytes(length_size, "big")
        return out

    def meta_box(mdat_start: int) -> bytes:
        payload = data[meta[1] : meta[1] + 4]
        for btype, start, end in boxes(data, meta[1] + 4, meta[2]):
            body = build(mdat_start) if btype == b"iloc" else data[start:end]
            payload += struct.pack(">I4s", len(body) + 8, btype) + body
        if idat:
            payload += struct.pack(">I4s", len(idat) + 8, b"idat") + idat
        return struct.pack(">I4s", len(payload) + 8, b"meta") + payload

    head = data[ftyp[1] - 8 : ftyp[2]]
    mdat_start = len(head) + len(meta_box(0)) + 8
    mdat = b"".join(piece for _, piece in in_mdat)
    return head + meta_box(mdat_start) + struct.pack(">I4s", len(mdat) + 8, b"mdat") + mdat


@pytest.mark.parametrize(
    "layout",
    [
        {"version": 0, "offset_size": 4, "length_size": 4, "base_size": 0},
        {"version": 0, "offset_size": 8, "length_size": 8, "base_size": 4, "split": True},
        {
            "version": 1,
            "offset_size": 4,
            "length_size": 8,
            "base_size": 8,
            "index_size": 4,
            "split": True,
        },
        {"version": 1, "offset_size": 0, "length_size": 4, "base_size": 4},
        {
            "version": 2,
            "offset_size": 8,
            "length_size": 4,
            "base_size": 0,
            "index_size": 8,
            "split": True,
        },
        {
            "version": 2,
            "offset_size": 4,
            "length_size": 4,
            "base_size": 4,
            "split": True,
            "exif_in_idat": True,
        },
    ],
    ids=lambda layout: "-".join(f"{k[0]}{int(v)}" for k, v in layout.items()),
)
def test_avif_iloc_layouts(layout: dict[str, Any]) -> None:
    original = rebuild_avif(avif(), **layout)
    assert pixels(original) == pixels(avif())  # the rebuilt file is a valid AVIF

    stripped = strip("avif", original)

    assert_avif_clean(original, stripped)
    assert pixels(stripped) == pixels(original)
    with Image.open(io.BytesIO(stripped)) as im:
        assert not im.getexif()


@pytest.mark.parametrize(
    "sample",
    [
        media.generated("IMG_0001.HEIC", media.iphone_like_heic),
        # A real iPhone file: grid of tiles, thumbnails, depth map, XMP, ICC.
        *media.corpus_files("exif-samples/heic/IMG_5195.HEIC"),
    ],
)
def test_heic_from_an_iphone_keeps_its_pixels(sample: media.Sample) -> None:
    pillow_heif = pytest.importorskip("pillow_heif")
    pillow_heif.register_heif_opener()
    original = sample.read_bytes()
    with Image.open(io.BytesIO(original)) as im:
        assert im.getexif().get_ifd(GPS_IFD)

    stripped = strip("avif", original)  # same ISOBMFF/HEIF container

    with Image.open(io.BytesIO(stripped)) as im:
        assert not im.getexif()
    assert pixels(stripped) == pixels(original)


def test_avif_truncated_inside_meta_and_bad_box_size() -> None:
    data = avif()
    meta = next(box for box in boxes(data) if box[0] == b"meta")
    with pytest.raises(InvalidImage):
        strip("avif", data[: meta[1] + 20])
    broken = bytearray(data)
    broken[meta[1] - 8 : meta[1] - 4] = struct.pack(">I", 5)  # smaller than its own header
    with pytest.raises(InvalidImage):
        strip("avif", bytes(broken))
