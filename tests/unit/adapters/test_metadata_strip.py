"""Container-level metadata stripping: metadata gone, pixels and compressed data untouched.

Real camera photos come from ``tests/fixtures/media`` and, when ``DARKROOM_TEST_CORPUS``
names it, from the public corpus (see ``tests/support/media.py``); everything else is
built with Pillow here, with the metadata Pillow can write plus blocks added by hand
(IPTC in JPEG, XMP/plain text in GIF, AVIF ``iloc`` layouts Pillow does not produce).
"""

from __future__ import annotations

import io
import struct
import zlib
from collections.abc import Callable
from typing import Any

import pytest
from PIL import Image, ImageCms, ImageDraw, ImageSequence, PngImagePlugin

from server.adapters.codecs.metadata_strip import strip_metadata
from server.domain.errors import InvalidImage
from tests.support import media

CORPUS_GPS = ("exif-samples/jpg/gps/*.jpg", "corpus/jpg/gps/*.jpg")
GPS_JPEGS = [
    media.generated("camera-gps.jpg", media.camera_gps_jpeg),
    *media.fixtures("DSCN0010.jpg", "32-lens_data.jpeg"),
    *media.corpus_files(*CORPUS_GPS),
]
ORIENTATION = 0x0112
GPS_IFD = 0x8825
XMP = (
    b'<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?>'
    b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf'
    b'-syntax-ns#"><rdf:Description xmlns:exif="http://ns.adobe.com/exif/1.0/" '
    b'exif:GPSLatitude="52,31.1234N" exif:UserComment="SECRET-XMP-PACKET"/></rdf:RDF>'
    b'</x:xmpmeta><?xpacket end="w"?>'
)
SECRET_GPS = b"SECRET-GPS-DATUM"


def strip(fmt: str, data: bytes, *, orientation: int = 1) -> bytes:
    out = io.BytesIO()
    strip_metadata(fmt, io.BytesIO(data), out, orientation=orientation)
    return out.getvalue()


def gps_exif(orientation: int | None = None) -> Image.Exif:
    exif = Image.Exif()
    exif[0x010F] = "SecretCam"  # Make
    if orientation is not None:
        exif[ORIENTATION] = orientation
    gps = exif.get_ifd(GPS_IFD)
    gps[1] = "N"
    gps[2] = (52.0, 31.0, 7.5)
    gps[3] = "E"
    gps[4] = (13.0, 24.0, 1.25)
    gps[18] = SECRET_GPS.decode()  # GPSMapDatum: easy to find in raw bytes
    return exif


def picture(mode: str = "RGB", size: tuple[int, int] = (96, 64), seed: int = 0) -> Image.Image:
    """Something with edges and gradients, so codecs have real work to do."""
    im = Image.new("RGB", size)
    im.putdata(
        [
            ((x * 7 + seed * 40) % 256, (y * 11) % 256, (x * y + seed) % 256)
            for y in range(size[1])
            for x in range(size[0])
        ]
    )
    ImageDraw.Draw(im).ellipse((10, 8, 60, 50), fill=(250, 30 + seed * 50, 40))
    if mode == "RGBA":
        im.putalpha(Image.linear_gradient("L").resize(size))
    return im.convert(mode)


def frames_of(data: bytes) -> list[bytes]:
    with Image.open(io.BytesIO(data)) as im:
        return [frame.convert("RGBA").tobytes() for frame in ImageSequence.Iterator(im)]


def pixels(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as im:
        im.load()
        return im.tobytes()


# --- JPEG ---------------------------------------------------------------------------------


def jpeg_segments(data: bytes) -> tuple[list[tuple[int, bytes]], int]:
    """(marker, payload) of the segments before the first SOS, and the SOS offset."""
    assert data[:2] == b"\xff\xd8"
    segments: list[tuple[int, bytes]] = []
    pos = 2
    while True:
        assert data[pos] == 0xFF
        marker = data[pos + 1]
        (length,) = struct.unpack(">H", data[pos + 2 : pos + 4])
        if marker == 0xDA:
            return segments, pos
        segments.append((marker, data[pos + 4 : pos + 2 + length]))
        pos += 2 + length


def assert_scan_identical(original: bytes, stripped: bytes) -> None:
    """Everything from the first SOS to EOI is the original's bytes, verbatim."""
    _, sos_in = jpeg_segments(original)
    _, sos_out = jpeg_segments(stripped)
    tail = stripped[sos_out:]
    assert tail.endswith(b"\xff\xd9")
    assert tail == original[sos_in : sos_in + len(tail)]


@pytest.mark.parametrize("sample", GPS_JPEGS)
def test_jpeg_camera_gps_removed_pixels_and_scan_untouched(sample: media.Sample) -> None:
    original = sample.read_bytes()
    with Image.open(io.BytesIO(original)) as im:
        source_exif = im.getexif()
        assert source_exif.get_ifd(GPS_IFD), "sample must carry GPS"
        orientation = source_exif.get(ORIENTATION, 1)

    stripped = strip("jpeg", original, orientation=orientation)

    with Image.open(io.BytesIO(stripped)) as im:
        exif = im.getexif()
        assert GPS_IFD not in exif
        assert not exif.get_ifd(GPS_IFD)
        assert set(exif) <= {ORIENTATION}
        assert exif.get(ORIENTATION, 1) == orientation
    assert pixels(stripped) == pixels(original)
    assert_scan_identical(original, stripped)
    markers = [marker for marker, _ in jpeg_segments(stripped)[0]]
    assert 0xED not in markers and 0xFE not in markers
    assert markers.count(0xE1) == (orientation != 1)


@media.needs_corpus
def test_gps_samples_are_found() -> None:
    assert len(media.corpus_glob(*CORPUS_GPS)) >= 9


@pytest.mark.parametrize("orientation", range(1, 9))
@pytest.mark.parametrize("source", ["generated", pytest.param("corpus", marks=media.needs_corpus)])
def test_jpeg_orientation_is_kept_as_the_only_tag(source: str, orientation: int) -> None:
    if source == "generated":
        original = media.oriented_jpeg("landscape", orientation)
    else:
        path = f"exif-samples/jpg/orientation/landscape_{orientation}.jpg"
        original = media.in_corpus(path).read_bytes()
    with Image.open(io.BytesIO(original)) as im:
        assert im.getexif().get(ORIENTATION, 1) == orientation

    stripped = strip("jpeg", original, orientation=orientation)

    with Image.open(io.BytesIO(stripped)) as im:
        assert dict(im.getexif()) == ({ORIENTATION: orientation} if orientation != 1 else {})
    segments, _ = jpeg_segments(stripped)
    if orientation != 1:
        # Right after SOI (and APP0 JFIF when there is one), built by hand: big-endian TIFF.
        first = 1 if segments[0][0] == 0xE0 else 0
        marker, payload = segments[first]
        assert marker == 0xE1 and payload.startswith(b"Exif\0\0MM\0\x2a")
        assert len(payload) == 6 + 26
    assert pixels(stripped) == pixels(original)
    assert_scan_identical(original, stripped)


def raw_maker_note(jpeg: bytes) -> bytes:
    """The MakerNote (0x927C) bytes of the Exif sub-IFD, read straight from the TIFF."""
    with Image.open(io.BytesIO(jpeg)) as im:
        tiff = im.info["exif"][6:]
    order = "<" if tiff[:2] == b"II" else ">"

    def entries(offset: int) -> dict[int, tuple[int, int]]:
        (count,) = struct.unpack(order + "H", tiff[offset : offset + 2])
        found = {}
        for i in range(count):
            tag, _, n, value = struct.unpack(order + "HHII", tiff[offset + 2 + 12 * i :][:12])
            found[tag] = (n, value)
        return found

    exif_ifd = entries(struct.unpack(order + "I", tiff[4:8])[0])[0x8769][1]
    length, offset = entries(exif_ifd).get(0x927C, (0, 0))
    return bytes(tiff[offset : offset + length])


@pytest.mark.parametrize(
    "sample",
    [
        # camera EXIF, and XMP, a comment and ICC (these copies' MakerNotes were already gone)
        *media.fixtures("Canon_40D.jpg", "Nikon_D70.jpg"),
        *media.fixtures("22-canon_tags.jpg"),  # Canon maker note
        *media.fixtures("32-lens_data.jpeg"),  # Nikon maker note (8 KB, with lens data)
        *media.corpus_files("corpus/jpg/exif-org/nikon-e950.jpg"),  # Nikon maker note
        *media.corpus_files("corpus/jpg/hdr/iphone_hdr_YES.jpg"),  # Apple maker note
    ],
)
def test_jpeg_camera_exif_and_maker_notes_are_gone(sample: media.Sample) -> None:
    original = sample.read_bytes()
    with Image.open(io.BytesIO(original)) as im:
        make = im.getexif()[0x010F].strip("\0 ").encode()
    maker_note = raw_maker_note(original)
    assert make in original

    stripped = strip("jpeg", original)

    assert make not in stripped
    if maker_note:
        assert len(maker_note) > 50 and maker_note not in stripped
    with Image.open(io.BytesIO(stripped)) as im:
        assert not im.getexif()
        assert "exif" not in im.info
    assert pixels(stripped) == pixels(original)
    assert_scan_identical(original, stripped)


def iptc_app13(caption: bytes) -> bytes:
    dataset = b"\x1c\x02\x78" + struct.pack(">H", len(caption)) + caption  # 2:120 caption
    dataset += b"\0" * (len(dataset) & 1)
    resource = b"8BIM\x04\x04\0\0" + struct.pack(">I", len(dataset)) + dataset
    payload = b"Photoshop 3.0\0" + resource
    return b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload


def test_jpeg_built_with_exif_xmp_iptc_comment_keeps_only_icc() -> None:
    icc = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    buf = io.BytesIO()
    picture().save(
        buf,
        "JPEG",
        quality=90,
        exif=gps_exif(),
        xmp=XMP,
        comment=b"SECRET-COMMENT",
        icc_profile=icc,
    )
    saved = buf.getvalue()
    original = saved[:2] + iptc_app13(b"SECRET-IPTC-CAPTION") + saved[2:]
    with Image.open(io.BytesIO(original)) as im:
        assert im.getexif().get_ifd(GPS_IFD) and "xmp" in im.info and "photoshop" in im.info
    for secret in (SECRET_GPS, b"SECRET-XMP-PACKET", b"SECRET-IPTC-CAPTION", b"SECRET-COMMENT"):
        assert secret in original

    stripped = strip("jpeg", original)

    for secret in (SECRET_GPS, b"SECRET-XMP-PACKET", b"SECRET-IPTC-CAPTION", b"SECRET-COMMENT"):
        assert secret not in stripped
    with Image.open(io.BytesIO(stripped)) as im:
        assert not im.getexif()
        assert im.info.get("icc_profile") == icc
        for key in ("xmp", "photoshop", "comment", "exif"):
            assert key not in im.info
    markers = [marker for marker, _ in jpeg_segments(stripped)[0]]
    assert {0xE1, 0xED, 0xFE}.isdisjoint(markers)
    assert pixels(stripped) == pixels(original)
    assert_scan_identical(original, stripped)


def test_jpeg_cmyk_keeps_adobe_segment() -> None:
    buf = io.BytesIO()
    picture().convert("CMYK").save(buf, "JPEG", exif=gps_exif())
    original = buf.getvalue()

    stripped = strip("jpeg", original)

    adobe = [payload for marker, payload in jpeg_segments(stripped)[0] if marker == 0xEE]
    assert len(adobe) == 1 and adobe[0].startswith(b"Adobe")
    with Image.open(io.BytesIO(stripped)) as im:
        assert im.mode == "CMYK" and "adobe" in im.info and not im.getexif()
    assert pixels(stripped) == pixels(original)


def test_jpeg_drops_payloads_after_eoi() -> None:
    # MPF secondary images and phone trailers sit after EOI with their own EXIF/GPS.
    buf = io.BytesIO()
    picture().save(buf, "JPEG")
    trailer = io.BytesIO()
    picture(seed=2).save(trailer, "JPEG", exif=gps_exif())
    original = buf.getvalue() + trailer.getvalue()

    stripped = strip("jpeg", original)

    assert SECRET_GPS not in stripped
    assert stripped.endswith(b"\xff\xd9") and stripped.count(b"\xff\xd8") == 1
    assert pixels(stripped) == pixels(original)


def test_jpeg_progressive_segments_between_scans_are_filtered() -> None:
    buf = io.BytesIO()
    picture().save(buf, "JPEG", progressive=True, exif=gps_exif())
    original = buf.getvalue()
    # Put a comment between the first and second scan: legal, and still metadata.
    second_sos = original.index(b"\xff\xda", jpeg_segments(original)[1] + 2)
    comment = b"\xff\xfe" + struct.pack(">H", 2 + 14) + b"BETWEEN-SCANS!"
    original = original[:second_sos] + comment + original[second_sos:]

    stripped = strip("jpeg", original)

    assert b"BETWEEN-SCANS!" not in stripped and SECRET_GPS not in stripped
    assert pixels(stripped) == pixels(original)


class Trickle(io.RawIOBase):
    """A non-seekable source that returns a few bytes per read (network-style)."""

    def __init__(self, data: bytes, step: int = 3) -> None:
        self._data, self._pos, self._step = data, 0, step

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        n = min(len(buffer), self._step, len(self._data) - self._pos)
        buffer[:n] = self._data[self._pos : self._pos + n]
        self._pos += n
        return n


@pytest.mark.parametrize("fmt", ["jpeg", "png", "gif", "webp", "avif"])
def test_non_seekable_trickling_source_gives_the_same_result(fmt: str) -> None:
    original = SAMPLES[fmt]()
    expected = strip(fmt, original, orientation=6)
    out = io.BytesIO()
    strip_metadata(fmt, Trickle(original), out, orientation=6)  # type: ignore[arg-type]
    assert out.getvalue() == expected


# --- PNG ----------------------------------------------------------------------------------


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


def png_with_metadata(mode: str = "RGB", **save: object) -> bytes:
    info = PngImagePlugin.PngInfo()
    info.add_text("Comment", "SECRET-TEXT")
    info.add_itxt("Description", "SECRET-ITXT", lang="en", tkey="Beschreibung")
    info.add_text("Author", "SECRET-ZTXT-" * 20, zip=True)
    info.add(b"tIME", struct.pack(">HBBBBB", 2024, 5, 17, 12, 30, 0))
    info.add(b"prVt", b"SECRET-PRIVATE-CHUNK")
    buf = io.BytesIO()
    picture(mode).save(buf, "PNG", pnginfo=info, exif=gps_exif(), **save)
    return buf.getvalue()


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


# --- GIF ----------------------------------------------------------------------------------


def gif_blocks(data: bytes) -> list[str]:
    """Kinds of the blocks after the screen descriptor: image, gce, comment, app:<id>..."""
    pos = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 13)
    kinds = []

    def skip_sub_blocks(pos: int) -> int:
        while data[pos]:
            pos += data[pos] + 1
        return pos + 1

    while data[pos] != 0x3B:
        if data[pos] == 0x2C:
            kinds.append("image")
            packed = data[pos + 9]
            pos += 10 + (3 << ((packed & 7) + 1) if packed & 0x80 else 0)
            pos = skip_sub_blocks(pos + 1)
        else:
            label = data[pos + 1]
            names = {0xF9: "gce", 0xFE: "comment", 0x01: "plaintext"}
            kind = names.get(label, "app:" + data[pos + 3 : pos + 14].decode("latin-1"))
            kinds.append(kind)
            pos = skip_sub_blocks(pos + 2)
    assert pos == len(data) - 1
    return kinds


def sub_blocks(payload: bytes) -> bytes:
    out = b"".join(
        bytes([len(payload[i : i + 255])]) + payload[i : i + 255]
        for i in range(0, len(payload), 255)
    )
    return out + b"\0"


def animated_gif(**save: object) -> bytes:
    frames = [picture("RGB", seed=seed).convert("P") for seed in range(3)]
    buf = io.BytesIO()
    frames[0].save(
        buf,
        "GIF",
        save_all=True,
        append_images=frames[1:],
        duration=[50, 70, 90],
        loop=0,
        comment=b"SECRET-GIF-COMMENT",
        **save,
    )
    return buf.getvalue()


def test_gif_animated_comment_removed_frames_identical() -> None:
    original = animated_gif()
    assert "comment" in gif_blocks(original)

    stripped = strip("gif", original, orientation=6)  # orientation means nothing to GIF

    assert b"SECRET-GIF-COMMENT" not in stripped
    assert gif_blocks(stripped) == [b for b in gif_blocks(original) if b != "comment"]
    assert frames_of(stripped) == frames_of(original)
    assert len(frames_of(stripped)) == 3
    with Image.open(io.BytesIO(stripped)) as im:
        assert "comment" not in im.info and im.info["loop"] == 0
        durations = []
        for frame in ImageSequence.Iterator(im):
            durations.append(frame.info["duration"])
        assert durations == [50, 70, 90]


def test_gif_xmp_plain_text_and_foreign_extensions_removed_icc_kept() -> None:
    original = animated_gif()
    gct_end = 13 + (3 << ((original[10] & 7) + 1))
    xmp = b"\x21\xff\x0bXMP DataXMP" + sub_blocks(XMP)
    icc = b"\x21\xff\x0bICCRGBG1012" + sub_blocks(b"FAKE-ICC-PROFILE")
    foreign = b"\x21\xff\x0bSECRETAPP01" + sub_blocks(b"SECRET-APP-DATA")
    # A GCE that belongs to a plain-text block must go with it, not drift onto the image.
    text_gce = b"\x21\xf9\x04\x00\xe8\x03\x00\x00"  # 10 s delay
    plain_text = b"\x21\x01\x0c" + bytes(12) + sub_blocks(b"SECRET-PLAIN-TEXT")
    original = original[:gct_end] + xmp + icc + foreign + text_gce + plain_text + original[gct_end:]

    stripped = strip("gif", original)

    kinds = gif_blocks(stripped)
    assert "app:ICCRGBG1012" in kinds and "app:NETSCAPE2.0" in kinds
    assert not {"app:XMP DataXMP", "app:SECRETAPP01", "plaintext", "comment"} & set(kinds)
    assert kinds.count("gce") == kinds.count("image") == 3
    assert b"SECRET" not in stripped
    assert frames_of(stripped) == frames_of(original)
    with Image.open(io.BytesIO(stripped)) as im:
        assert im.info["duration"] == 50


# --- WebP ---------------------------------------------------------------------------------


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


def webp(kind: str) -> bytes:
    buf = io.BytesIO()
    options: dict[str, object] = {"exif": gps_exif(), "xmp": XMP}
    if kind == "lossy":
        picture().save(buf, "WEBP", quality=80, **options)
    elif kind == "lossless":
        picture("RGBA").save(buf, "WEBP", lossless=True, **options)
    else:
        frames = [picture("RGBA", seed=seed) for seed in range(3)]
        frames[0].save(
            buf, "WEBP", save_all=True, append_images=frames[1:], duration=60, loop=0, **options
        )
    return buf.getvalue()


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


# --- AVIF ---------------------------------------------------------------------------------


def avif(orientation: int | None = None) -> bytes:
    buf = io.BytesIO()
    picture().save(buf, "AVIF", quality=90, exif=gps_exif(orientation), xmp=XMP)
    return buf.getvalue()


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


# --- broken input -------------------------------------------------------------------------


def jpeg_sample() -> bytes:
    return media.fixture("Canon_40D.jpg").read_bytes()


SAMPLES: dict[str, Callable[[], bytes]] = {
    "jpeg": jpeg_sample,
    "png": png_with_metadata,
    "gif": animated_gif,
    "webp": lambda: webp("animated"),
    "avif": avif,
}


@pytest.mark.parametrize("fmt", list(SAMPLES))
def test_empty_input_is_invalid(fmt: str) -> None:
    with pytest.raises(InvalidImage):
        strip(fmt, b"")


@pytest.mark.parametrize("fmt", list(SAMPLES))
def test_wrong_signature_is_invalid(fmt: str) -> None:
    data = SAMPLES[fmt]()
    with pytest.raises(InvalidImage):
        strip(fmt, b"\0\0\0\0" + data[4:])
    with pytest.raises(InvalidImage):
        strip(fmt, b"this is not an image, just some text that is long enough" * 4)


@pytest.mark.parametrize("fmt", list(SAMPLES))
@pytest.mark.parametrize("fraction", [0.02, 0.3, 0.6, 0.97])
def test_truncated_input_is_invalid(fmt: str, fraction: float) -> None:
    data = SAMPLES[fmt]()
    with pytest.raises(InvalidImage):
        strip(fmt, data[: max(3, int(len(data) * fraction))])


def test_jpeg_truncated_inside_a_segment_and_inside_scan_data() -> None:
    data = jpeg_sample()
    _, sos = jpeg_segments(data)
    app1 = data.index(b"\xff\xe1")
    with pytest.raises(InvalidImage, match="truncated"):
        strip("jpeg", data[: app1 + 100])
    with pytest.raises(InvalidImage, match="EOI"):
        strip("jpeg", data[: sos + 500])


def test_avif_truncated_inside_meta_and_bad_box_size() -> None:
    data = avif()
    meta = next(box for box in boxes(data) if box[0] == b"meta")
    with pytest.raises(InvalidImage):
        strip("avif", data[: meta[1] + 20])
    broken = bytearray(data)
    broken[meta[1] - 8 : meta[1] - 4] = struct.pack(">I", 5)  # smaller than its own header
    with pytest.raises(InvalidImage):
        strip("avif", bytes(broken))


def test_bad_arguments_are_programming_errors() -> None:
    with pytest.raises(ValueError):
        strip("tiff", jpeg_sample())
    with pytest.raises(ValueError):
        strip("jpeg", jpeg_sample(), orientation=9)
