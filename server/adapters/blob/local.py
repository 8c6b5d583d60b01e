"""Blobs as files under one root directory, written so a crash never leaves half a file.

A blob is first complete and fsynced under a temporary name (the caller's scratch
file, on the same filesystem), then hard-linked to its final name. ``link`` fails
when the name exists, so two uploads racing for one name cannot overwrite each
other (``rename`` would silently replace).

Scratch lives in ``.tmp`` under the root, one directory per process (see scratch.py);
it is not a blob: ``listing`` never shows it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time
from pathlib import Path

from server.adapters.blob.scratch import ProcessScratch, append_journal
from server.adapters.blob.scratch import fsync_dir as _fsync_dir
from server.domain.errors import StorageFailure
from server.domain.storage import StoredBlob
from server.ports import BlobExists

SCRATCH = ".tmp"


class LocalBlobStore:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.scratch = ProcessScratch(self.root / SCRATCH, self.still_stored)

    def scratch_dir(self) -> Path:
        return self.scratch.own_dir()

    async def journal(self, workdir: Path, key: str, source: Path) -> None:
        await asyncio.to_thread(append_journal, workdir, key, source)

    async def listing(self, prefix: str) -> list[StoredBlob]:
        return await asyncio.to_thread(self._listing, prefix)

    def _listing(self, prefix: str) -> list[StoredBlob]:
        # A hard link keeps the bytes' mtime (maybe minutes before the put, for a slow
        # upload) but sets ctime: ctime is when the blob got its name.
        now = time.time()
        found = []
        for directory, subdirs, files in os.walk(self.root):
            if directory == str(self.root):
                subdirs[:] = [d for d in subdirs if d != SCRATCH]
            for name in files:
                path = os.path.join(directory, name)
                key = os.path.relpath(path, self.root).replace(os.sep, "/")
                if not key.startswith(prefix):
                    continue
                with contextlib.suppress(FileNotFoundError):
                    found.append(StoredBlob(key, max(0.0, now - os.stat(path).st_ctime)))
            # Prune directories the prefix rules out, so a walk of images/ skips the rest.
            relative = os.path.relpath(directory, self.root).replace(os.sep, "/")
            base = "" if relative == "." else relative + "/"
            subdirs[:] = [d for d in subdirs if _may_hold(base + d + "/", prefix)]
        return found

    async def still_stored(self, key: str, source: Path) -> bool:
        """Whether ``key`` is still the file linked from ``source`` (the same inode)."""

        def same_file() -> bool:
            try:
                return os.path.samefile(self.path_of(key), source)
            except (OSError, ValueError):
                return False

        return await asyncio.to_thread(same_file)

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

    async def check(self) -> None:
        """Nothing to reach: a missing root is created on the first put."""

    def close(self) -> None:
        """Nothing held: files are opened per call."""

    async def exists(self, key: str) -> bool:
        return await asyncio.to_thread(self.path_of(key).exists)

    async def delete(self, key: str) -> None:
        def work() -> None:
            with contextlib.suppress(FileNotFoundError):
                self.path_of(key).unlink()

        await asyncio.to_thread(work)


def _may_hold(directory: str, prefix: str) -> bool:
    """Whether keys under ``directory`` (with a trailing slash) can start with ``prefix``."""
    return directory.startswith(prefix) or prefix.startswith(directory)
