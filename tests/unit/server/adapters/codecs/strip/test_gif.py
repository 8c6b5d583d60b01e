"""GIF: comments, XMP and foreign extensions gone; frames, timing, loop and ICC kept."""

from __future__ import annotations

import io

from PIL import Image, ImageSequence

from tests.unit.server.adapters.codecs.strip.samples import XMP, animated_gif, frames_of, strip


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
