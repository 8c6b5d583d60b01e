"""The image codec adapter: header facts for preflight, then the stored file and its derivatives.

One upload is decoded once for its derivatives. The stored original is not
re-encoded unless it must be (BMP → PNG, HEIC → JPEG, a `width` resize): metadata
is stripped losslessly instead.
"""

from __future__ import annotations

from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import BinaryIO, cast

from PIL import Image, ImageFile, ImageOps, UnidentifiedImageError

from darkroom.v1.media_types import MIME_OF_EXTENSION
from server.adapters.codecs.checksums import HashingWriter, md5_of
from server.adapters.codecs.pillow import metadata, pixels
from server.adapters.codecs.strip import strip_metadata
from server.adapters.workers import WorkerPool
from server.domain.derivatives import DerivativeSizes
from server.domain.errors import (
    DarkroomError,
    InvalidImage,
    SourceInfoUnreadable,
    WidthUpscale,
)
from server.domain.processing import ImageFacts, ProcessedMedia
from server.ports import UploadMetrics, UploadStage

# Formats whose stored file is re-encoded on ingest, and what they become.
_CONVERTED = {"bmp": "png", "heic": "jpeg"}


def _frames(im: Image.Image) -> int:
    return int(getattr(im, "n_frames", 1) or 1)


def _displayed(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    return (size[1], size[0]) if orientation >= 5 else size


class PillowImageCodec:
    def __init__(
        self,
        pool: WorkerPool,
        sizes: DerivativeSizes | None = None,
        metrics: UploadMetrics | None = None,
    ) -> None:
        self._pool = pool
        self._sizes = sizes or DerivativeSizes()
        self._metrics = metrics

    def _stage(self, stage: UploadStage) -> AbstractContextManager[None]:
        return self._metrics.stage(stage) if self._metrics else nullcontext()

    async def probe(self, path: Path, kind: str) -> ImageFacts:
        return await self._pool.run(self.probe_sync, path, kind)

    async def process(
        self, path: Path, kind: str, *, target_width: int | None, workdir: Path
    ) -> ProcessedMedia:
        return await self._pool.run(self.process_sync, path, kind, target_width, workdir)

    # --- the work itself, run in the pool -----------------------------------------------

    def probe_sync(self, path: Path, kind: str) -> ImageFacts:
        try:
            with Image.open(path) as im:
                width, height = _displayed(im.size, metadata.orientation(im, kind))
                frames = _frames(im)
        except MemoryError:
            raise
        except Exception as exc:  # any decoder failure on hostile bytes is "unreadable"
            raise SourceInfoUnreadable(detail=str(exc)[:200]) from exc
        if width <= 0 or height <= 0:
            raise SourceInfoUnreadable(detail="no dimensions")
        return ImageFacts(width, height, frames, frames > 1)

    def process_sync(
        self, path: Path, kind: str, target_width: int | None, workdir: Path
    ) -> ProcessedMedia:
        try:
            with Image.open(path) as im:
                return self._process(im, path, kind, target_width, workdir)
        except (UnidentifiedImageError, SyntaxError) as exc:
            raise SourceInfoUnreadable(detail=str(exc)[:200]) from exc
        except (DarkroomError, MemoryError):
            raise
        except Exception as exc:  # corrupt data deep in a decoder: the image is invalid
            raise InvalidImage(detail=str(exc)[:200]) from exc

    def _process(
        self,
        im: ImageFile.ImageFile,
        path: Path,
        kind: str,
        target_width: int | None,
        workdir: Path,
    ) -> ProcessedMedia:
        sizes = self._sizes
        orientation = metadata.orientation(im, kind)
        embedded = metadata.embedded(im)
        frames = _frames(im)
        animated = frames > 1
        width, height = _displayed(im.size, orientation)
        stored_kind = _CONVERTED.get(kind, kind)
        stored = workdir / f"stored.{stored_kind}"
        resize_to = None
        if target_width and not animated and target_width != width:
            if target_width > width:
                raise WidthUpscale()
            resize_to = (target_width, max(1, round(target_width / (width / height))))

        with self._stage("decode"):
            if animated:
                pixels.load_every_frame(im)
            needs_full = resize_to is not None or kind in _CONVERTED
            base = pixels.decode(im, kind, orientation, (width, height), sizes, full=needs_full)

        source_md5: str | None = None
        stored_md5: str | None = None
        # "strip": the stored original written, stripped losslessly or re-encoded.
        with self._stage("strip"):
            if kind in _CONVERTED:
                pixels.save(base, stored, stored_kind, 92)
            else:
                stored_md5 = self._strip_or_reencode(path, kind, orientation, stored)
            if resize_to is not None:
                source_md5 = stored_md5 or md5_of(stored)
                stored_md5 = None
                base = base.resize(resize_to, Image.Resampling.LANCZOS)
                pixels.save(base, stored, stored_kind, sizes.jpeg_quality)
                width, height = resize_to
        with self._stage("variants"):
            thumb, medium, medium_w, medium_h = self._variants(
                base, (width, height), stored_kind, animated, workdir
            )
        return ProcessedMedia(
            path=stored,
            extension=stored_kind,
            mime=MIME_OF_EXTENSION[stored_kind],
            size=stored.stat().st_size,
            width=width,
            height=height,
            md5=stored_md5 or md5_of(stored),
            source_md5=source_md5,
            thumb=thumb,
            thumb_size=thumb.stat().st_size,
            thumb_extension=stored_kind,
            medium=medium,
            medium_size=medium.stat().st_size if medium else 0,
            medium_width=medium_w,
            medium_height=medium_h,
            is_animated=animated,
            is_360=embedded.is_360,
            title=embedded.title,
            description=embedded.description,
            taken_at=embedded.taken_at,
        )

    def _variants(
        self,
        base: Image.Image,
        size: tuple[int, int],
        stored_kind: str,
        animated: bool,
        workdir: Path,
    ) -> tuple[Path, Path | None, int, int]:
        """The thumb, and the medium when the stored image (``size``; ``base`` may be
        decoded smaller) is wider than it, or animated."""
        sizes = self._sizes
        width, height = size
        thumb = workdir / f"thumb.{stored_kind}"
        fitted = ImageOps.fit(
            base, (sizes.thumb_width, sizes.thumb_height), Image.Resampling.LANCZOS
        )
        pixels.save(fitted, thumb, stored_kind, sizes.jpeg_quality)

        medium: Path | None = None
        medium_w = medium_h = 0
        if width > sizes.medium_size or animated:
            medium_w = min(sizes.medium_size, width) if animated else sizes.medium_size
            medium_h = max(1, round(medium_w / (width / height)))
            medium = workdir / f"medium.{stored_kind}"
            resized = base.resize((medium_w, medium_h), Image.Resampling.LANCZOS, reducing_gap=3)
            pixels.save(resized, medium, stored_kind, sizes.jpeg_quality)
        return thumb, medium, medium_w, medium_h

    def _strip_or_reencode(
        self, path: Path, kind: str, orientation: int, stored: Path
    ) -> str | None:
        """Write the stored original; returns its md5 when it was hashed on the way."""
        try:
            with open(path, "rb") as src, open(stored, "wb") as dst:
                hashing = HashingWriter(dst)
                # The stripper only ever calls write(); a cast beats widening its API.
                strip_metadata(kind, src, cast(BinaryIO, hashing), orientation=orientation)
                return hashing.hexdigest()
        except InvalidImage:
            if kind != "jpeg":
                raise
            # The container around the pixels is damaged (a broken metadata segment)
            # but the pixels decode: keep the photo, lose the metadata by re-encoding.
            with Image.open(path) as im:
                pixels.save(pixels.upright(im, orientation), stored, kind, 95)
            return None
