"""The upload pipeline: source → spool → sniff → limits → process → store → record.

Everything an upload writes goes through an ``IngestSession``, so a failed upload
leaves nothing behind.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC

from server.domain import errors
from server.domain.caller import Caller
from server.domain.formats import Sniffed
from server.domain.ids import MAX_ROW_ID, IdCodec, row_id
from server.domain.media import (
    CHAIN_FRAME,
    CHAIN_IMAGE,
    CHAIN_MEDIUM,
    CHAIN_THUMB,
    MediaRecord,
    MediaType,
)
from server.domain.text import parse_tags, storable, title_from_filename, truncate_title
from server.domain.upload import FileSource, UploadOptions, UploadSource
from server.ports import (
    AlbumRepo,
    BlobStore,
    CategoryRepo,
    Clock,
    MediaRepo,
    SourceFetcher,
    UploadMetrics,
)
from server.services.credentials import Credentials
from server.services.expiry_policy import expiration_for
from server.services.flood import FloodGuard
from server.services.image_view import ImageView, MediaPresenter
from server.services.ingest_session import IngestSession
from server.services.media_processing import MediaProcessor
from server.services.null_metrics import NULL_METRICS
from server.services.settings import SettingsService, UploadSettings
from server.services.sources import accepted_source
from server.services.spool import Spool, spool
from server.services.storing import file_names, store_files


@dataclass(frozen=True)
class UploadResult:
    record: MediaRecord
    delete_token: str
    image: ImageView


@dataclass
class _Seen:
    """What an upload turned out to be, as far as it got: the labels of its outcome."""

    kind: str = "unknown"
    media_format: str = "unknown"

    def sniffed(self, sniffed: Sniffed) -> None:
        self.kind = "video" if sniffed.is_video else "image"
        self.media_format = sniffed.kind


class IngestService:
    def __init__(
        self,
        *,
        media: MediaRepo,
        albums: AlbumRepo,
        categories: CategoryRepo,
        blobs: BlobStore,
        processor: MediaProcessor,
        fetcher: SourceFetcher,
        flood: FloodGuard,
        settings: SettingsService,
        secrets: Credentials,
        ids: IdCodec,
        presenter: MediaPresenter,
        clock: Clock,
        metrics: UploadMetrics = NULL_METRICS,
    ) -> None:
        self._metrics = metrics
        self._media = media
        self._albums = albums
        self._categories = categories
        self._blobs = blobs
        self._processor = processor
        self._fetcher = fetcher
        self._flood = flood
        self._settings = settings
        self._secrets = secrets
        self._ids = ids
        self._presenter = presenter
        self._clock = clock

    async def upload(
        self,
        caller: Caller,
        source: UploadSource | None,
        options: UploadOptions,
        *,
        client_ip: str = "",
    ) -> UploadResult:
        seen = _Seen()
        try:
            result = await self._upload(caller, source, options, client_ip, seen)
        except errors.DarkroomError as error:
            self._metrics.upload_finished(
                str(error.code), error.reason, seen.kind, seen.media_format
            )
            raise
        except asyncio.CancelledError:  # the caller went away
            self._metrics.upload_finished("cancelled", "CANCELLED", seen.kind, seen.media_format)
            raise
        except Exception:
            self._metrics.upload_finished("500", "INTERNAL", seen.kind, seen.media_format)
            raise
        self._metrics.upload_finished("200", "OK", seen.kind, seen.media_format)
        return result

    async def _upload(
        self,
        caller: Caller,
        source: UploadSource | None,
        options: UploadOptions,
        client_ip: str,
        seen: _Seen,
    ) -> UploadResult:
        settings = await self._settings.current()
        if not self.may_upload(caller, settings):
            raise errors.RequestDenied()
        await self._flood.check(caller, client_ip, settings, self._clock.now())
        accepted = accepted_source(source, options, settings)

        max_bytes = settings.max_bytes(caller.is_guest)
        async with IngestSession(self._blobs) as session:
            with self._metrics.stage("spool"):
                spooled = await spool(accepted, options, session.workdir, max_bytes, self._fetcher)
            self._metrics.bytes_received(spooled.size)
            if isinstance(accepted, FileSource):
                options = options.merged_with(accepted.late_options())
                spooled.filename = spooled.filename or options.filename
            record, token = await self._ingest(
                spooled, caller, options, settings, session, client_ip, seen
            )
        self._metrics.bytes_stored(
            record.size + record.thumb_size + record.medium_size + record.frame_size
        )
        image = self._presenter.image_object(record, now=self._clock.now(), delete_token=token)
        return UploadResult(record, token, image)

    @staticmethod
    def may_upload(caller: Caller, settings: UploadSettings) -> bool:
        """Chevereto's upload_allowed: only the guest key depends on a switch (§11)."""
        return not (caller.is_guest and not settings.guest_uploads)

    async def can_upload(self, caller: Caller) -> bool:
        return self.may_upload(caller, await self._settings.current())

    async def _ingest(
        self,
        spooled: Spool,
        caller: Caller,
        options: UploadOptions,
        settings: UploadSettings,
        session: IngestSession,
        client_ip: str,
        seen: _Seen,
    ) -> tuple[MediaRecord, str]:
        processed = await self._processor.process(
            spooled,
            settings,
            max_bytes=settings.max_bytes(caller.is_guest),
            target_width=options.width if options.width > 0 else None,
            workdir=session.workdir,
            on_sniffed=seen.sniffed,
        )
        now = self._clock.now()
        date_gmt = now
        if options.use_file_date and caller.is_admin and processed.taken_at is not None:
            date_gmt = processed.taken_at.replace(tzinfo=UTC)
        folder = self._presenter.local_date(date_gmt).strftime("%Y/%m/%d")
        names = file_names(spooled.filename, processed)
        with self._metrics.stage("store"):
            name = await store_files(session, processed, folder, names)
        token, token_hash = self._secrets.new_delete_token()
        record = MediaRecord(
            name=name,
            extension=names.extension,
            size=processed.size,
            width=processed.width,
            height=processed.height,
            date_gmt=date_gmt,
            folder=folder,
            title=truncate_title(
                storable(options.title) or processed.title or title_from_filename(names.client_name)
            ),
            description=storable(options.description) or processed.description or None,
            nsfw=options.nsfw,
            md5=processed.md5,
            source_md5=processed.source_md5,
            original_filename=names.client_name,
            type=MediaType.VIDEO if processed.is_video else MediaType.IMAGE,
            chain=CHAIN_IMAGE
            | CHAIN_THUMB
            | (CHAIN_MEDIUM if processed.medium else 0)
            | (CHAIN_FRAME if processed.frame else 0),
            thumb_size=processed.thumb_size,
            thumb_extension=names.thumb_extension,
            medium_size=processed.medium_size,
            medium_width=processed.medium_width,
            medium_height=processed.medium_height,
            frame_size=processed.frame_size,
            is_animated=processed.is_animated,
            is_360=processed.is_360,
            duration=processed.duration,
            expiration_gmt=expiration_for(caller, options.expiration, settings, now),
            category_id=await self._category(options.category_id),
            album_id=await self._album(caller, options.album_id),
            user_id=caller.user_id,
            tags=[] if caller.is_guest else parse_tags(storable(options.tags)),
            delete_token_hash=token_hash,
            uploader_ip=client_ip[:45] or None,
        )
        with self._metrics.stage("record"):
            return await session.record(self._media.add(record)), token

    async def _category(self, category_id: int) -> int | None:
        if not 0 < category_id <= MAX_ROW_ID:
            return None
        # Chevereto stores any number; an unknown one is dropped here instead of
        # breaking the foreign key.
        return category_id if await self._categories.category(category_id) else None

    async def _album(self, caller: Caller, album_id: str) -> int | None:
        if not album_id or caller.user_id is None:
            return None
        album_row = row_id(self._ids, album_id)
        album = await self._albums.album(album_row) if album_row else None
        if album is None or album.user_id != caller.user_id:
            return None  # not the caller's album: dropped silently, as Chevereto does
        return album.id
