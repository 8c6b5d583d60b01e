"""What the codecs report to the services: a file's header facts, then the files made from it.

The limits are checked on the facts before any decoding work is spent on the file.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True)
class ImageFacts:
    """What an image's header says, read without decoding pixels."""

    width: int  # as displayed (EXIF orientation applied)
    height: int
    frames: int
    is_animated: bool


@dataclass(frozen=True)
class VideoFacts:
    """What a video's container says, read without decoding a frame."""

    container: str
    codec: str
    width: int  # coded size; rotation is only known once a frame is decoded
    height: int
    duration_s: float
    frames: int  # from the header, or estimated from duration and rate
    has_video: bool


@dataclass(frozen=True)
class ProcessedMedia:
    """Files made from one upload (image or video), all in the work directory, ready to store."""

    path: Path
    extension: str
    mime: str
    size: int
    width: int
    height: int
    md5: str
    source_md5: str | None  # md5 before a `width` resize; None when not resized
    thumb: Path
    thumb_size: int
    thumb_extension: str
    medium: Path | None
    medium_size: int
    medium_width: int
    medium_height: int
    is_animated: bool
    is_360: bool
    title: str | None  # embedded title (IPTC ObjectName, XMP dc:title)
    description: str | None  # EXIF ImageDescription
    taken_at: datetime | None  # EXIF DateTimeOriginal, else DateTime; naive, read as UTC
    is_video: bool = False
    frame: Path | None = None  # video only: the still taken at a quarter of the duration
    frame_size: int = 0
    duration: int = 0  # whole seconds, video only
