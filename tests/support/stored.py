"""What a server has stored, read the way its store keeps it: files or S3 objects.

Tests look at stored media through this, not through ``media_root``, so the same test
runs over the local store and over the S3 store (SeaweedFS).
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol
from urllib.parse import urlsplit

from PIL import Image


def key_of(url: str) -> str:
    """The blob key behind a media URL: ``.../images/2026/03/01/a.jpg`` -> ``images/...``."""
    path = urlsplit(url).path
    at = path.find("/images/")
    if at < 0:
        raise ValueError(f"not a media URL: {url}")
    return path[at + 1 :]


class StoredMedia(Protocol):
    def read(self, key: str) -> bytes: ...
    def exists(self, key: str) -> bool: ...
    def keys(self) -> list[str]:
        """Every stored media blob (under ``images/``), sorted."""
        ...

    def write(self, key: str, data: bytes) -> None:
        """Plant a blob behind the server's back (fsck tests)."""
        ...

    def remove(self, key: str) -> None: ...


class LocalFiles:
    def __init__(self, media_root: Path) -> None:
        self.root = media_root

    def read(self, key: str) -> bytes:
        return (self.root / key).read_bytes()

    def exists(self, key: str) -> bool:
        return (self.root / key).is_file()

    def keys(self) -> list[str]:
        images = self.root / "images"
        if not images.exists():
            return []
        return sorted(p.relative_to(self.root).as_posix() for p in images.rglob("*") if p.is_file())

    def write(self, key: str, data: bytes) -> None:
        path = self.root / key
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    def remove(self, key: str) -> None:
        (self.root / key).unlink()


class HasStore(Protocol):
    @property
    def stored(self) -> StoredMedia: ...


def stored_bytes(server: HasStore, url: str) -> bytes:
    return server.stored.read(key_of(url))


def is_stored(server: HasStore, url: str) -> bool:
    return server.stored.exists(key_of(url))


def open_stored(server: HasStore, url: str) -> Image.Image:
    return Image.open(io.BytesIO(stored_bytes(server, url)))


def stored_media(env: Mapping[str, str], media_root: Path) -> StoredMedia:
    """The store a server started with ``env`` writes to."""
    if env.get("DARKROOM_STORAGE", "local") == "s3":
        from tests.support.s3_objects import S3Objects

        return S3Objects.from_env(env)
    return LocalFiles(media_root)


def scratch_root(env: Mapping[str, str], data_dir: Path) -> Path:
    """Where its uploads spool: beside the files locally, under data_dir with S3."""
    if env.get("DARKROOM_STORAGE", "local") == "s3":
        return data_dir / "scratch"
    return data_dir / "media" / ".tmp"
