"""BlobStore: put never replaces, the source stays, delete forgives a missing blob.

The suite runs over every implementation: the fake the unit tests use, the local store,
and the S3 store on a real SeaweedFS (a bucket per test), so none of them can drift.
Each comes with a way to read a blob back as a user would get it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from server.adapters.blob.local import LocalBlobStore
from server.adapters.blob.s3 import S3BlobStore, S3Location, make_client
from server.ports import BlobExists, BlobStore
from tests.support.s3_objects import S3Objects
from tests.support.seaweedfs import SeaweedFS
from tests.unit.server.fakes import Blobs

pytestmark = pytest.mark.asyncio

KEY = "images/2026/03/01/photo.jpg"
MiB = 1024 * 1024


@dataclass
class Store:
    blobs: BlobStore
    read: Callable[[str], bytes]


def _fake(tmp_path: Path, request: pytest.FixtureRequest) -> Store:
    fake = Blobs(tmp_path / "store")
    return Store(fake, lambda key: fake.stored[key])


def _local(tmp_path: Path, request: pytest.FixtureRequest) -> Store:
    local = LocalBlobStore(tmp_path / "store")
    return Store(local, lambda key: local.path_of(key).read_bytes())


def _s3(tmp_path: Path, request: pytest.FixtureRequest) -> Store:
    seaweed: SeaweedFS = request.getfixturevalue("seaweedfs")
    where = S3Location(
        seaweed.endpoint, seaweed.new_bucket(), seaweed.region,
        seaweed.access_key_id, seaweed.secret_access_key,
    )  # fmt: skip
    # 5 MiB parts (S3's smallest), so a multipart upload is cheap to test.
    s3 = S3BlobStore(make_client(where), where.bucket, tmp_path / "scratch", 5 * MiB)
    request.addfinalizer(s3.close)
    return Store(s3, S3Objects(where).read)


STORES: list[tuple[str, Callable[[Path, pytest.FixtureRequest], Store]]] = [
    ("fake", _fake),
    ("local", _local),
    ("s3", _s3),
]


@pytest.fixture(params=[make for _, make in STORES], ids=[name for name, _ in STORES])
def stored(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    make: Callable[[Path, pytest.FixtureRequest], Store] = request.param
    yield make(tmp_path, request)


@pytest.fixture
def store(stored: Store) -> BlobStore:
    return stored.blobs


def _scratch_file(store: BlobStore, name: str, data: bytes = b"\xff\xd8 photo") -> Path:
    path = store.scratch_dir() / name
    path.write_bytes(data)
    return path


async def test_the_scratch_dir_is_a_directory_one_may_write_in(store: BlobStore) -> None:
    assert store.scratch_dir().is_dir()
    assert _scratch_file(store, "probe").exists()


async def test_a_put_blob_exists_and_its_source_stays(store: BlobStore) -> None:
    source = _scratch_file(store, "upload")
    assert not await store.exists(KEY)
    await store.put(KEY, source)
    assert await store.exists(KEY)
    assert source.read_bytes() == b"\xff\xd8 photo"
    assert not await store.exists("images/2026/03/01/other.jpg")


async def test_a_taken_key_is_blob_exists_and_the_source_still_stays(store: BlobStore) -> None:
    await store.put(KEY, _scratch_file(store, "first"))
    second = _scratch_file(store, "second", b"other bytes")
    with pytest.raises(BlobExists):
        await store.put(KEY, second)
    assert second.read_bytes() == b"other bytes"
    assert await store.exists(KEY)


async def test_delete_frees_the_key_and_a_missing_blob_is_no_error(store: BlobStore) -> None:
    await store.put(KEY, _scratch_file(store, "first"))
    await store.delete(KEY)
    assert not await store.exists(KEY)
    await store.delete(KEY)
    await store.delete("images/1999/01/01/never.jpg")
    await store.put(KEY, _scratch_file(store, "again"))
    assert await store.exists(KEY)


async def test_keys_in_different_folders_are_different_blobs(store: BlobStore) -> None:
    keys = ["images/2026/03/01/a.jpg", "images/2026/03/02/a.jpg", "images/2026/03/01/a.th.jpg"]
    for n, key in enumerate(keys):
        await store.put(key, _scratch_file(store, f"s{n}"))
    await store.delete(keys[0])
    assert [await store.exists(key) for key in keys] == [False, True, True]


async def test_a_listing_shows_the_blobs_under_a_prefix_with_their_age(store: BlobStore) -> None:
    keys = ["images/2026/03/01/a.jpg", "images/2026/03/02/b.th.jpg"]
    for n, key in enumerate(keys):
        await store.put(key, _scratch_file(store, f"s{n}"))
    _scratch_file(store, "not-a-blob")
    listed = await store.listing("images/")
    assert sorted(blob.key for blob in listed) == keys
    assert all(blob.age_s >= 0 for blob in listed)
    assert [blob.key for blob in await store.listing("images/2026/03/02/")] == keys[1:]
    assert await store.listing("videos/") == []


async def test_journaling_a_put_leaves_the_source_and_the_put_alone(store: BlobStore) -> None:
    workdir = store.scratch_dir() / "upload-1"
    workdir.mkdir()
    source = workdir / "source"
    source.write_bytes(b"bytes")
    await store.journal(workdir, KEY, source)
    await store.journal(workdir, KEY + ".th.jpg", source)
    await store.put(KEY, source)
    assert await store.exists(KEY) and source.read_bytes() == b"bytes"


async def test_a_stored_blob_reads_back_byte_for_byte(stored: Store) -> None:
    data = bytes(range(256)) * 4001  # not a multiple of any buffer size
    await stored.blobs.put(KEY, _scratch_file(stored.blobs, "upload", data))
    assert stored.read(KEY) == data


async def test_a_file_larger_than_a_part_is_stored_whole_and_never_replaces(
    stored: Store,
) -> None:
    big = stored.blobs.scratch_dir() / "video"
    with big.open("wb") as out:  # 11 MiB and a bit: three parts of 5 MiB for S3
        for n in range(11):
            out.write(bytes([n]) * MiB)
        out.write(b"tail")
    await stored.blobs.put("images/2026/03/01/clip.mp4", big)
    assert stored.read("images/2026/03/01/clip.mp4") == big.read_bytes()
    small = _scratch_file(stored.blobs, "small", b"other")
    with pytest.raises(BlobExists):
        await stored.blobs.put("images/2026/03/01/clip.mp4", small)
    other_big = stored.blobs.scratch_dir() / "video2"
    other_big.write_bytes(b"\x01" * (6 * MiB))
    with pytest.raises(BlobExists):
        await stored.blobs.put("images/2026/03/01/clip.mp4", other_big)
    assert stored.read("images/2026/03/01/clip.mp4") == big.read_bytes()


async def test_racing_puts_of_one_key_have_exactly_one_winner(stored: Store) -> None:
    sources = [_scratch_file(stored.blobs, f"racer{n}", f"racer {n}".encode()) for n in range(8)]
    outcomes = await asyncio.gather(
        *(stored.blobs.put(KEY, source) for source in sources), return_exceptions=True
    )
    winners = [n for n, outcome in enumerate(outcomes) if outcome is None]
    assert len(winners) == 1
    assert all(isinstance(o, BlobExists) for o in outcomes if o is not None)
    assert stored.read(KEY) == f"racer {winners[0]}".encode()
