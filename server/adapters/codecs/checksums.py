"""Chevereto's ``md5`` of a stored file: read back in blocks, or hashed on the way out."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path
from typing import BinaryIO

from typing_extensions import Buffer

CHUNK = 1 << 20


def md5_of(path: Path) -> str:
    """The md5 of a file on disk, read in 1 MiB blocks (files can be huge)."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()


class HashingWriter(io.RawIOBase):
    """Hashes what passes through, so the stored file need not be read back for its md5."""

    def __init__(self, target: BinaryIO) -> None:
        self._target = target
        self._digest = hashlib.md5(usedforsecurity=False)

    def writable(self) -> bool:
        return True

    def write(self, data: Buffer) -> int:
        self._digest.update(data)
        return self._target.write(data)

    def hexdigest(self) -> str:
        return self._digest.hexdigest()
