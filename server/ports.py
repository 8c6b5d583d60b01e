"""What the services need from the outside world, as small protocols.

Adapters implement these; services import only this module and ``server.domain``.
Each protocol is one role, so a service names only what it uses and a test fakes
only that; one adapter class may play several roles. Every method that may block
is async: adapters push blocking work off the loop.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import BinaryIO, Literal, Protocol

from server.domain.accounts import AlbumInfo, CategoryInfo, UserInfo
from server.domain.formats import FormatKind
from server.domain.media import MediaPage, MediaRecord
from server.domain.processing import ImageFacts, ProcessedMedia, VideoFacts
from server.domain.storage import LeftoverScratch, StoredBlob
from server.domain.upload import FetchedSource

# --- media rows -----------------------------------------------------------------------------


class MediaRepo(Protocol):
    async def add(self, record: MediaRecord) -> MediaRecord: ...
    async def get(self, media_id: int) -> MediaRecord | None: ...
    async def page(
        self, *, limit: int, before_id: int | None, user_id: int | None, album_id: int | None
    ) -> MediaPage: ...
    async def delete(self, media_id: int) -> bool: ...
    async def owned_keys(self, keys: Collection[str]) -> set[str]:
        """The blob keys among ``keys`` that name a file of some row (as its chain says)."""
        ...

    async def set_chain(self, media_id: int, chain: int) -> bool:
        """Change which variants a row says it has; False when there is no such row."""
        ...


class UploadCounts(Protocol):
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


class ExpiredMedia(Protocol):
    async def claim_expired(self, now: datetime, limit: int) -> Sequence[MediaRecord]:
        """Delete up to ``limit`` rows expired by ``now``, soonest first, and return them.

        Each row goes to exactly one claimer however many replicas race, and a claimer
        skips the rows another is taking instead of waiting: whoever gets a record back
        is the one process that may delete its files.
        """
        ...


# --- accounts -------------------------------------------------------------------------------


class UserRepo(Protocol):
    async def create_user(self, username: str, is_admin: bool, now: datetime) -> UserInfo: ...
    async def user_by_name(self, username: str) -> UserInfo | None: ...
    async def user_by_id(self, user_id: int) -> UserInfo | None: ...
    async def users(self) -> Sequence[UserInfo]: ...
    async def set_disabled(self, user_id: int, disabled: bool) -> None: ...


class KeyRepo(Protocol):
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


class AlbumRepo(Protocol):
    async def create_album(
        self, user_id: int, name: str, description: str, now: datetime
    ) -> AlbumInfo: ...
    async def album(self, album_id: int) -> AlbumInfo | None: ...
    async def albums(self, user_id: int | None) -> Sequence[AlbumInfo]: ...


class CategoryRepo(Protocol):
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


# --- files ----------------------------------------------------------------------------------


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
        """A directory on the same filesystem, for spooling files that will be put;
        this process's own, so no other process reclaims it while this one lives."""
        ...

    async def journal(self, workdir: Path, key: str, source: Path) -> None:
        """Note durably in an upload's work dir (under ``scratch_dir``) that ``key`` is
        about to be put from ``source``: call it before each put, so that reclaiming the
        scratch of a process killed mid-upload can find the blobs that no row owns."""
        ...

    async def listing(self, prefix: str) -> list[StoredBlob]:
        """Every blob whose key starts with ``prefix``, with its age; scratch is not a blob."""
        ...


class ScratchSpace(Protocol):
    """The scratch of every process sharing the store: each owns its own while it lives."""

    async def leftovers(self) -> Sequence[LeftoverScratch]:
        """Scratch whose owner is gone, whatever its age. Each stays claimed by this
        process (no other one reclaims it meanwhile) until discarded or released."""
        ...

    async def discard(self, leftover: LeftoverScratch) -> None:
        """Remove a claimed leftover and release it."""
        ...

    async def release(self, leftover: LeftoverScratch) -> None:
        """Give a claimed leftover up untouched; releasing twice is no error."""
        ...

    async def live_owners(self) -> int:
        """How many processes (this one included) own scratch now."""
        ...


class SourceFetcher(Protocol):
    async def fetch(self, url: str, dest: BinaryIO, max_bytes: int) -> FetchedSource:
        """Download ``url`` into ``dest``, refusing unsafe targets and bodies over the cap."""
        ...


# --- codecs ---------------------------------------------------------------------------------


class ImageCodec(Protocol):
    async def probe(self, path: Path, kind: FormatKind) -> ImageFacts: ...
    async def process(
        self, path: Path, kind: FormatKind, *, target_width: int | None, workdir: Path
    ) -> ProcessedMedia: ...


class VideoCodec(Protocol):
    async def probe(self, path: Path, kind: FormatKind) -> VideoFacts: ...
    async def process(self, path: Path, kind: FormatKind, *, workdir: Path) -> ProcessedMedia: ...


# --- time -----------------------------------------------------------------------------------


class Clock(Protocol):
    def now(self) -> datetime:
        """Aware UTC now."""
        ...


# --- what operators watch -------------------------------------------------------------------

# The stages of an upload, in order; each is timed on its own (docs/operations.md).
UploadStage = Literal["spool", "sniff", "probe", "decode", "strip", "variants", "store", "record"]


class UploadMetrics(Protocol):
    """Counters and timings of the upload pipeline; server.adapters.metrics exports them.

    Calls are cheap and never fail, and may come from worker threads (the codecs)."""

    def stage(self, stage: UploadStage) -> AbstractContextManager[None]:
        """Time the block it wraps as one ``stage``, whether it succeeds or fails."""
        ...

    def upload_finished(self, outcome: str, reason: str, kind: str, media_format: str) -> None:
        """One upload ended: ``outcome`` is its Chevereto code ("200" when stored), and
        ``reason`` the error's stable reason ("OK"): Chevereto gives one code to many."""
        ...

    def bytes_received(self, count: int) -> None: ...
    def bytes_stored(self, count: int) -> None: ...
    def flood_refused(self, window: str) -> None: ...
    def expired_deleted(self, count: int) -> None: ...
