"""Decoding, turning upright and encoding with Pillow: the part of the work that costs CPU.

A JPEG is decoded at the smallest DCT scale that still covers the medium and the
thumb (``draft``), which is most of the speed.
"""

from __future__ import annotations

import math
from pathlib import Path

from PIL import Image, ImageSequence

from server.domain.derivatives import DerivativeSizes

_TRANSPOSE = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}


def _rgb_like(im: Image.Image) -> Image.Image:
    """A mode that resizes with real filters (P and 1 only do nearest neighbour)."""
    if im.mode in ("RGB", "RGBA", "L", "LA"):
        return im
    if im.mode == "CMYK" or im.mode == "YCbCr":
        return im.convert("RGB")
    has_alpha = "transparency" in im.info or im.mode.endswith("A") or im.mode == "PA"
    return im.convert("RGBA" if has_alpha else "RGB")


def upright(im: Image.Image, orientation: int) -> Image.Image:
    """Frame 0 decoded, in a mode that resizes well, turned as EXIF ``orientation`` says."""
    im.load()
    decoded = _rgb_like(im)
    if orientation in _TRANSPOSE:
        decoded = decoded.transpose(_TRANSPOSE[orientation])
    return decoded


def decode(
    im: Image.Image,
    kind: str,
    orientation: int,
    displayed: tuple[int, int],
    sizes: DerivativeSizes,
    *,
    full: bool,
) -> Image.Image:
    """Decode frame 0, upright, at the smallest size the derivatives need."""
    if kind == "jpeg" and not full:
        width, height = displayed
        scale = max(
            sizes.thumb_width / width,
            sizes.thumb_height / height,
            sizes.medium_size / width if width > sizes.medium_size else 0.0,
        )
        raw_w, raw_h = im.size
        im.draft("RGB", (math.ceil(raw_w * scale), math.ceil(raw_h * scale)))
    return upright(im, orientation)


def load_every_frame(im: Image.Image) -> None:
    # Frame 0 alone would let a file truncated in a later frame through.
    for frame in ImageSequence.Iterator(im):
        frame.load()
    im.seek(0)


def save(im: Image.Image, path: Path, fmt: str, quality: int) -> None:
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
