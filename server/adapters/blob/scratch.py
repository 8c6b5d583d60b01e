"""Each server process owns its scratch, and the scratch of a dead one is found at once.

Layout under the scratch root (``media_root/.tmp``)::

    .registry.lock            taken briefly to create or list process directories
    proc-<pid>-<hex>/         one per process
        owner.lock            flock-ed by its owner for the process's whole life
        owner.pid             the owner's pid, for humans (pids are reused: never trusted)
        upload-*/             one per upload, removed when the upload ends
            blobs.journal     the blobs it is about to store, appended and fsynced first

The kernel drops a flock when its holder dies, however it dies (kill -9 included), so
"the lock can be taken" means "the owner is gone", on this host. Processes on other
hosts sharing the directory over NFS are not told apart: flock there is not reliable.

Creating a process directory and listing them both hold ``.registry.lock``, so a lister
never sees a directory whose owner has not locked it yet. Whoever finds a dead owner's
directory keeps its ``owner.lock`` until the directory is gone: two reclaimers never
work on one directory. Anything else in the root (a directory from before this layout,
or a half-created one) has no owner, so it is a leftover too.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import json
import os
import secrets
import shutil
import threading
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

from server.domain.storage import LeftoverScratch

REGISTRY = ".registry.lock"
OWNER_LOCK = "owner.lock"
OWNER_PID = "owner.pid"
JOURNAL = "blobs.journal"


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def _registry(root: Path) -> Iterator[None]:
    fd = os.open(root / REGISTRY, os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)  # closing the last descriptor drops the lock


def _try_lock(path: Path) -> int | None:
    """The descriptor holding ``path``'s lock, or None while someone else holds it."""
    try:
        fd = os.open(path, os.O_RDWR)
    except FileNotFoundError:
        return -1  # no lock file: nobody owns it, and there is nothing to hold
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def append_journal(workdir: Path, key: str, source: Path) -> None:
    """One JSON line per blob, fsynced before the blob is linked: a torn last line is a
    blob that was never linked. The source is kept relative, so a moved media root still
    reads right."""
    path = workdir / JOURNAL
    new = not path.exists()
    line = json.dumps({"key": key, "source": os.path.relpath(source, workdir)})
    with open(path, "a", encoding="utf-8") as handle:
        handle.write(line + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    if new:  # the journal's own name must survive a power cut too
        fsync_dir(workdir)
        fsync_dir(workdir.parent)


def _journaled(journal: Path) -> Iterator[tuple[str, Path]]:
    with contextlib.suppress(OSError), open(journal, encoding="utf-8") as handle:
        for line in handle:
            try:
                entry = json.loads(line)
                yield str(entry["key"]), journal.parent / str(entry["source"])
            except (ValueError, KeyError, TypeError):
                continue  # the torn write of a process killed mid-append


def _remove_contents(directory: Path, keep: str) -> None:
    for entry in directory.iterdir():
        if entry.name == keep:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(FileNotFoundError):
                entry.unlink()


# Whether the blob under a key is still the one an upload stored from a scratch file:
# a key another upload took after this one lost a name race is not this upload's.
StillStored = Callable[[str, Path], Awaitable[bool]]


class ProcessScratch:
    """The ScratchSpace role over a local directory, and this process's own part of it.

    The store says which journaled blobs are still the uploads' own (``still_stored``):
    the local store compares inodes, an object store the scratch name the object carries.
    """

    def __init__(self, root: Path, still_stored: StillStored) -> None:
        self.root = root
        self.root.mkdir(parents=True, exist_ok=True)
        self._still_stored = still_stored
        self._own: Path | None = None
        self._own_fd = -1
        self._claimed: dict[str, int] = {}  # leftover name -> descriptor holding its lock
        self._mutex = threading.Lock()  # guards _claimed; never held while waiting on a flock
        self._own_mutex = threading.Lock()

    def own_dir(self) -> Path:
        """This process's directory, created and locked on first use."""
        with self._own_mutex:
            if self._own is None:
                self._own = self._create_own()
            return self._own

    def _create_own(self) -> Path:
        with _registry(self.root):
            path = self.root / f"proc-{os.getpid()}-{secrets.token_hex(4)}"
            path.mkdir()
            fd = os.open(path / OWNER_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # a new file: nobody else has it
            (path / OWNER_PID).write_text(f"{os.getpid()}\n")
            fsync_dir(path)
            fsync_dir(self.root)
        self._own_fd = fd
        return path

    def close(self) -> None:
        """A clean stop: this process's scratch goes, and its lock with it."""
        with self._own_mutex:
            own, self._own = self._own, None
            if own is not None:
                self._remove(own, self._own_fd)
                self._own_fd = -1

    async def leftovers(self) -> list[LeftoverScratch]:
        listed = await asyncio.to_thread(self._leftovers)
        found = []
        try:
            for name, journaled in listed:
                linked = [key for key, source in journaled if await self._still_stored(key, source)]
                found.append(LeftoverScratch(name, tuple(dict.fromkeys(linked))))
        except BaseException:
            # The store failed (an outage): give every claim of this listing up, so the
            # next sweep, here or in another process, can take them again.
            for name, _ in listed:
                await self.release(LeftoverScratch(name, ()))
            raise
        return found

    def _leftovers(self) -> list[tuple[str, list[tuple[str, Path]]]]:
        found = []
        with _registry(self.root):
            for entry in sorted(self.root.iterdir()):
                if entry.name.startswith(".") or entry == self._own:
                    continue
                with self._mutex:
                    if entry.name in self._claimed:
                        continue  # this process is reclaiming it already
                    fd = _try_lock(entry / OWNER_LOCK) if entry.is_dir() else -1
                    if fd is None:
                        continue  # its owner lives
                    self._claimed[entry.name] = fd
                found.append((entry.name, list(self._journaled_blobs(entry))))
        return found

    def _journaled_blobs(self, entry: Path) -> Iterator[tuple[str, Path]]:
        if entry.is_dir():
            for journal in entry.rglob(JOURNAL):
                yield from _journaled(journal)

    async def discard(self, leftover: LeftoverScratch) -> None:
        await asyncio.to_thread(self._discard, leftover.name)

    def _discard(self, name: str) -> None:
        with self._mutex:
            fd = self._claimed.pop(name, None)
        if fd is not None:
            self._remove(self.root / name, fd)

    def _remove(self, path: Path, fd: int) -> None:
        # The lock file goes last: until then, nobody else may take the directory.
        if path.is_dir() and not path.is_symlink():
            _remove_contents(path, keep=OWNER_LOCK)
            with contextlib.suppress(FileNotFoundError):
                (path / OWNER_LOCK).unlink()
            with contextlib.suppress(FileNotFoundError):
                path.rmdir()
        else:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        if fd >= 0:
            os.close(fd)

    async def release(self, leftover: LeftoverScratch) -> None:
        with self._mutex:
            fd = self._claimed.pop(leftover.name, -1)
        if fd >= 0:
            os.close(fd)

    async def live_owners(self) -> int:
        return await asyncio.to_thread(self._live_owners)

    def _live_owners(self) -> int:
        live = 1 if self._own is not None else 0
        with _registry(self.root):
            for entry in self.root.iterdir():
                if entry.name.startswith(".") or entry == self._own or not entry.is_dir():
                    continue
                with self._mutex:
                    if entry.name in self._claimed:
                        continue
                fd = _try_lock(entry / OWNER_LOCK)
                if fd is None:
                    live += 1
                elif fd >= 0:
                    os.close(fd)
        return live
