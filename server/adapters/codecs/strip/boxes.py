"""ISOBMFF box framing: walk the children of an in-memory container, and pack a box."""

from __future__ import annotations

import struct
from collections.abc import Iterator

from server.adapters.codecs.strip.reader import Cursor
from server.domain.errors import InvalidImage


def iter_boxes(data: bytes, start: int) -> Iterator[tuple[bytes, int, int, int]]:
    """Children of an in-memory container: (type, box start, payload start, box end)."""
    end = len(data)
    pos = start
    while pos < end:
        c = Cursor(data, "ISOBMFF box header", pos)
        size, btype = c.u32(), c.take(4)
        if size == 1:
            size = c.uint(8)
        elif size == 0:
            size = end - pos
        if size < c.pos - pos or pos + size > end:
            raise InvalidImage(f"truncated ISOBMFF {btype!r} box")
        yield btype, pos, c.pos, pos + size
        pos += size


def pack_box(btype: bytes, payload: bytes) -> bytes:
    if len(payload) + 8 <= 0xFFFFFFFF:
        return struct.pack(">I4s", len(payload) + 8, btype) + payload
    return struct.pack(">I4sQ", 1, btype, len(payload) + 16) + payload
