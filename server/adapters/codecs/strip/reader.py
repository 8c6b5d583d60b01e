"""Byte readers for the strippers: streamed, positioned, and over an in-memory box.

Every short read is a truncated file and raises ``InvalidImage``, so the container
code never has to check lengths itself.
"""

from __future__ import annotations

import shutil
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO

from server.domain.errors import InvalidImage

CHUNK = 1 << 20  # streaming granularity: big enough to be fast, small enough for 30 MB files
_SPOOL_IN_MEMORY = 8 << 20


class Reader:
    """Buffered sequential reader whose short reads mean a truncated file."""

    def __init__(self, f: IO[bytes]) -> None:
        self._f = f
        self._buf = b""
        self._pos = 0

    def _fill(self, need: int) -> bool:
        """Make at least ``need`` unread bytes available; False if the file ends first."""
        while len(self._buf) - self._pos < need:
            data = self._f.read(max(CHUNK, need))
            if not data:
                return False
            self._buf = self._buf[self._pos :] + data
            self._pos = 0
        return True

    def read_exact(self, n: int, what: str) -> bytes:
        if not self._fill(n):
            raise InvalidImage(f"truncated {what}")
        data = self._buf[self._pos : self._pos + n]
        self._pos += n
        return data

    def copy(self, n: int, out: IO[bytes] | None, what: str, crc: int = 0) -> int:
        """Stream ``n`` bytes to ``out`` (or skip them); returns the running CRC-32."""
        while n:
            if self._pos == len(self._buf) and not self._fill(1):
                raise InvalidImage(f"truncated {what}")
            take = min(n, len(self._buf) - self._pos)
            piece = memoryview(self._buf)[self._pos : self._pos + take]
            crc = zlib.crc32(piece, crc)
            if out is not None:
                out.write(piece)
            self._pos += take
            n -= take
        return crc


class RandomAccess:
    """Positioned reads relative to where ``src`` started."""

    def __init__(self, f: IO[bytes]) -> None:
        self._f = f
        self._base = f.tell()
        self.length = f.seek(0, 2) - self._base

    def read(self, offset: int, n: int, what: str) -> bytes:
        if offset + n > self.length:
            raise InvalidImage(f"truncated {what}")
        self._f.seek(self._base + offset)
        data = self._f.read(n)
        if len(data) != n:
            raise InvalidImage(f"truncated {what}")
        return data

    def copy(self, offset: int, n: int, out: IO[bytes]) -> None:
        while n:
            take = min(n, CHUNK)
            out.write(self.read(offset, take, "image data"))
            offset += take
            n -= take


@contextmanager
def random_access(src: IO[bytes]) -> Iterator[RandomAccess]:
    """``src`` itself when it can seek, else a spooled copy of it."""
    if src.seekable():
        yield RandomAccess(src)
        return
    with tempfile.SpooledTemporaryFile(max_size=_SPOOL_IN_MEMORY) as spool:
        shutil.copyfileobj(src, spool, CHUNK)
        spool.seek(0)
        yield RandomAccess(spool)


class Cursor:
    """Bounds-checked big-endian field reader over an in-memory box payload."""

    def __init__(self, data: bytes, what: str, pos: int = 0) -> None:
        self.data = data
        self.what = what
        self.pos = pos

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise InvalidImage(f"truncated {self.what}")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def uint(self, size: int) -> int:
        return int.from_bytes(self.take(size), "big") if size else 0

    def u8(self) -> int:
        return self.uint(1)

    def u16(self) -> int:
        return self.uint(2)

    def u32(self) -> int:
        return self.uint(4)
