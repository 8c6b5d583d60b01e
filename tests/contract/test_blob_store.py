"""BlobStore: put never replaces, the source stays, delete forgives a missing blob.

``STORES`` lists every implementation; a new store (S3) joins with one line.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from server.adapters.blob.local import LocalBlobStore
from server.ports import BlobExists, BlobStore
from tests.unit.server.fakes import Blobs

pytestmark = pytest.mark.asyncio

STORES: list[tuple[str, Callable[[Path], BlobStore]]] = [
    ("fake", Blobs),
    ("local", LocalBlobStore),
]

KEY = "images/2026/03/01/photo.jpg"


@pytest.fixture(params=[make for _, make in STORES], ids=[name for name, _ in STORES])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    make: Callable[[Path], BlobStore] = request.param
    return make(tmp_path / "store")


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
