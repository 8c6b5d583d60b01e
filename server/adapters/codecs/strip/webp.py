"""WebP: keep the image, alpha, animation and ICC chunks; drop EXIF, XMP and unknown chunks.

Orientation is only written for extended (VP8X) files; simple VP8/VP8L files have
nowhere to flag an EXIF chunk, and WebP from cameras is rare enough not to
synthesise VP8X.  The RIFF size has to be known before the first chunk is written,
so the file is read with random access.
"""

from __future__ import annotations

import struct
from typing import IO

from server.adapters.codecs.strip.orientation import orientation_tiff
from server.adapters.codecs.strip.reader import random_access
from server.domain.errors import InvalidImage

_KEEP = frozenset({b"VP8X", b"ICCP", b"ANIM", b"ANMF", b"ALPH", b"VP8 ", b"VP8L"})
_VP8X_EXIF, _VP8X_XMP = 0x08, 0x04


def strip_webp(src: IO[bytes], dst: IO[bytes], orientation: int) -> None:
    with random_access(src) as ra:
        riff, riff_size, webp = struct.unpack("<4sI4s", ra.read(0, 12, "WebP header"))
        if riff != b"RIFF" or webp != b"WEBP":
            raise InvalidImage("not a WebP file")
        end = 8 + riff_size
        if end > ra.length:
            raise InvalidImage("truncated WebP file")
        chunks: list[tuple[bytes, int, int]] = []  # fourcc, payload offset, payload size
        pos = 12
        while pos < end:
            fourcc, size = struct.unpack("<4sI", ra.read(pos, 8, "WebP chunk header"))
            if pos + 8 + size > end:
                raise InvalidImage("truncated WebP chunk")
            chunks.append((fourcc, pos + 8, size))
            pos += 8 + size + (size & 1)  # a missing pad byte after the last chunk is tolerated
        if not chunks or chunks[0][0] not in (b"VP8 ", b"VP8L", b"VP8X"):
            raise InvalidImage("WebP file without an image chunk")

        extended = chunks[0][0] == b"VP8X"
        vp8x = bytearray()
        exif = b""
        if extended:
            vp8x = bytearray(ra.read(chunks[0][1], chunks[0][2], "WebP VP8X chunk"))
            if len(vp8x) < 10:
                raise InvalidImage("truncated WebP VP8X chunk")
            vp8x[0] &= ~(_VP8X_EXIF | _VP8X_XMP) & 0xFF
            if orientation != 1:
                vp8x[0] |= _VP8X_EXIF
                tiff = orientation_tiff(orientation)
                exif = struct.pack("<4sI", b"EXIF", len(tiff)) + tiff + b"\0" * (len(tiff) & 1)

        kept = [chunk for chunk in chunks if chunk[0] in _KEEP]
        body = 4 + sum(8 + size + (size & 1) for _, _, size in kept) + len(exif)
        dst.write(struct.pack("<4sI4s", b"RIFF", body, b"WEBP"))
        for index, (fourcc, offset, size) in enumerate(kept):
            dst.write(struct.pack("<4sI", fourcc, size))
            if index == 0 and extended:
                dst.write(vp8x)
            else:
                ra.copy(offset, size, dst)
            if size & 1:
                dst.write(b"\0")
        dst.write(exif)  # the spec puts EXIF after the image data
