"""Blobs as files under one root directory, written so a crash never leaves half a file.

A blob is first complete and fsynced under a temporary name (the caller's scratch
file, on the same filesystem), then hard-linked to its final name. ``link`` fails
when the name exists, so two uploads racing for one name cannot overwrite each
other (``rename`` would silently replace).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import time
from pathlib import Path

from server.domain.errors import StorageFailure
from server.ports import BlobExists


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self._scratch = self.root / ".tmp"
        self._scratch.mkdir(parents=True, exist_ok=True)

    def sweep_scratch(self, older_than_s: float = 3600.0) -> int:
        """Remove scratch left by uploads that a crash interrupted; returns how many."""
        cutoff = time.time() - older_than_s
        removed = 0
        for entry in self._scratch.iterdir():
            with contextlib.suppress(FileNotFoundError):
                if entry.stat().st_mtime < cutoff:
                    if entry.is_dir():
                        shutil.rmtree(entry, ignore_errors=True)
                    else:
                        entry.unlink()
                    removed += 1
        return removed

    def scratch_dir(self) -> Path:
        return self._scratch

    def path_of(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ValueError(f"blob key escapes the root: {key!r}")
        return path

    async def put(self, key: str, source: Path) -> None:
        await asyncio.to_thread(self._put, key, source)

    def _put(self, key: str, source: Path) -> None:
        target = self.path_of(key)
        try:
            created = self._make_parents(target.parent)
            with open(source, "rb+") as handle:
                os.fsync(handle.fileno())
            os.link(source, target)
            for directory in [target.parent, *created]:
                _fsync_dir(directory)
        except FileExistsError as exc:
            raise BlobExists(key) from exc
        except OSError as exc:
            raise StorageFailure(path=key, error=exc.strerror or "") from exc

    def _make_parents(self, directory: Path) -> list[Path]:
        """mkdir -p; returns the parents of new directories, which must be fsynced too."""
        missing = []
        while not directory.exists() and directory != self.root:
            missing.append(directory)
            directory = directory.parent
        for new in reversed(missing):
            new.mkdir(exist_ok=True)
        return [new.parent for new in missing]

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path_of(key).exists)

    async def delete(self, key: str) -> None:
        def work() -> None:
            with contextlib.suppress(FileNotFoundError):
                self.path_of(key).unlink()

        await asyncio.to_thread(work)
