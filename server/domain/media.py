"""A media item as stored: its record, the files (variants) it has, a page of items."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime


class MediaType(enum.Enum):
    IMAGE = "image"
    VIDEO = "video"


# Chevereto's chain bits, MSB to LSB: frame, original, image, medium, thumb.
CHAIN_THUMB = 0b00001
CHAIN_MEDIUM = 0b00010
CHAIN_IMAGE = 0b00100
CHAIN_FRAME = 0b10000


class Variant(enum.Enum):
    """A stored file of a media item and the infix of its file name."""

    IMAGE = ""
    THUMB = ".th"
    MEDIUM = ".md"
    FRAME = ".fr"


@dataclass
class MediaRecord:
    """One media item as stored: the columns behind Chevereto's ``image`` object."""

    name: str
    extension: str
    size: int
    width: int
    height: int
    date_gmt: datetime  # aware, UTC
    folder: str  # "Y/m/d", the date folder under images/
    title: str
    description: str | None
    nsfw: bool
    md5: str
    source_md5: str | None
    original_filename: str
    type: MediaType
    chain: int
    thumb_size: int
    thumb_extension: str
    medium_size: int
    medium_width: int
    medium_height: int
    frame_size: int
    is_animated: bool
    is_360: bool
    duration: int
    expiration_gmt: datetime | None = None
    category_id: int | None = None
    album_id: int | None = None
    user_id: int | None = None
    tags: list[str] = field(default_factory=list)
    delete_token_hash: str = ""
    uploader_ip: str | None = None
    id: int | None = None

    def variant_filename(self, variant: Variant) -> str | None:
        """File name of a variant, or None when the chain says it does not exist."""
        if variant is Variant.IMAGE:
            return f"{self.name}.{self.extension}"
        bit = {Variant.THUMB: CHAIN_THUMB, Variant.MEDIUM: CHAIN_MEDIUM, Variant.FRAME: CHAIN_FRAME}
        if not self.chain & bit[variant]:
            return None
        ext = "jpeg" if variant is Variant.FRAME else self.thumb_extension
        return f"{self.name}{variant.value}.{ext}"

    def blob_keys(self) -> list[str]:
        """Every stored file of this item, relative to the media root."""
        keys = []
        for variant in Variant:
            filename = self.variant_filename(variant)
            if filename is not None:
                keys.append(blob_key(self.folder, filename))
        return keys


def blob_key(folder: str, filename: str) -> str:
    """Where a file of a media item is stored, relative to the media root."""
    return f"images/{folder}/{filename}"


@dataclass(frozen=True)
class MediaPage:
    items: Sequence[MediaRecord]
    next_before_id: int | None
