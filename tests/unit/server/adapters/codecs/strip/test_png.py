"""PNG: text, EXIF and private chunks gone; pixels, palette, ICC and APNG frames kept."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image, ImageCms, PngImagePlugin

from server.domain.errors import InvalidImage
from tests.unit.server.adapters.codecs.strip.samples import (
    ORIENTATION,
    SECRET_GPS,
    frames_of,
    gps_exif,
    picture,
    pixels,
    png_with_metadata,
    strip,
)


def png_chunks(data: bytes) -> list[bytes]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    types, pos = [], 8
    while pos < len(data):
        length, ctype = struct.unpack(">I4s", data[pos : pos + 8])
        assert (
            zlib.crc32(data[pos + 4 : pos + 8 + length])
            == struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0]
        )
        types.append(ctype)
        pos += 12 + length
    return types


def test_png_text_exif_and_private_chunks_are_removed() -> None:
    original = png_with_metadata()
    assert {b"eXIf", b"tEXt", b"iTXt", b"zTXt", b"tIME", b"prVt"} <= set(png_chunks(original))

    stripped = strip("png", original)

    assert png_chunks(stripped) == [b"IHDR", b"IDAT", b"IEND"]
    assert SECRET_GPS not in stripped and b"SECRET" not in stripped
    with Image.open(io.BytesIO(stripped)) as im:
        assert not im.getexif()
        assert not {"Comment", "Description", "Author"} & set(im.info)
    assert pixels(stripped) == pixels(original)


def test_png_alpha_icc_and_orientation() -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    original = png_with_metadata("RGBA", icc_profile=icc)

    stripped = strip("png", original, orientation=8)

    chunks = png_chunks(stripped)
    assert chunks[:2] == [b"IHDR", b"eXIf"] and b"iCCP" in chunks
    assert chunks.index(b"eXIf") < chunks.index(b"IDAT")
    with Image.open(io.BytesIO(stripped)) as im:
        assert im.mode == "RGBA"
        assert dict(im.getexif()) == {ORIENTATION: 8}
        assert im.info["icc_profile"] == icc
    assert pixels(stripped) == pixels(original)


def test_png_palette_transparency_is_kept() -> None:
    im = picture().convert("P", palette=Image.Palette.ADAPTIVE, colors=16)
    buf = io.BytesIO()
    im.save(buf, "PNG", transparency=3, exif=gps_exif())
    original = buf.getvalue()

    stripped = strip("png", original)

    assert png_chunks(stripped) == [b"IHDR", b"PLTE", b"tRNS", b"IDAT", b"IEND"]
    assert pixels(stripped) == pixels(original)


def test_apng_frames_are_preserved() -> None:
    frames = [picture("RGBA", seed=seed) for seed in range(3)]
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "SECRET-TEXT")
    buf = io.BytesIO()
    frames[0].save(
        buf,
        "PNG",
        save_all=True,
        append_images=frames[1:],
        duration=[40, 80, 120],
        loop=2,
        pnginfo=info,
        exif=gps_exif(),
    )
    original = buf.getvalue()

    stripped = strip("png", original)

    chunks = png_chunks(stripped)
    assert {b"acTL", b"fcTL", b"fdAT"} <= set(chunks)
    assert {b"eXIf", b"tEXt"}.isdisjoint(chunks)
    assert frames_of(stripped) == frames_of(original)
    with Image.open(io.BytesIO(stripped)) as im:
        assert im.info["loop"] == 2 and not im.getexif()
    assert len(frames_of(stripped)) == 3


def test_png_bad_crc_is_invalid() -> None:
    original = bytearray(png_with_metadata())
    idat = original.index(b"IDAT")
    original[idat + 10] ^= 0xFF
    with pytest.raises(InvalidImage):
        strip("png", bytes(original))
    text = bytearray(png_with_metadata())
    text[text.index(b"SECRET-TEXT")] ^= 0x01  # even in a chunk that would be dropped
    with pytest.raises(InvalidImage):
        strip("png", bytes(text))
