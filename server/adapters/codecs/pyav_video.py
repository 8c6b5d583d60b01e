"""Short videos with PyAV, in process (no ffmpeg subprocess).

Probe reads only the container header. Processing then does two bounded passes: one
seek-and-decode for the still at a quarter of the duration (Chevereto's ``.fr.jpeg``),
and one remux that copies every audio/video packet into a fresh container, which drops
container and stream metadata (GPS ``location``, titles, maker tags) without
re-encoding a single frame. Both passes check a wall-clock deadline between packets, so
a hostile file ends as a clean error, never a hung worker.
"""

from __future__ import annotations

import math
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import av
from PIL import Image, ImageOps

from server.adapters.codecs.checksums import md5_of
from server.adapters.workers import WorkerPool
from server.domain.derivatives import DerivativeSizes
from server.domain.errors import DarkroomError, InvalidVideo, ProcessingTimeout
from server.domain.processing import ProcessedMedia, VideoFacts
from server.ports import UploadMetrics, UploadStage

# av.open's name for each container family, and what we write back.
_CONTAINERS = {
    "mp4": ("mov,mp4,m4a,3gp,3g2,mj2", "mp4", "video/mp4"),
    "mov": ("mov,mp4,m4a,3gp,3g2,mj2", "mov", "video/quicktime"),
    "webm": ("matroska,webm", "webm", "video/webm"),
}
_MUXER_OPTIONS = {
    # moov first, so browsers start playing before the whole file has arrived.
    "mp4": {"movflags": "+faststart"},
    "mov": {"movflags": "+faststart"},
    "webm": {},
}
_MAX_FRAMES_AFTER_SEEK = 1_000


def _duration_s(container: Any, stream: Any) -> float:
    if container.duration:
        return float(container.duration) / av.time_base
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    return 0.0


class _Deadline:
    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds
        self._seconds = seconds

    def check(self) -> None:
        if time.monotonic() > self._end:
            raise ProcessingTimeout("The video took too long to process", timeout_s=self._seconds)


def whole_seconds(duration_s: float) -> int:
    """Chevereto's integer duration; a clip shorter than a second still lasts one."""
    return max(1, round(duration_s)) if duration_s > 0 else 0


class PyAvVideoCodec:
    def __init__(
        self,
        pool: WorkerPool,
        sizes: DerivativeSizes | None = None,
        deadline_s: float = 60.0,
        metrics: UploadMetrics | None = None,
    ) -> None:
        self._pool = pool
        self._sizes = sizes or DerivativeSizes()
        self._deadline_s = deadline_s
        self._metrics = metrics

    def _stage(self, stage: UploadStage) -> AbstractContextManager[None]:
        return self._metrics.stage(stage) if self._metrics else nullcontext()

    async def probe(self, path: Path, kind: str) -> VideoFacts:
        return await self._pool.run(self.probe_sync, path, kind)

    async def process(self, path: Path, kind: str, *, workdir: Path) -> ProcessedMedia:
        return await self._pool.run(self.process_sync, path, kind, workdir)

    # --- in the pool --------------------------------------------------------------------

    def _open(self, path: Path, kind: str) -> Any:
        expected = _CONTAINERS[kind][0]
        try:
            container = av.open(str(path), metadata_errors="ignore")
        except (av.error.FFmpegError, ValueError, OSError) as exc:
            raise InvalidVideo(detail=str(exc)[:200]) from exc
        if container.format.name != expected:
            container.close()
            raise InvalidVideo(detail=f"container is {container.format.name}")
        return container

    def probe_sync(self, path: Path, kind: str) -> VideoFacts:
        try:
            return self._probe(path, kind)
        except (DarkroomError, MemoryError):
            raise
        except Exception as exc:
            raise InvalidVideo(detail=str(exc)[:200]) from exc

    def _probe(self, path: Path, kind: str) -> VideoFacts:
        with self._open(path, kind) as container:
            if not container.streams.video:
                return VideoFacts(container.format.name, "", 0, 0, 0.0, 0, has_video=False)
            stream = container.streams.video[0]
            context = stream.codec_context
            duration = _duration_s(container, stream)
            rate = float(stream.average_rate or stream.guessed_rate or 30)
            frames = int(stream.frames or math.ceil(duration * rate))
            return VideoFacts(
                container=container.format.name,
                codec=context.name,
                width=int(context.width),
                height=int(context.height),
                duration_s=duration,
                frames=frames,
                has_video=True,
            )

    def process_sync(self, path: Path, kind: str, workdir: Path) -> ProcessedMedia:
        deadline = _Deadline(self._deadline_s)
        try:
            with self._stage("decode"):
                still, duration = self._still(path, kind, deadline)
            stored = workdir / f"stored.{kind}"
            # Remuxing is how a video's metadata is stripped.
            with self._stage("strip"):
                self._remux(path, kind, stored, deadline)
        except (DarkroomError, MemoryError):
            raise
        except Exception as exc:  # any demux/decode failure on hostile bytes
            raise InvalidVideo(detail=str(exc)[:200]) from exc
        with self._stage("variants"):
            return self._derivatives(still, stored, kind, duration, workdir)

    def _still(self, path: Path, kind: str, deadline: _Deadline) -> tuple[Image.Image, float]:
        """The upright frame at floor(duration / 4) s, or the first one of a short clip."""
        with self._open(path, kind) as container:
            stream = container.streams.video[0]
            duration = _duration_s(container, stream)
            target = math.floor(duration / 4)
            if target > 0 and stream.time_base:
                container.seek(int(target / stream.time_base), stream=stream, backward=True)
            chosen = None
            for count, frame in enumerate(container.decode(stream)):
                deadline.check()
                chosen = frame
                if frame.time is None or frame.time >= target or count >= _MAX_FRAMES_AFTER_SEEK:
                    break
            if chosen is None:
                raise InvalidVideo(detail="no decodable frame")
            image = chosen.to_image()
            rotation = int(getattr(chosen, "rotation", 0) or 0) % 360
            if rotation:
                # The display matrix turns the picture counter-clockwise, like PIL's rotate.
                image = image.rotate(rotation, expand=True)
            return image, duration

    def _remux(self, path: Path, kind: str, stored: Path, deadline: _Deadline) -> None:
        out_format = _CONTAINERS[kind][1]
        with (
            self._open(path, kind) as source,
            av.open(str(stored), "w", format=out_format, options=_MUXER_OPTIONS[kind]) as target,
        ):
            mapping = {}
            for stream in source.streams:
                if stream.type in ("video", "audio"):
                    # Codec parameters (and the display matrix) come along; metadata does not.
                    mapping[stream.index] = target.add_stream_from_template(stream)
            for packet in source.demux(*[source.streams[i] for i in mapping]):
                deadline.check()
                if packet.dts is None:
                    continue  # the demuxer's end-of-stream marker
                packet.stream = mapping[packet.stream.index]
                target.mux(packet)

    def _derivatives(
        self, still: Image.Image, stored: Path, kind: str, duration: float, workdir: Path
    ) -> ProcessedMedia:
        sizes = self._sizes
        width, height = still.size
        frame = workdir / "frame.jpeg"
        still.save(frame, "JPEG", quality=sizes.jpeg_quality)
        thumb = workdir / "thumb.jpeg"
        ImageOps.fit(still, (sizes.thumb_width, sizes.thumb_height), Image.Resampling.LANCZOS).save(
            thumb, "JPEG", quality=sizes.jpeg_quality
        )
        medium: Path | None = None
        medium_w = medium_h = 0
        if width > sizes.medium_size:
            medium_w, medium_h = (
                sizes.medium_size,
                max(1, round(sizes.medium_size * height / width)),
            )
            medium = workdir / "medium.jpeg"
            still.resize((medium_w, medium_h), Image.Resampling.LANCZOS).save(
                medium, "JPEG", quality=sizes.jpeg_quality
            )
        return ProcessedMedia(
            path=stored,
            extension=kind,
            mime=_CONTAINERS[kind][2],
            size=stored.stat().st_size,
            width=width,
            height=height,
            md5=md5_of(stored),
            source_md5=None,
            thumb=thumb,
            thumb_size=thumb.stat().st_size,
            thumb_extension="jpeg",
            medium=medium,
            medium_size=medium.stat().st_size if medium else 0,
            medium_width=medium_w,
            medium_height=medium_h,
            is_animated=False,
            is_360=False,
            title=None,
            description=None,
            taken_at=None,
            is_video=True,
            frame=frame,
            frame_size=frame.stat().st_size,
            duration=whole_seconds(duration),
        )
