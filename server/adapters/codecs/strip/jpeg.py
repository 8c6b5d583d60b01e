"""JPEG: keep the segments that decode the pixels, copy the scans verbatim, drop the rest.

Everything after the EOI of the image (MPF secondary images, phone "trailers",
appended motion-photo videos) is dropped: those payloads carry their own EXIF/GPS.
APPn/COM segments between progressive scans are filtered like the ones before the
first scan.  A file without EOI is rejected.
"""

from __future__ import annotations

import re
import struct
from typing import IO

from server.adapters.codecs.strip.orientation import orientation_tiff
from server.adapters.codecs.strip.reader import Reader
from server.domain.errors import InvalidImage

# A marker that can end scan data: 0xFF then 0xC0..0xFE except RST0-7 (0xD0..0xD7).
_SCAN_MARKER = re.compile(rb"\xff[\xc0-\xcf\xd8-\xfe]")
_SOI, _EOI, _SOS, _APP0, _APP2, _APP14, _COM = 0xD8, 0xD9, 0xDA, 0xE0, 0xE2, 0xEE, 0xFE
_STANDALONE = frozenset({0x01, *range(0xD0, 0xD8)})  # TEM, RST0-7: no length field


class _JpegReader(Reader):
    """A ``Reader`` that can also skim scan data, which needs its buffer to search in."""

    def copy_entropy_coded(self, out: IO[bytes]) -> None:
        """Copy JPEG scan data verbatim up to the next marker (left unread).

        Inside entropy-coded data 0xFF is followed by 0x00 (stuffing), RST0-7 or
        another 0xFF (fill); a marker that can follow a scan is 0xC0..0xFE.  0xFF
        before a reserved code (0x02..0xBF) is corruption that decoders skip, so
        it is copied along with the data rather than read as a segment.
        """
        while True:
            if not self._fill(2):
                raise InvalidImage("JPEG scan data ends without an EOI marker")
            buf = self._buf
            # One C-speed search instead of a Python step per 0xFF (about one per
            # 256 bytes of photo data).
            marker = _SCAN_MARKER.search(buf, self._pos)
            if marker is not None:
                out.write(memoryview(buf)[self._pos : marker.start()])
                self._pos = marker.start()
                return
            # No marker in the buffer; hold back a final 0xFF whose follower is unknown yet.
            end = len(buf) - 1 if buf.endswith(b"\xff") else len(buf)
            out.write(memoryview(buf)[self._pos : end])
            self._pos = end


def _keep(marker: int, payload: bytes) -> bool:
    if marker == _COM:
        return False
    if not 0xE0 <= marker <= 0xEF:
        return True  # tables, frame/scan headers, DRI, DNL...: needed to decode
    if marker == _APP0:
        return payload.startswith((b"JFIF\0", b"JFXX\0"))
    if marker == _APP2:
        return payload.startswith(b"ICC_PROFILE\0")
    if marker == _APP14:
        # The Adobe segment selects the colour transform of CMYK/YCCK scans.
        return payload.startswith(b"Adobe")
    return False  # APP1 EXIF/XMP, APP13 IPTC, maker and vendor segments


def _next_marker(r: Reader) -> int:
    if r.read_exact(1, "JPEG marker") != b"\xff":
        raise InvalidImage("garbage between JPEG segments")
    byte = r.read_exact(1, "JPEG marker")
    while byte == b"\xff":  # fill bytes may pad any marker
        byte = r.read_exact(1, "JPEG marker")
    return byte[0]


def strip_jpeg(src: IO[bytes], dst: IO[bytes], orientation: int) -> None:
    r = _JpegReader(src)
    if r.read_exact(2, "JPEG signature") != b"\xff\xd8":
        raise InvalidImage("not a JPEG file")
    dst.write(b"\xff\xd8")
    # Exif requires its APP1 first, JFIF its APP0; the de-facto order is SOI, APP0, APP1.
    exif = b"Exif\0\0" + orientation_tiff(orientation) if orientation != 1 else b""
    pending_exif = struct.pack(">BBH", 0xFF, 0xE1, len(exif) + 2) + exif if exif else b""
    seen_scan = False
    while True:
        marker = _next_marker(r)
        if marker == _EOI:
            if not seen_scan:
                raise InvalidImage("JPEG ends before its image data")
            dst.write(b"\xff\xd9")
            return  # anything after EOI is a foreign payload (see module docstring)
        if marker in _STANDALONE:
            dst.write(bytes((0xFF, marker)))
            continue
        if marker == _SOI:
            raise InvalidImage("unexpected SOI marker inside JPEG")
        (length,) = struct.unpack(">H", r.read_exact(2, "JPEG segment length"))
        if length < 2:
            raise InvalidImage("corrupt JPEG segment length")
        payload = r.read_exact(length - 2, "JPEG segment")
        keep = _keep(marker, payload)
        if pending_exif and not (keep and marker == _APP0):
            dst.write(pending_exif)
            pending_exif = b""
        if keep:
            dst.write(struct.pack(">BBH", 0xFF, marker, length))
            dst.write(payload)
        if marker == _SOS:
            seen_scan = True
            r.copy_entropy_coded(dst)
