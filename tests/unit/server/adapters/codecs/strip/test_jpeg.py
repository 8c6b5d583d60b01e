"""JPEG: EXIF, XMP, IPTC and comments gone; scans, tables, ICC and Adobe kept verbatim."""

from __future__ import annotations

import io
import struct

import pytest
from PIL import Image, ImageCms

from server.domain.errors import InvalidImage
from tests.support import media
from tests.unit.server.adapters.codecs.strip.samples import (
    GPS_IFD,
    ORIENTATION,
    SECRET_GPS,
    XMP,
    gps_exif,
    jpeg_sample,
    picture,
    pixels,
    strip,
)

CORPUS_GPS = ("exif-samples/jpg/gps/*.jpg", "corpus/jpg/gps/*.jpg")
GPS_JPEGS = [
    media.generated("camera-gps.jpg", media.camera_gps_jpeg),
    *media.fixtures("DSCN0010.jpg", "32-lens_data.jpeg"),
    *media.corpus_files(*CORPUS_GPS),
]


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


def test_jpeg_truncated_inside_a_segment_and_inside_scan_data() -> None:
    data = jpeg_sample()
    _, sos = jpeg_segments(data)
    app1 = data.index(b"\xff\xe1")
    with pytest.raises(InvalidImage, match="truncated"):
        strip("jpeg", data[: app1 + 100])
    with pytest.raises(InvalidImage, match="EOI"):
        strip("jpeg", data[: sos + 500])
