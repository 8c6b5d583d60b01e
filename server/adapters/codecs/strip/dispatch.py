"""``strip_metadata``: the one entry point, which hands each format to its container's stripper."""

from __future__ import annotations

from collections.abc import Callable
from typing import IO, BinaryIO

from server.adapters.codecs.strip.gif import strip_gif
from server.adapters.codecs.strip.isobmff import strip_isobmff
from server.adapters.codecs.strip.jpeg import strip_jpeg
from server.adapters.codecs.strip.png import strip_png
from server.adapters.codecs.strip.webp import strip_webp

_HANDLERS: dict[str, Callable[[IO[bytes], IO[bytes], int], None]] = {
    "jpeg": strip_jpeg,
    "png": strip_png,
    "gif": strip_gif,
    "webp": strip_webp,
    "avif": strip_isobmff,
}
SUPPORTED_FORMATS = frozenset(_HANDLERS)


def strip_metadata(fmt: str, src: BinaryIO, dst: BinaryIO, *, orientation: int = 1) -> None:
    """Copy the ``fmt`` image in ``src`` to ``dst`` without its metadata.

    ``orientation`` (EXIF 1..8) is written back as the only tag where the format
    has one.  Raises ``InvalidImage`` when the container structure is broken;
    ``dst`` then holds a partial copy that the caller must discard.
    """
    if not 1 <= orientation <= 8:
        raise ValueError(f"EXIF orientation must be 1..8, not {orientation}")
    handler = _HANDLERS.get(fmt)
    if handler is None:
        raise ValueError(f"unsupported format {fmt!r}")
    handler(src, dst, orientation)
