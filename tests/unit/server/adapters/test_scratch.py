"""Scratch ownership between real processes: a live owner's scratch is never a leftover,
a killed one's is at once, and only the blobs its uploads linked are named."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from server.adapters.blob.local import LocalBlobStore
from server.adapters.blob.scratch import JOURNAL, OWNER_LOCK, OWNER_PID, ProcessScratch
from server.domain.errors import StorageFailure
from tests.support.scratch_owner import Owner


@pytest.fixture
def owners(tmp_path: Path) -> Iterator[list[Owner]]:
    started: list[Owner] = []
    yield started
    for owner in started:
        owner.close()


def _store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "media")


def _env(store: LocalBlobStore) -> dict[str, str]:
    """Settings of a server process on the same store."""
    return {
        **os.environ,
        "DARKROOM_DATA_DIR": str(store.root.parent),
        "DARKROOM_MEDIA_ROOT": str(store.root),
    }


def test_a_live_owners_scratch_is_never_a_leftover(tmp_path: Path, owners: list[Owner]) -> None:
    store = _store(tmp_path)
    owners.append(Owner(_env(store), "images/2026/03/01/a.jpg"))
    assert owners[0].scratch.is_dir()
    assert (owners[0].scratch / OWNER_PID).read_text().strip() == str(owners[0].process.pid)
    assert asyncio.run(store.scratch.leftovers()) == []
    assert asyncio.run(store.scratch.live_owners()) == 1  # the owner; this test owns none yet
    store.scratch_dir()
    assert asyncio.run(store.scratch.live_owners()) == 2


def test_a_killed_owners_scratch_is_a_leftover_at_once_naming_its_linked_blobs(
    tmp_path: Path, owners: list[Owner]
) -> None:
    store = _store(tmp_path)
    keys = ["images/2026/03/01/a.jpg", "images/2026/03/01/a.th.jpg"]
    owners.append(Owner(_env(store), *keys))
    owners[0].kill()
    # A name race the dead upload lost: journaled, but the blob is another upload's file.
    lost = "images/2026/03/01/b.jpg"
    store.path_of(lost).write_bytes(b"someone else's")
    workdir = owners[0].scratch / "upload-x"
    (workdir / "b-source").write_bytes(b"mine")
    with open(workdir / JOURNAL, "a") as journal:
        journal.write('{"key": "images/2026/03/01/b.jpg", "source": "b-source"}\n{"key": "ima')

    [leftover] = asyncio.run(store.scratch.leftovers())
    assert leftover.name == owners[0].scratch.name
    assert sorted(leftover.linked_keys) == keys
    asyncio.run(store.scratch.discard(leftover))
    assert not owners[0].scratch.exists()
    assert all(store.path_of(key).exists() for key in [*keys, lost])  # discard keeps blobs
    assert asyncio.run(store.scratch.leftovers()) == []


def test_a_claimed_leftover_is_nobody_elses_until_released(
    tmp_path: Path, owners: list[Owner]
) -> None:
    store = _store(tmp_path)
    owners.append(Owner(_env(store)))
    owners[0].kill()
    other = ProcessScratch(store.scratch.root, store.still_stored)  # as a replica would see it
    [claimed] = asyncio.run(store.scratch.leftovers())
    assert asyncio.run(other.leftovers()) == []
    assert asyncio.run(store.scratch.leftovers()) == []  # already this one's
    asyncio.run(store.scratch.release(claimed))
    asyncio.run(store.scratch.release(claimed))  # twice is no error
    [again] = asyncio.run(other.leftovers())
    assert again.name == claimed.name
    asyncio.run(other.release(again))


def test_entries_without_an_owner_are_leftovers_and_a_clean_stop_leaves_nothing(
    tmp_path: Path,
) -> None:
    store = _store(tmp_path)
    own = store.scratch_dir()
    (own / "upload-y").mkdir()
    legacy = store.scratch.root / "upload-from-an-old-version"
    legacy.mkdir()
    (legacy / "source").write_bytes(b"x")
    half_made = store.scratch.root / "proc-1-deadbeef"  # killed before its lock existed
    half_made.mkdir()
    loose = store.scratch.root / "tmpfile"
    loose.write_bytes(b"x")
    found = asyncio.run(store.scratch.leftovers())
    assert sorted(left.name for left in found) == sorted([legacy.name, half_made.name, loose.name])
    for left in found:
        asyncio.run(store.scratch.discard(left))
    assert (own / OWNER_LOCK).exists()
    store.scratch.close()
    assert sorted(p.name for p in store.scratch.root.iterdir()) == [".registry.lock"]


def test_a_store_failing_mid_listing_gives_every_claim_up(tmp_path: Path) -> None:
    root = tmp_path / "scratch"
    for name in ("proc-1-aa", "proc-2-bb"):  # no owner: leftovers both
        (root / name / "upload-x").mkdir(parents=True)
        (root / name / "upload-x" / JOURNAL).write_text(
            json.dumps({"key": f"images/{name}.jpg", "source": "f"}) + "\n"
        )
    outage = True

    async def still_stored(key: str, source: Path) -> bool:
        if outage:
            raise StorageFailure(path=key, error="S3 InternalError")
        return True

    scratch = ProcessScratch(root, still_stored)
    with pytest.raises(StorageFailure):
        asyncio.run(scratch.leftovers())
    outage = False
    found = asyncio.run(scratch.leftovers())  # the next sweep takes them again
    assert sorted(f.name for f in found) == ["proc-1-aa", "proc-2-bb"]
