"""Still and animated images with Pillow (plus pillow-heif for HEIC/HEIF).

One upload is decoded once for its derivatives: JPEG is decoded at the smallest DCT
scale that still covers the medium and the thumb (``draft``), which is most of the
speed. The stored original is not re-encoded unless it must be (BMP → PNG,
HEIC → JPEG, a `width` resize): metadata is stripped losslessly instead.
"""

from __future__ import annotations

import hashlib
import io
import math
import xml.etree.ElementTree as ET
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, cast

import pillow_heif
from PIL import Image, ImageFile, ImageOps, ImageSequence, IptcImagePlugin, UnidentifiedImageError
from typing_extensions import Buffer

from darkroom.media_types import MIME_OF_EXTENSION
from server.adapters.codecs.strip import strip_metadata
from server.adapters.files import md5_of
from server.adapters.workers import WorkerPool
from server.domain.errors import (
    DarkroomError,
    InvalidImage,
    SourceInfoUnreadable,
    WidthUpscale,
)
from server.domain.text import clean_exif_text
from server.ports import ImageFacts, ProcessedMedia

pillow_heif.register_heif_opener()
# Darkroom checks pixel limits itself, on the header, before decoding (see preflight);
# Pillow's own check would only warn below 2x its default.
Image.MAX_IMAGE_PIXELS = None

_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
# Formats whose stored file is re-encoded on ingest, and what they become.
_CONVERTED = {"bmp": "png", "heic": "jpeg"}
_XMP_NS = {
    "dc": "http://purl.org/dc/elements/1.1/",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "GPano": "http://ns.google.com/photos/1.0/panorama/",
}


@dataclass(frozen=True)
class DerivativeSizes:
    thumb_width: int = 320
    thumb_height: int = 320
    medium_size: int = 500
    jpeg_quality: int = 90


class _HashingWriter(io.RawIOBase):
    """Hashes what passes through, so the stored file need not be read back for its md5."""

    def __init__(self, target: BinaryIO) -> None:
        self._target = target
        self._digest = hashlib.md5(usedforsecurity=False)

    def writable(self) -> bool:
        return True

    def write(self, data: Buffer) -> int:
        self._digest.update(data)
        return self._target.write(data)

    def hexdigest(self) -> str:
        return self._digest.hexdigest()


def _exif(im: Image.Image) -> Image.Exif:
    """The EXIF block the header carried; never decodes pixels.

    ``Image.getexif()`` is not safe here: for PNG it loads the whole image to look
    for an eXIf chunk after the pixel data, which would decode a bomb.
    """
    exif = Image.Exif()
    raw = im.info.get("exif")
    if raw:
        exif.load(raw)
    return exif


def _orientation(im: Image.Image, kind: str) -> int:
    # HEIF and AVIF carry orientation as irot/imir, which their decoders apply.
    if kind in ("heic", "avif"):
        return 1
    try:
        value = int(_exif(im).get(0x0112, 1))
    except Exception:
        return 1
    return value if value in range(1, 9) else 1


def _frames(im: Image.Image) -> int:
    return int(getattr(im, "n_frames", 1) or 1)


def _displayed(size: tuple[int, int], orientation: int) -> tuple[int, int]:
    return (size[1], size[0]) if orientation >= 5 else size


@dataclass
class _Embedded:
    title: str | None = None
    description: str | None = None
    taken_at: datetime | None = None
    is_360: bool = False


def _text(value: object) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", errors="replace")
    if not isinstance(value, str):
        return None
    cleaned = clean_exif_text(value).strip()
    return cleaned or None


def _exif_date(value: object) -> datetime | None:
    text = _text(value)
    if text is None:
        return None
    try:
        return datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None


def _xmp_facts(im: Image.Image, embedded: _Embedded) -> None:
    packet = im.info.get("xmp")
    if not packet:
        return
    root = ET.fromstring(packet.strip(b"\x00 \r\n") if isinstance(packet, bytes) else packet)
    title = root.find(".//dc:title//rdf:li", _XMP_NS)
    if embedded.title is None and title is not None:
        embedded.title = _text(title.text)
    projection_attr = f"{{{_XMP_NS['GPano']}}}ProjectionType"
    for element in root.iter():
        value = element.get(projection_attr) or (
            element.text if element.tag == projection_attr else None
        )
        if value and value.strip().lower() == "equirectangular":
            embedded.is_360 = True


def _embedded(im: ImageFile.ImageFile) -> _Embedded:
    """Title, description and date from the file's own metadata; damage is ignored."""
    embedded = _Embedded()
    with suppress(Exception):
        exif = _exif(im)
        embedded.description = _text(exif.get(0x010E))
        sub = exif.get_ifd(0x8769)
        embedded.taken_at = _exif_date(sub.get(0x9003)) or _exif_date(exif.get(0x0132))
    with suppress(Exception):
        iptc = IptcImagePlugin.getiptcinfo(im) or {}
        embedded.title = _text(iptc.get((2, 5)))
    with suppress(Exception):
        _xmp_facts(im, embedded)
    return embedded


def _rgb_like(im: Image.Image) -> Image.Image:
    """A mode that resizes with real filters (P and 1 only do nearest neighbour)."""
    if im.mode in ("RGB", "RGBA", "L", "LA"):
        return im
    if im.mode == "CMYK" or im.mode == "YCbCr":
        return im.convert("RGB")
    has_alpha = "transparency" in im.info or im.mode.endswith("A") or im.mode == "PA"
    return im.convert("RGBA" if has_alpha else "RGB")


def _save(im: Image.Image, path: Path, fmt: str, quality: int) -> None:
    if fmt == "jpeg":
        if im.mode not in ("RGB", "L"):
            im = im.convert("RGB")
        im.save(path, "JPEG", quality=quality)
    elif fmt == "png":
        im.save(path, "PNG", compress_level=6)
    elif fmt == "gif":
        im.save(path, "GIF")
    elif fmt == "webp":
        im.save(path, "WEBP", quality=quality)
    elif fmt == "avif":
        im.save(path, "AVIF", quality=quality - 15, speed=8)
    else:  # pragma: no cover - callers only pass the formats above
        raise ValueError(fmt)


class PillowImageCodec:
    def __init__(self, pool: WorkerPool, sizes: DerivativeSizes | None = None) -> None:
        self._pool = pool
        self._sizes = sizes or DerivativeSizes()

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
                width, height = _displayed(im.size, _orientation(im, kind))
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
        orientation = _orientation(im, kind)
        embedded = _embedded(im)
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

        if animated:
            self._validate_frames(im)
        needs_full = resize_to is not None or kind in _CONVERTED
        base = self._decode(im, kind, orientation, width, height, full=needs_full)

        source_md5: str | None = None
        stored_md5: str | None = None
        if kind in _CONVERTED:
            _save(base, stored, stored_kind, 92)
        else:
            stored_md5 = self._strip_or_reencode(path, kind, orientation, stored)
        if resize_to is not None:
            source_md5 = stored_md5 or md5_of(stored)
            stored_md5 = None
            base = base.resize(resize_to, Image.Resampling.LANCZOS)
            _save(base, stored, stored_kind, sizes.jpeg_quality)
            width, height = resize_to

        thumb = workdir / f"thumb.{stored_kind}"
        fitted = ImageOps.fit(
            base, (sizes.thumb_width, sizes.thumb_height), Image.Resampling.LANCZOS
        )
        _save(fitted, thumb, stored_kind, sizes.jpeg_quality)

        medium: Path | None = None
        medium_w = medium_h = 0
        if width > sizes.medium_size or animated:
            medium_w = min(sizes.medium_size, width) if animated else sizes.medium_size
            medium_h = max(1, round(medium_w / (width / height)))
            medium = workdir / f"medium.{stored_kind}"
            resized = base.resize((medium_w, medium_h), Image.Resampling.LANCZOS, reducing_gap=3)
            _save(resized, medium, stored_kind, sizes.jpeg_quality)

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

    def _validate_frames(self, im: Image.Image) -> None:
        # Frame 0 alone would let a file truncated in a later frame through.
        for frame in ImageSequence.Iterator(im):
            frame.load()
        im.seek(0)

    def _decode(
        self,
        im: Image.Image,
        kind: str,
        orientation: int,
        width: int,
        height: int,
        *,
        full: bool,
    ) -> Image.Image:
        """Decode frame 0, upright, at the smallest size the derivatives need."""
        if kind == "jpeg" and not full:
            sizes = self._sizes
            scale = max(
                sizes.thumb_width / width,
                sizes.thumb_height / height,
                sizes.medium_size / width if width > sizes.medium_size else 0.0,
            )
            raw_w, raw_h = im.size
            im.draft("RGB", (math.ceil(raw_w * scale), math.ceil(raw_h * scale)))
        im.load()
        decoded = _rgb_like(im)
        if orientation in _TRANSPOSE:
            decoded = decoded.transpose(_TRANSPOSE[orientation])
        return decoded

    def _strip_or_reencode(
        self, path: Path, kind: str, orientation: int, stored: Path
    ) -> str | None:
        """Write the stored original; returns its md5 when it was hashed on the way."""
        try:
            with open(path, "rb") as src, open(stored, "wb") as dst:
                hashing = _HashingWriter(dst)
                # The stripper only ever calls write(); a cast beats widening its API.
                strip_metadata(kind, src, cast(BinaryIO, hashing), orientation=orientation)
                return hashing.hexdigest()
        except InvalidImage:
            if kind != "jpeg":
                raise
            # The container around the pixels is damaged (a broken metadata segment)
            # but the pixels decode: keep the photo, lose the metadata by re-encoding.
            with Image.open(path) as im:
                im.load()
                upright = _rgb_like(im)
                if orientation in _TRANSPOSE:
                    upright = upright.transpose(_TRANSPOSE[orientation])
                _save(upright, stored, kind, 95)
            return None
