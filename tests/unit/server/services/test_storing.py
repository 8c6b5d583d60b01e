"""File names from the client's, and every variant stored under the first free name."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest

from server.domain.errors import StorageFailure
from server.domain.processing import ProcessedMedia
from server.services.ingest_session import IngestSession
from server.services.storing import FileNames, file_names, store_files
from tests.unit.server.fakes import Blobs

FOLDER = "2026/03/01"


def processed(
    workdir: Path,
    *,
    extension: str = "jpeg",
    thumb_extension: str = "jpeg",
    medium: bool = False,
    frame: bool = False,
    is_video: bool = False,
) -> ProcessedMedia:
    def file(name: str) -> Path:
        path = workdir / name
        path.write_bytes(name.encode())
        return path

    return ProcessedMedia(
        path=file("stored"),
        extension=extension,
        mime="image/jpeg",
        size=6,
        width=4,
        height=3,
        md5="0" * 32,
        source_md5=None,
        thumb=file("thumb"),
        thumb_size=5,
        thumb_extension=thumb_extension,
        medium=file("medium") if medium else None,
        medium_size=6 if medium else 0,
        medium_width=2 if medium else 0,
        medium_height=1 if medium else 0,
        is_animated=False,
        is_360=False,
        title=None,
        description=None,
        taken_at=None,
        is_video=is_video,
        frame=file("frame") if frame else None,
        frame_size=5 if frame else 0,
    )


def test_a_name_without_extension_gets_the_stored_one(tmp_path: Path) -> None:
    assert file_names("photo", processed(tmp_path, extension="png")) == FileNames(
        "photo.png", "png", "png"
    )


def test_no_name_at_all_becomes_twelve_random_hex_digits(tmp_path: Path) -> None:
    names = file_names("", processed(tmp_path))
    assert re.fullmatch(r"[0-9a-f]{12}\.jpeg", names.client_name)


def test_a_jpg_name_keeps_jpg_for_the_image_and_its_derivatives(tmp_path: Path) -> None:
    assert file_names("IMG_1.JPG", processed(tmp_path)) == FileNames("IMG_1.JPG", "jpg", "jpg")


def test_nul_is_dropped_and_the_name_fits_its_column(tmp_path: Path) -> None:
    assert file_names("a\x00b.png", processed(tmp_path)).client_name == "ab.png"
    assert len(file_names("x.y" + "z" * 300, processed(tmp_path)).client_name) == 255


def test_a_videos_derivatives_keep_the_codecs_extension(tmp_path: Path) -> None:
    video = processed(tmp_path, extension="mp4", thumb_extension="jpeg", is_video=True)
    assert file_names("clip.mp4", video) == FileNames("clip.mp4", "mp4", "jpeg")


def _store(blobs: Blobs, media: ProcessedMedia, names: FileNames) -> tuple[str, list[str]]:
    async def run() -> tuple[str, list[str]]:
        async with IngestSession(blobs) as session:
            name = await store_files(session, media, FOLDER, names)
            return name, list(session.stored)

    return asyncio.run(run())


def test_every_variant_is_stored_under_one_name(tmp_path: Path) -> None:
    blobs = Blobs(tmp_path)
    media = processed(tmp_path, medium=True, frame=True)
    name, stored = _store(blobs, media, FileNames("Holiday.jpg", "jpg", "jpg"))
    assert name == "Holiday"
    keys = [f"images/{FOLDER}/Holiday{infix}" for infix in (".jpg", ".th.jpg", ".md.jpg")]
    assert stored == [*keys, f"images/{FOLDER}/Holiday.fr.jpeg"]
    assert blobs.stored[keys[1]] == b"thumb"


def test_a_taken_name_falls_back_to_a_mixed_one_and_takes_its_files_back(tmp_path: Path) -> None:
    blobs = Blobs(tmp_path, taken=[f"images/{FOLDER}/photo.th.jpg"])
    name, stored = _store(blobs, processed(tmp_path), FileNames("photo.jpg", "jpg", "jpg"))
    assert re.fullmatch(r"photo[0-9a-f]{16}", name)
    assert blobs.deleted == [f"images/{FOLDER}/photo.jpg"]
    assert stored == [f"images/{FOLDER}/{name}.jpg", f"images/{FOLDER}/{name}.th.jpg"]
    assert set(blobs.stored) == set(stored)


def test_a_store_where_every_name_is_taken_gives_up(tmp_path: Path) -> None:
    class Full(Blobs):
        async def put(self, key: str, source: Path) -> None:
            await super().put(f"images/{FOLDER}/photo.jpg", source)

    blobs = Full(tmp_path, taken=[f"images/{FOLDER}/photo.jpg"])
    with pytest.raises(StorageFailure):
        _store(blobs, processed(tmp_path), FileNames("photo.jpg", "jpg", "jpg"))
    assert blobs.stored == {}
