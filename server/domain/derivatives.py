"""How big the files made from an upload are: the thumb's box, the medium's width, JPEG quality."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DerivativeSizes:
    thumb_width: int = 320
    thumb_height: int = 320
    medium_size: int = 500
    jpeg_quality: int = 90
