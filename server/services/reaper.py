"""Deletes expired media in the background, in batches, forever.

Expiry is a column, so a restart loses nothing: the next sweep after start-up finds
whatever expired while the server was down.
"""

from __future__ import annotations

import asyncio
import logging

from server.domain.errors import StorageFailure
from server.ports import Clock, ExpiredMedia, UploadMetrics
from server.services.media import MediaService
from server.services.null_metrics import NULL_METRICS

log = logging.getLogger(__name__)
BATCH = 100


class ExpiryReaper:
    def __init__(
        self,
        media: ExpiredMedia,
        service: MediaService,
        clock: Clock,
        interval_s: float,
        metrics: UploadMetrics = NULL_METRICS,
    ) -> None:
        self._metrics = metrics
        self._media = media
        self._service = service
        self._clock = clock
        self._interval_s = interval_s

    async def sweep(self) -> int:
        """Delete everything expired by now; returns how many items this process took.

        Replicas sweep the same table: the claim deletes the rows and hands each to one
        of them, so only its claimer deletes an item's files and counts it. A crash
        after the claim leaves files no row owns, which ``darkroom fsck`` finds.
        """
        deleted = 0
        while True:
            batch = await self._media.claim_expired(self._clock.now(), BATCH)
            for record in batch:
                try:
                    await self._service.delete_files(record)
                except StorageFailure:
                    # Its row is gone already: the rest of the batch must not keep its
                    # files too. What is left is an orphan that fsck --repair removes.
                    log.warning("could not delete the files of expired media %s", record.id)
                self._metrics.expired_deleted(1)
                deleted += 1
            # Not "a short batch means done": a claim comes back short also when a racing
            # replica took part of it, and rows may be left behind it.
            if not batch:
                return deleted

    async def run(self) -> None:
        while True:
            try:
                count = await self.sweep()
                if count:
                    log.info("expiry reaper deleted %d media", count)
            except Exception:  # keep reaping after a transient database error
                log.exception("expiry sweep failed")
            await asyncio.sleep(self._interval_s)
