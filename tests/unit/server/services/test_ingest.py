"""The upload pipeline in one process: what is refused first, and what a stored upload is."""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

import pytest

from server.domain import errors
from server.domain.caller import Caller, CallerKind
from server.domain.formats import FormatKind
from server.domain.ids import IdCodec
from server.domain.processing import ImageFacts, ProcessedMedia, VideoFacts
from server.domain.upload import (
    FetchedSource,
    FileSource,
    TextSource,
    UploadOptions,
    UploadSource,
)
from server.services.credentials import Credentials
from server.services.flood import FloodGuard
from server.services.image_view import MediaPresenter, PublicUrls
from server.services.ingest import IngestService, UploadResult
from server.services.media_processing import MediaProcessor
from server.services.preflight import MediaLimits
from server.services.settings import SettingsService
from tests.unit.server.fakes import T0, Accounts, Blobs, FixedClock, MediaRows, Variables

IDS = IdCodec("ingest-test", 999)
JPEG = b"\xff\xd8\xff\xe0" + bytes(60)
ANN = Caller(CallerKind.USER, 1, "ann")
GUEST = Caller(CallerKind.GUEST)
FOLDER = T0.strftime("%Y/%m/%d")
LIMITS = MediaLimits(
    max_pixels=10**8,
    max_side=10**4,
    max_frames=1,
    max_animation_pixels=10**8,
    max_video_duration_s=1,
    max_video_side=1,
    max_video_frames=1,
)


class ImageCodec:
    """Makes the stored file and a thumb from whatever came in; fails when told to."""

    def __init__(self) -> None:
        self.failure: Exception | None = None

    async def probe(self, path: Path, kind: FormatKind) -> ImageFacts:
        return ImageFacts(4, 3, 1, False)

    async def process(
        self, path: Path, kind: FormatKind, *, target_width: int | None, workdir: Path
    ) -> ProcessedMedia:
        if self.failure is not None:
            raise self.failure
        size = await asyncio.to_thread(_copy_with_thumb, path, workdir)
        return ProcessedMedia(
            path=workdir / "stored",
            extension=kind,
            mime="image/jpeg",
            size=size,
            width=4,
            height=3,
            md5="0" * 32,
            source_md5=None,
            thumb=workdir / "thumb",
            thumb_size=5,
            thumb_extension=kind,
            medium=None,
            medium_size=0,
            medium_width=0,
            medium_height=0,
            is_animated=False,
            is_360=False,
            title="Embedded title",
            description=None,
            taken_at=None,
        )


def _copy_with_thumb(path: Path, workdir: Path) -> int:
    data = path.read_bytes()
    (workdir / "stored").write_bytes(data)
    (workdir / "thumb").write_bytes(b"thumb")
    return len(data)


class NoVideo:
    async def probe(self, path: Path, kind: FormatKind) -> VideoFacts:
        raise AssertionError("no video in these tests")

    async def process(self, path: Path, kind: FormatKind, *, workdir: Path) -> ProcessedMedia:
        raise AssertionError("no video in these tests")


class Fetcher:
    async def fetch(self, url: str, dest: BinaryIO, max_bytes: int) -> FetchedSource:
        dest.write(JPEG)
        return FetchedSource(url.rsplit("/", 1)[-1], len(JPEG))


class World:
    def __init__(self, root: Path) -> None:
        self.media = MediaRows()
        self.accounts = Accounts()
        self.blobs = Blobs(root)
        self.codec = ImageCodec()
        self.settings = SettingsService(Variables(), max_upload_mb=100)
        self.ingest = IngestService(
            media=self.media,
            albums=self.accounts,
            categories=self.accounts,
            blobs=self.blobs,
            processor=MediaProcessor(image=self.codec, video=NoVideo(), limits=LIMITS),
            fetcher=Fetcher(),
            flood=FloodGuard(self.media),
            settings=self.settings,
            secrets=Credentials(b"i" * 32, IDS),
            ids=IDS,
            presenter=MediaPresenter(PublicUrls("https://media.example/"), IDS),
            clock=FixedClock(),
        )

    def upload(
        self,
        source: UploadSource | None,
        options: UploadOptions | None = None,
        *,
        caller: Caller = ANN,
        ip: str = "",
    ) -> UploadResult:
        options = options or UploadOptions()
        return asyncio.run(self.ingest.upload(caller, source, options, client_ip=ip))

    def scratch_left(self) -> list[Path]:
        return list(self.blobs.scratch_dir().iterdir())


def _file(data: bytes = JPEG, late: UploadOptions | None = None, chunk: int = 16) -> FileSource:
    async def chunks() -> AsyncIterator[bytes]:
        for at in range(0, len(data), chunk):
            yield data[at : at + chunk]

    return FileSource(chunks(), lambda: late)


def test_a_guest_with_guest_uploads_off_is_denied_before_the_source_is_looked_at(
    tmp_path: Path,
) -> None:
    world = World(tmp_path)
    asyncio.run(world.settings.update(guest_uploads=False))
    with pytest.raises(errors.RequestDenied):
        world.upload(None, caller=GUEST)
    assert asyncio.run(world.ingest.can_upload(GUEST)) is False
    assert asyncio.run(world.ingest.can_upload(ANN)) is True


def test_flooding_is_checked_before_the_source(tmp_path: Path) -> None:
    world = World(tmp_path)
    world.media.counts.by_key = 10**6
    with pytest.raises(errors.Flooding):
        world.upload(None)
    world.media.counts.by_key = 0
    with pytest.raises(errors.EmptyUploadSource):
        world.upload(None)


def test_a_file_upload_is_stored_and_recorded_as_the_client_named_it(tmp_path: Path) -> None:
    world = World(tmp_path)
    result = world.upload(
        _file(), UploadOptions(filename="Holiday.JPG", tags="sea, sun"), ip="192.0.2.7"
    )
    record = result.record
    assert (record.name, record.extension, record.original_filename) == (
        "Holiday",
        "jpg",
        "Holiday.JPG",
    )
    assert (record.title, record.user_id, record.tags) == ("Embedded title", 1, ["sea", "sun"])
    assert (record.folder, record.date_gmt, record.uploader_ip) == (FOLDER, T0, "192.0.2.7")
    assert sorted(world.blobs.stored) == [
        f"images/{FOLDER}/Holiday.jpg",
        f"images/{FOLDER}/Holiday.th.jpg",
    ]
    assert world.blobs.stored[f"images/{FOLDER}/Holiday.jpg"] == JPEG
    assert world.media.rows == [record]
    assert result.image.delete_url == (
        f"https://media.example/image/{IDS.encode(1)}/delete/{result.delete_token}"
    )
    assert world.scratch_left() == []


def test_options_sent_after_the_file_take_over(tmp_path: Path) -> None:
    world = World(tmp_path)
    late = UploadOptions(filename="late.jpg", title="Late title")
    record = world.upload(_file(late=late), UploadOptions(title="Early")).record
    assert (record.original_filename, record.title) == ("late.jpg", "Late title")


def test_a_guest_upload_drops_tags_and_a_foreign_album_or_unknown_category(
    tmp_path: Path,
) -> None:
    world = World(tmp_path)
    for name in ("ann", "bob"):
        asyncio.run(world.accounts.create_user(name, False, T0))
    anns = asyncio.run(world.accounts.create_album(1, "Ann's", "", T0))
    bobs = asyncio.run(world.accounts.create_album(2, "Bob's", "", T0))
    category = asyncio.run(world.accounts.create_category("Sea", "sea"))
    options = UploadOptions(tags="sea", category_id=category.id, album_id=IDS.encode(anns.id))

    own = world.upload(_file(), options).record
    assert (own.album_id, own.category_id, own.tags) == (anns.id, category.id, ["sea"])
    foreign = dataclasses.replace(options, album_id=IDS.encode(bobs.id), category_id=99)
    dropped = world.upload(_file(), foreign).record
    assert (dropped.album_id, dropped.category_id) == (None, None)
    guest = world.upload(_file(), options, caller=GUEST).record
    assert (guest.user_id, guest.album_id, guest.tags) == (None, None, [])


def test_text_sources_are_fetched_or_decoded(tmp_path: Path) -> None:
    world = World(tmp_path)
    fetched = world.upload(TextSource("https://example.com/pics/cat.jpeg")).record
    assert fetched.original_filename == "cat.jpeg"
    decoded = world.upload(TextSource(base64.b64encode(JPEG).decode())).record
    assert re.fullmatch(r"[0-9a-f]{12}\.jpeg", decoded.original_filename)


def test_a_file_over_the_limit_stops_while_it_arrives(tmp_path: Path) -> None:
    world = World(tmp_path)
    asyncio.run(world.settings.update(upload_max_filesize_mb_guest=1))
    with pytest.raises(errors.FileTooBig, match="max 1 MB"):
        world.upload(_file(JPEG + bytes(10**6), chunk=65536), caller=GUEST)
    assert world.blobs.stored == {} and world.scratch_left() == []


def test_a_failure_after_the_spool_leaves_nothing_behind(tmp_path: Path) -> None:
    world = World(tmp_path)
    with pytest.raises(errors.SourceInfoUnreadable):
        world.upload(_file(b"not an image at all"))
    world.codec.failure = errors.InvalidImage()
    with pytest.raises(errors.InvalidImage):
        world.upload(_file())
    assert world.blobs.stored == {} and world.media.rows == [] and world.scratch_left() == []
