"""One upload's scratch directory and the blobs it has stored so far.

Scratch files live in one work directory that is always removed, and stored blobs
are deleted again if anything before the row exists fails, so a failed upload
leaves nothing behind. Each blob is journaled in the work directory before it is
stored, so an upload whose process is killed leaves nothing behind either: reclaiming
the dead process's scratch deletes the journaled blobs that no row owns.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from collections.abc import Awaitable
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from server.domain.errors import StorageFailure
from server.domain.media import MediaRecord
from server.ports import BlobStore

log = logging.getLogger(__name__)


@dataclass
class IngestSession:
    blobs: BlobStore
    workdir: Path = field(init=False)
    stored: list[str] = field(default_factory=list)
    _recording: asyncio.Future[MediaRecord] | None = None

    async def __aenter__(self) -> IngestSession:
        self.workdir = Path(
            await asyncio.to_thread(
                tempfile.mkdtemp, prefix="upload-", dir=self.blobs.scratch_dir()
            )
        )
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        interrupted: asyncio.CancelledError | None = None
        try:
            interrupted = await self._insert_settled(exc)
            if exc_type is not None:
                for key in reversed(self.stored):
                    await self._delete(key)
        finally:
            await asyncio.to_thread(shutil.rmtree, self.workdir, ignore_errors=True)
        if interrupted is not None:
            raise interrupted

    async def put(self, key: str, source: Path) -> None:
        """Store one file of this upload, journaled first; raises BlobExists as put does.

        A put cannot be stopped half way (an object store's request runs on in its
        thread), so a caller that leaves meanwhile waits for it to end and the blob is
        counted as stored: the cleanup then deletes it with the others."""
        await self.blobs.journal(self.workdir, key, source)
        putting = asyncio.ensure_future(self.blobs.put(key, source))
        try:
            await asyncio.shield(putting)
        except asyncio.CancelledError:
            while not putting.done():
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait([putting])
            if not putting.cancelled() and putting.exception() is None:
                self.stored.append(key)
            raise
        self.stored.append(key)

    async def record(self, insert: Awaitable[MediaRecord]) -> MediaRecord:
        """Insert the row, then keep the blobs; runs to the end even if cancelled."""

        async def insert_then_keep() -> MediaRecord:
            record = await insert
            self.stored.clear()
            return record

        self._recording = asyncio.ensure_future(insert_then_keep())
        return await asyncio.shield(self._recording)

    async def _insert_settled(self, exc: BaseException | None) -> asyncio.CancelledError | None:
        """Wait until an insert in flight has ended; returns a cancellation that came meanwhile.

        A caller that left mid-insert must not take the files from under a row that
        is about to exist, so a cancellation is held back until the insert has ended
        and the blobs' fate is known; the caller re-raises it after cleaning up.
        """
        recording = self._recording
        interrupted: asyncio.CancelledError | None = None
        if recording is None:
            return None
        while not recording.done():
            try:
                await asyncio.wait([recording])
            except asyncio.CancelledError as cancel:
                interrupted = cancel
        if not recording.cancelled():
            failure = recording.exception()
            if failure is not None and failure is not exc:
                # Nobody else will hear of it: the caller left before the insert failed.
                log.warning("Recording an upload failed after its caller left", exc_info=failure)
        return interrupted

    async def _delete(self, key: str) -> None:
        try:
            await self.blobs.delete(key)
        except (OSError, StorageFailure):
            # The caller's own error matters more; the orphan is only storage space.
            log.warning("Could not delete %s after a failed upload", key, exc_info=True)
