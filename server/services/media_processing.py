"""From a spooled file to the files to store: the real type, the limits, then the codec.

Each check runs before the costlier step after it: the type is read from the first
bytes, the limits from the header, and only then is anything decoded.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from server.domain import errors
from server.domain.formats import Sniffed
from server.domain.processing import ProcessedMedia
from server.domain.text import size_formatted
from server.ports import ImageCodec, UploadMetrics, VideoCodec
from server.services.null_metrics import NULL_METRICS
from server.services.preflight import MediaLimits
from server.services.settings import UploadSettings
from server.services.sniffing import Sniffer
from server.services.spool import Spool


class MediaProcessor:
    def __init__(
        self,
        *,
        image: ImageCodec,
        video: VideoCodec,
        limits: MediaLimits,
        metrics: UploadMetrics = NULL_METRICS,
    ) -> None:
        self._metrics = metrics
        self._image = image
        self._video = video
        self._limits = limits
        self._sniffer = Sniffer()

    async def process(
        self,
        spool: Spool,
        settings: UploadSettings,
        *,
        max_bytes: int,
        target_width: int | None,
        workdir: Path,
        on_sniffed: Callable[[Sniffed], None] = lambda sniffed: None,
    ) -> ProcessedMedia:
        """``on_sniffed`` hears the real type as soon as it is known (the upload's labels).

        The codecs time their own stages (decode, strip, variants) in the worker pool."""
        with self._metrics.stage("sniff"):
            sniffed = await self._sniffer.identify(spool.path, settings)
        on_sniffed(sniffed)
        if spool.size > max_bytes:
            raise errors.FileTooBig(f"File too big - max {size_formatted(max_bytes)}")
        if sniffed.is_video:
            with self._metrics.stage("probe"):
                self._limits.check_video(await self._video.probe(spool.path, sniffed.kind))
            # `width` is ignored for video, as in Chevereto.
            return await self._video.process(spool.path, sniffed.kind, workdir=workdir)
        with self._metrics.stage("probe"):
            self._limits.check_image(await self._image.probe(spool.path, sniffed.kind))
        return await self._image.process(
            spool.path, sniffed.kind, target_width=target_width, workdir=workdir
        )
