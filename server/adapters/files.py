"""Small file helpers shared by the codec adapters."""

from __future__ import annotations

import hashlib
from pathlib import Path

CHUNK = 1 << 20


def md5_of(path: Path) -> str:
    """Chevereto's ``md5`` of a stored file, read in 1 MiB blocks (files can be huge)."""
    digest = hashlib.md5(usedforsecurity=False)
    with open(path, "rb") as handle:
        while block := handle.read(CHUNK):
            digest.update(block)
    return digest.hexdigest()
