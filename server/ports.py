"""What the services need from the outside world, as small protocols.

Adapters implement these; services import only this module and ``server.domain``.
Every method that may block is async: adapters push blocking work off the loop.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Protocol

from server.domain.media import MediaRecord


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    is_admin: bool
    is_disabled: bool
    has_key: bool
    key_id: int | None
    date_gmt: datetime


@dataclass(frozen=True)
class AlbumInfo:
    id: int
    user_id: int
    owner: str
    name: str
    description: str


@dataclass(frozen=True)
class CategoryInfo:
    id: int
    name: str
    url_key: str


@dataclass(frozen=True)
class MediaPage:
    items: Sequence[MediaRecord]
    next_before_id: int | None


class MediaRepo(Protocol):
    async def add(self, record: MediaRecord) -> MediaRecord: ...
    async def get(self, media_id: int) -> MediaRecord | None: ...
    async def page(
        self, *, limit: int, before_id: int | None, user_id: int | None, album_id: int | None
    ) -> MediaPage: ...
    async def delete(self, media_id: int) -> bool: ...
    async def expired(self, now: datetime, limit: int) -> Sequence[MediaRecord]: ...
    async def counts_since(
        self,
        moments: Sequence[datetime],
        *,
        user_id: int | None = None,
        guest: bool = False,
        ip: str | None = None,
    ) -> list[int]:
        """For each moment, the uploads since then by one user, by the guest key, or
        from one address: one query for every window."""
        ...


class AccountRepo(Protocol):
    async def create_user(self, username: str, is_admin: bool, now: datetime) -> UserInfo: ...
    async def user_by_name(self, username: str) -> UserInfo | None: ...
    async def user_by_id(self, user_id: int) -> UserInfo | None: ...
    async def users(self) -> Sequence[UserInfo]: ...
    async def set_disabled(self, user_id: int, disabled: bool) -> None: ...
    async def user_for_key(self, key_id: int) -> tuple[UserInfo, str] | None:
        """The key's user and the stored key hash."""
        ...

    async def put_key(
        self, user_id: int, make_key: Callable[[int], tuple[str, str]], now: datetime
    ) -> str:
        """Create or replace the user's key row in one transaction.

        ``make_key(row_id)`` returns (plaintext key, hash to store); the plaintext is
        returned and never stored.
        """
        ...

    async def delete_key(self, user_id: int) -> bool: ...
    async def create_album(
        self, user_id: int, name: str, description: str, now: datetime
    ) -> AlbumInfo: ...
    async def album(self, album_id: int) -> AlbumInfo | None: ...
    async def albums(self, user_id: int | None) -> Sequence[AlbumInfo]: ...
    async def create_category(self, name: str, url_key: str) -> CategoryInfo: ...
    async def category(self, category_id: int) -> CategoryInfo | None: ...
    async def categories(self) -> Sequence[CategoryInfo]: ...


class VariableStore(Protocol):
    async def get(self, name: str) -> str | None: ...
    async def set(self, name: str, value: str) -> None: ...
    async def delete(self, name: str) -> None: ...
    async def get_or_create(self, name: str, default: str) -> str:
        """Read a variable, storing ``default`` first if it is unset (race-safe)."""
        ...


class BlobExists(Exception):
    """The blob key is taken; the caller picks another name."""


class BlobStore(Protocol):
    async def put(self, key: str, source: Path) -> None:
        """Store ``source`` under ``key`` atomically; never replaces: raises BlobExists.

        ``source`` stays where it is; its owner removes it."""
        ...

    async def exists(self, key: str) -> bool: ...
    async def delete(self, key: str) -> None:
        """Remove a blob; a missing blob is not an error."""
        ...

    def scratch_dir(self) -> Path:
        """A directory on the same filesystem, for spooling files that will be put."""
        ...


@dataclass(frozen=True)
class ImageFacts:
    """What an image's header says, read without decoding pixels."""

    width: int  # as displayed (EXIF orientation applied)
    height: int
    frames: int
    is_animated: bool


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


class ImageCodec(Protocol):
    async def probe(self, path: Path, kind: str) -> ImageFacts: ...
    async def process(
        self, path: Path, kind: str, *, target_width: int | None, workdir: Path
    ) -> ProcessedMedia: ...


@dataclass(frozen=True)
class FetchedSource:
    filename: str  # basename of the final URL, "" when it has none
    size: int


class SourceFetcher(Protocol):
    async def fetch(self, url: str, dest: BinaryIO, max_bytes: int) -> FetchedSource:
        """Download ``url`` into ``dest``, refusing unsafe targets and bodies over the cap."""
        ...


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware UTC now."""
        ...


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


class VideoCodec(Protocol):
    async def probe(self, path: Path, kind: str) -> VideoFacts: ...
    async def process(self, path: Path, kind: str, *, workdir: Path) -> ProcessedMedia: ...
