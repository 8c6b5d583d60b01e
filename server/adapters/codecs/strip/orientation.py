"""The only metadata the strippers ever write: an EXIF orientation, so viewers keep it upright."""

from __future__ import annotations

import struct


def orientation_tiff(orientation: int) -> bytes:
    """A TIFF/EXIF structure holding nothing but IFD0 with one Orientation tag."""
    header = b"MM\x00\x2a" + struct.pack(">I", 8)  # big-endian, IFD0 right after the header
    # One entry: tag 0x0112, type SHORT (3), count 1; the value is left-justified in 4 bytes.
    ifd = struct.pack(">HHHIHHI", 1, 0x0112, 3, 1, orientation, 0, 0)  # ... next IFD: none
    return header + ifd
