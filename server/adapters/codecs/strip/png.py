"""PNG: keep the chunks that decide the pixels, drop text, EXIF and private chunks.

Unknown *critical* chunks are kept (dropping them could not make the file
decodable), unknown ancillary chunks are dropped.  Every CRC is checked, also in
chunks that are dropped.
"""

from __future__ import annotations

import struct
import zlib
from typing import IO

from server.adapters.codecs.strip.orientation import orientation_tiff
from server.adapters.codecs.strip.reader import Reader
from server.domain.errors import InvalidImage

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# Critical chunks, colour and animation: everything a decoder needs to show the same pixels.
_KEEP = frozenset(
    {
        b"IHDR",
        b"PLTE",
        b"IDAT",
        b"IEND",
        b"tRNS",
        b"gAMA",
        b"cHRM",
        b"sRGB",
        b"iCCP",
        b"sBIT",
        b"bKGD",
        b"pHYs",
        b"acTL",
        b"fcTL",
        b"fdAT",
        b"cICP",
        b"mDCv",
        b"cLLi",
    }
)


def _chunk(ctype: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + ctype + data + struct.pack(">I", zlib.crc32(ctype + data))


def strip_png(src: IO[bytes], dst: IO[bytes], orientation: int) -> None:
    r = Reader(src)
    if r.read_exact(8, "PNG signature") != _SIGNATURE:
        raise InvalidImage("not a PNG file")
    dst.write(_SIGNATURE)
    first = True
    while True:
        header = r.read_exact(8, "PNG chunk header")
        length, ctype = struct.unpack(">I4s", header)
        if length > 0x7FFFFFFF or not ctype.isalpha():
            raise InvalidImage("corrupt PNG chunk header")
        if first != (ctype == b"IHDR"):
            raise InvalidImage("IHDR must be the first and only PNG header chunk")
        first = False
        critical = not ctype[0] & 0x20  # upper-case first letter
        keep = ctype in _KEEP or critical
        if keep:
            dst.write(header)
        crc = r.copy(length, dst if keep else None, "PNG chunk", zlib.crc32(ctype))
        stored = r.read_exact(4, "PNG chunk CRC")
        if struct.unpack(">I", stored)[0] != crc:
            raise InvalidImage(f"bad CRC in PNG {ctype.decode('ascii')} chunk")
        if keep:
            dst.write(stored)
        if ctype == b"IHDR" and orientation != 1:
            # eXIf must precede IDAT; right after IHDR is before IDAT and any APNG fcTL.
            dst.write(_chunk(b"eXIf", orientation_tiff(orientation)))
        if ctype == b"IEND":
            return  # trailing bytes after IEND are not part of the image
