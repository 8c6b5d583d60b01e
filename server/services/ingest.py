"""The upload pipeline: source → spool → sniff → limits → process → store → record.

Everything an upload writes goes through an ``IngestSession``, so a failed upload
leaves nothing behind.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import re
import secrets
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from urllib.parse import urlsplit

from server.domain import errors
from server.domain.ids import MAX_ROW_ID, IdCodec, row_id
from server.domain.media import (
    CHAIN_FRAME,
    CHAIN_IMAGE,
    CHAIN_MEDIUM,
    CHAIN_THUMB,
    Caller,
    MediaRecord,
    MediaType,
)
from server.domain.text import (
    mixed_name,
    parse_tags,
    size_formatted,
    stored_name_base,
    title_from_filename,
    truncate_title,
)
from server.domain.upload import (
    Base64Source,
    FileSource,
    TextSource,
    UploadOptions,
    UploadSource,
    UrlSource,
)
from server.ports import (
    AccountRepo,
    BlobExists,
    BlobStore,
    Clock,
    ImageCodec,
    MediaRepo,
    ProcessedMedia,
    SourceFetcher,
    VideoCodec,
)
from server.services.expiry_policy import expiration_for
from server.services.flood import FloodGuard
from server.services.image_view import ImageView, MediaPresenter
from server.services.ingest_session import IngestSession
from server.services.preflight import MediaLimits
from server.services.secrets import Secrets
from server.services.settings import SettingsService, UploadSettings
from server.services.sniffing import Sniffer

_IS_URL_SCHEMES = {
    "http", "https", "ftp", "ftps", "mailto", "news", "irc", "gopher", "nntp", "feed",
    "telnet", "mms", "rtsp", "svn", "tel", "fax", "xmpp",
}  # fmt: skip
_WHITESPACE = re.compile(r"\s+")
_B64_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_NAME_ATTEMPTS = 8


@dataclass
class Spool:
    path: Path
    size: int
    filename: str


def is_chevereto_url(text: str) -> bool:
    """``is_url``: ASCII only, a known scheme and a host."""
    if not text.isascii():
        return False
    try:
        parts = urlsplit(text)
    except ValueError:
        return False
    return parts.scheme.lower() in _IS_URL_SCHEMES and bool(parts.netloc)


def decode_base64_strict(data: str) -> bytes:
    """Chevereto's check: whitespace removed, then it must round-trip exactly."""
    compact = _WHITESPACE.sub("", data)
    if not compact:
        raise errors.EmptySource()
    try:
        decoded = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise errors.InvalidBase64() from exc
    if not _is_canonical(compact, len(decoded)):
        raise errors.InvalidBase64()
    if not decoded:
        raise errors.EmptySource()
    return decoded


def _is_canonical(compact: str, size: int) -> bool:
    """Whether ``compact`` is exactly what b64encode gives for ``size`` bytes.

    The strict decode has already refused other characters and misplaced padding,
    so only the length, the padding count and the unused low bits of the last
    sextet before the padding can still differ; re-encoding a payload of many
    megabytes to learn that would cost two more copies of it.
    """
    padding = -size % 3
    if len(compact) != 4 * -(-size // 3) or not compact.endswith("=" * padding):
        return False
    if not padding:
        return True
    unused_bits = 2 * padding
    last = _B64_ALPHABET.find(compact[-padding - 1])
    return last >= 0 and last & ((1 << unused_bits) - 1) == 0


def _clean(text: str) -> str:
    return text.replace("\x00", "")


@dataclass(frozen=True)
class UploadResult:
    record: MediaRecord
    delete_token: str
    image: ImageView


class IngestService:
    def __init__(
        self,
        *,
        media: MediaRepo,
        accounts: AccountRepo,
        blobs: BlobStore,
        codec: ImageCodec,
        fetcher: SourceFetcher,
        settings: SettingsService,
        secrets: Secrets,
        ids: IdCodec,
        presenter: MediaPresenter,
        clock: Clock,
        video: VideoCodec,
        limits: MediaLimits,
    ) -> None:
        self._media = media
        self._accounts = accounts
        self._blobs = blobs
        self._codec = codec
        self._video = video
        self._fetcher = fetcher
        self._settings = settings
        self._secrets = secrets
        self._ids = ids
        self._presenter = presenter
        self._clock = clock
        self._limits = limits
        self._sniffer = Sniffer()
        self._flood = FloodGuard(media)

    async def upload(
        self,
        caller: Caller,
        source: UploadSource | None,
        options: UploadOptions,
        *,
        client_ip: str = "",
    ) -> UploadResult:
        settings = await self._settings.current()
        if not self.may_upload(caller, settings):
            raise errors.RequestDenied()
        await self._flood.check(caller, client_ip, settings, self._clock.now())
        if source is None:
            raise errors.EmptyUploadSource()
        if isinstance(source, TextSource):
            if not source.text:
                raise errors.EmptyUploadSource()
            source = (
                UrlSource(source.text)
                if is_chevereto_url(source.text)
                else Base64Source(source.text)
            )
        if isinstance(source, UrlSource) and not settings.enable_uploads_url:
            raise errors.UrlUploadDisabled()
        if isinstance(source, Base64Source) and options.http_method.upper() not in ("", "POST"):
            raise errors.Base64NotPosted()

        max_bytes = settings.max_bytes(caller.is_guest)
        async with IngestSession(self._blobs) as session:
            spool = await self._spool(source, options, session.workdir, max_bytes)
            if isinstance(source, FileSource):
                options = options.merged_with(source.late_options())
                spool.filename = spool.filename or options.filename
            record, token = await self._ingest(spool, caller, options, settings, session, client_ip)
        image = self._presenter.image_object(record, now=self._clock.now(), delete_token=token)
        return UploadResult(record, token, image)

    @staticmethod
    def may_upload(caller: Caller, settings: UploadSettings) -> bool:
        """Chevereto's upload_allowed: only the guest key depends on a switch (§11)."""
        return not (caller.is_guest and not settings.guest_uploads)

    async def can_upload(self, caller: Caller) -> bool:
        return self.may_upload(caller, await self._settings.current())

    # --- getting the bytes onto local disk ------------------------------------------------

    async def _spool(
        self, source: UploadSource, options: UploadOptions, workdir: Path, max_bytes: int
    ) -> Spool:
        path = workdir / "source"
        too_big = errors.FileTooBig(
            f"File too big - max {size_formatted(max_bytes)}", max_bytes=max_bytes
        )
        if isinstance(source, FileSource):
            size = 0
            # Chunk writes go through a thread: a slow disk must not stall the loop.
            handle = await asyncio.to_thread(open, path, "wb")
            try:
                async for chunk in source.chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise too_big
                    await asyncio.to_thread(handle.write, chunk)
            finally:
                await asyncio.to_thread(handle.close)
            return Spool(path, size, options.filename)
        if isinstance(source, Base64Source):
            decoded = await asyncio.to_thread(decode_base64_strict, source.data)
            if len(decoded) > max_bytes:
                raise too_big
            await asyncio.to_thread(path.write_bytes, decoded)
            # Chevereto names base64 uploads with 12 random hex digits.
            return Spool(path, len(decoded), secrets.token_hex(6))
        assert isinstance(source, UrlSource)
        handle = await asyncio.to_thread(open, path, "wb")
        try:
            fetched = await self._fetcher.fetch(source.url, handle, max_bytes)
        finally:
            await asyncio.to_thread(handle.close)
        return Spool(path, fetched.size, fetched.filename)

    # --- from spooled bytes to a stored, recorded media item -------------------------------

    async def _ingest(
        self,
        spool: Spool,
        caller: Caller,
        options: UploadOptions,
        settings: UploadSettings,
        session: IngestSession,
        client_ip: str,
    ) -> tuple[MediaRecord, str]:
        sniffed = await self._sniffer.check(spool.path, settings)
        if spool.size > settings.max_bytes(caller.is_guest):
            raise errors.FileTooBig(
                f"File too big - max {size_formatted(settings.max_bytes(caller.is_guest))}"
            )
        if sniffed.is_video:
            video_facts = await self._video.probe(spool.path, sniffed.kind)
            self._limits.check_video(video_facts)
            # `width` is ignored for video, as in Chevereto.
            processed = await self._video.process(spool.path, sniffed.kind, workdir=session.workdir)
        else:
            facts = await self._codec.probe(spool.path, sniffed.kind)
            self._limits.check_image(facts)
            target_width = options.width if options.width > 0 else None
            processed = await self._codec.process(
                spool.path, sniffed.kind, target_width=target_width, workdir=session.workdir
            )

        now = self._clock.now()
        date_gmt = now
        if options.use_file_date and caller.is_admin and processed.taken_at is not None:
            date_gmt = processed.taken_at.replace(tzinfo=UTC)
        folder = self._presenter.local_date(date_gmt).strftime("%Y/%m/%d")

        extension = processed.extension
        # NUL is the one character PostgreSQL text cannot hold; 255 is the column's width.
        client_name = _clean(spool.filename)[:255] or f"{secrets.token_hex(6)}.{extension}"
        if "." not in client_name:
            client_name = f"{client_name}.{extension}"
        if extension == "jpeg" and client_name.lower().endswith(".jpg"):
            extension = "jpg"
        # Chevereto: image derivatives share the image's extension; video ones are JPEG.
        thumb_extension = processed.thumb_extension if processed.is_video else extension

        name = await self._store(
            session, processed, folder, client_name, extension, thumb_extension
        )
        token, token_hash = self._secrets.new_delete_token()
        record = MediaRecord(
            name=name,
            extension=extension,
            size=processed.size,
            width=processed.width,
            height=processed.height,
            date_gmt=date_gmt,
            folder=folder,
            title=truncate_title(
                _clean(options.title) or processed.title or title_from_filename(client_name)
            ),
            description=_clean(options.description) or processed.description or None,
            nsfw=options.nsfw,
            md5=processed.md5,
            source_md5=processed.source_md5,
            original_filename=client_name,
            type=MediaType.VIDEO if processed.is_video else MediaType.IMAGE,
            chain=CHAIN_IMAGE
            | CHAIN_THUMB
            | (CHAIN_MEDIUM if processed.medium else 0)
            | (CHAIN_FRAME if processed.frame else 0),
            thumb_size=processed.thumb_size,
            thumb_extension=thumb_extension,
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
            tags=[] if caller.is_guest else parse_tags(_clean(options.tags)),
            delete_token_hash=token_hash,
            uploader_ip=client_ip[:45] or None,
        )
        return await session.record(self._media.add(record)), token

    async def _store(
        self,
        session: IngestSession,
        processed: ProcessedMedia,
        folder: str,
        client_name: str,
        extension: str,
        thumb_extension: str,
    ) -> str:
        """Store every file under the first free name; returns the name used."""
        base = stored_name_base(client_name, extension=extension) or secrets.token_hex(16)
        files = [(processed.path, "", extension), (processed.thumb, ".th", thumb_extension)]
        if processed.medium is not None:
            files.append((processed.medium, ".md", thumb_extension))
        if processed.frame is not None:
            files.append((processed.frame, ".fr", "jpeg"))
        for attempt in range(_NAME_ATTEMPTS):
            # Chevereto's `original` naming falls back to `mixed` (name + 16 hex) on a clash.
            name = base if attempt == 0 else mixed_name(base, secrets.token_hex(8))
            stored_now: list[str] = []
            try:
                for path, infix, ext in files:
                    key = f"images/{folder}/{name}{infix}.{ext}"
                    await self._blobs.put(key, path)
                    stored_now.append(key)
                    session.stored.append(key)
            except BlobExists:
                for key in stored_now:
                    await self._blobs.delete(key)
                    session.stored.remove(key)
                continue
            return name
        raise errors.StorageFailure("Can't find a free file name")

    async def _category(self, category_id: int) -> int | None:
        if not 0 < category_id <= MAX_ROW_ID:
            return None
        # Chevereto stores any number; an unknown one is dropped here instead of
        # breaking the foreign key.
        return category_id if await self._accounts.category(category_id) else None

    async def _album(self, caller: Caller, album_id: str) -> int | None:
        if not album_id or caller.user_id is None:
            return None
        album_row = row_id(self._ids, album_id)
        album = await self._accounts.album(album_row) if album_row else None
        if album is None or album.user_id != caller.user_id:
            return None  # not the caller's album: dropped silently, as Chevereto does
        return album.id
