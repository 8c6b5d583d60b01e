"""Reclaims the scratch of server processes that are gone: at start, then every so often.

An upload killed with its process leaves its work directory behind, and perhaps blobs
it had stored before its row existed. The work directory's journal names those blobs;
the ones no row owns are deleted, then the directory goes. A blob a row owns stays: the
row was inserted before the process died.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from server.domain.storage import LeftoverScratch
from server.ports import BlobStore, MediaRepo, ScratchSpace

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Reclaimed:
    directories: int
    blobs_deleted: int


class ScratchReclaimer:
    def __init__(
        self, scratch: ScratchSpace, media: MediaRepo, blobs: BlobStore, interval_s: float
    ) -> None:
        self.scratch = scratch
        self._media = media
        self._blobs = blobs
        self._interval_s = interval_s

    async def reclaim(self) -> Reclaimed:
        """Reclaim every leftover whose owner is gone now."""
        leftovers = list(await self.scratch.leftovers())
        directories = deleted = 0
        try:
            while leftovers:
                deleted += await self.reclaim_one(leftovers[0])
                leftovers.pop(0)
                directories += 1
        finally:
            for leftover in leftovers:  # a failure: the next sweep tries them again
                await self.scratch.release(leftover)
            if directories:
                log.info(
                    "reclaimed the scratch of %d dead processes (%d orphan blobs deleted)",
                    directories,
                    deleted,
                )
        return Reclaimed(directories, deleted)

    async def reclaim_one(self, leftover: LeftoverScratch) -> int:
        """Delete its blobs that no row owns, then the leftover; returns how many blobs."""
        try:
            owned = await self._media.owned_keys(leftover.linked_keys)
            orphans = [key for key in leftover.linked_keys if key not in owned]
            for key in orphans:
                await self._blobs.delete(key)
            await self.scratch.discard(leftover)
        finally:
            await self.scratch.release(leftover)
        return len(orphans)

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self._interval_s)
            try:
                await self.reclaim()
            except Exception:  # keep sweeping after a transient database or disk error
                log.exception("scratch sweep failed")
