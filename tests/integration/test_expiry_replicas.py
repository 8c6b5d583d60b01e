"""Replicas over one database and one blob store reap expired media once between them.

Each replica is its own engine, repository, MediaService and ExpiryReaper, as in a
server process of its own; the blob store is shared and notes every delete, so a file
deleted twice (the loser of a race deleting what a new upload may have put under the
same key) shows.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from server.adapters.db.album_repo import SqlAlbumRepo
from server.adapters.db.engine import make_engine, migrate
from server.adapters.db.media_repo import SqlMediaRepo
from server.adapters.db.user_repo import SqlUserRepo
from server.domain.errors import StorageFailure
from server.domain.ids import IdCodec
from server.domain.media import MediaRecord
from server.services.credentials import Credentials
from server.services.image_view import MediaPresenter, PublicUrls
from server.services.media import MediaService
from server.services.null_metrics import NullMetrics
from server.services.reaper import BATCH, ExpiryReaper
from tests.conftest import _database
from tests.contract.backends import T0, media_record
from tests.unit.server.fakes import Blobs, FixedClock

pytestmark = pytest.mark.asyncio

IDS = IdCodec("replicas", 999)
EXPIRED = 2 * BATCH + 50  # several batches each, so the sweeps overlap
NOW = T0 + timedelta(days=1)


class CountedMetrics(NullMetrics):
    def __init__(self) -> None:
        self.expired = 0

    def expired_deleted(self, count: int) -> None:
        self.expired += count


@dataclass
class Replica:
    repo: SqlMediaRepo
    media: MediaService
    reaper: ExpiryReaper
    metrics: CountedMetrics


@pytest.fixture()
def database_url(tmp_path: Path, database_kind: str) -> Iterator[str]:
    with _database(database_kind) as url:
        yield url or f"sqlite:///{tmp_path / 'darkroom.db'}"


@pytest.fixture()
def engines(database_url: str) -> Iterator[list[Engine]]:
    made = [make_engine(database_url) for _ in range(2)]
    migrate(made[0])
    yield made
    for engine in made:
        engine.dispose()


def _replica(engine: Engine, blobs: Blobs) -> Replica:
    repo = SqlMediaRepo(engine)
    clock = FixedClock(NOW)
    media = MediaService(
        media=repo,
        users=SqlUserRepo(engine),
        albums=SqlAlbumRepo(engine),
        blobs=blobs,
        secrets=Credentials(b"r" * 32, IDS),
        ids=IDS,
        presenter=MediaPresenter(PublicUrls("http://darkroom.test/"), IDS),
        clock=clock,
    )
    metrics = CountedMetrics()
    return Replica(repo, media, ExpiryReaper(repo, media, clock, 30.0, metrics), metrics)


async def _stored(repo: SqlMediaRepo, blobs: Blobs, n: int, expired: bool) -> MediaRecord:
    expiration = T0 + timedelta(minutes=n % 90) if expired else NOW + timedelta(days=1)
    record = await repo.add(media_record(n, name=f"item-{n}", expiration_gmt=expiration))
    for key in record.blob_keys():
        blobs.stored[key] = b"file"
    return record


async def _library(replica: Replica, blobs: Blobs) -> tuple[list[MediaRecord], MediaRecord]:
    expired = [await _stored(replica.repo, blobs, n, True) for n in range(EXPIRED)]
    return expired, await _stored(replica.repo, blobs, EXPIRED, False)


def _keys(records: list[MediaRecord]) -> list[str]:
    return [key for record in records for key in record.blob_keys()]


async def test_two_reapers_delete_each_expired_items_files_once(
    engines: list[Engine], tmp_path: Path
) -> None:
    blobs = Blobs(tmp_path / "blobs")
    one, two = (_replica(engine, blobs) for engine in engines)
    expired, kept = await _library(one, blobs)

    counts = await asyncio.gather(one.reaper.sweep(), two.reaper.sweep())

    assert Counter(blobs.deleted) == Counter(_keys(expired))  # each file once, no other
    assert sum(counts) == EXPIRED
    assert one.metrics.expired + two.metrics.expired == EXPIRED
    left = await two.repo.page(limit=10, before_id=None, user_id=None, album_id=None)
    assert [r.id for r in left.items] == [kept.id]
    assert set(blobs.stored) == set(kept.blob_keys())


async def test_a_delete_racing_the_reaper_leaves_the_files_to_the_winner(
    engines: list[Engine], tmp_path: Path
) -> None:
    blobs = Blobs(tmp_path / "blobs")
    reaping, deleting = (_replica(engine, blobs) for engine in engines)
    expired, _ = await _library(reaping, blobs)

    reaped, *removed = await asyncio.gather(
        reaping.reaper.sweep(), *(deleting.media.remove(record) for record in expired)
    )

    assert Counter(blobs.deleted) == Counter(_keys(expired))
    assert reaped + sum(1 for won in removed if won) == EXPIRED
    assert reaping.metrics.expired == reaped


class _FailingDeletes(Blobs):
    """A store that cannot delete some files (an outage, a permission)."""

    def __init__(self, root: Path, failing: set[str]) -> None:
        super().__init__(root)
        self.failing = failing

    async def delete(self, key: str) -> None:
        if key in self.failing:
            raise StorageFailure(path=key, error="S3 InternalError")
        await super().delete(key)


async def test_a_file_that_cannot_be_deleted_does_not_keep_the_rest_of_the_batch(
    engines: list[Engine], tmp_path: Path
) -> None:
    blobs = _FailingDeletes(tmp_path / "blobs", set())
    replica = _replica(engines[0], blobs)
    expired, kept = await _library(replica, blobs)
    blobs.failing = {expired[3].blob_keys()[0]}

    assert await replica.reaper.sweep() == EXPIRED

    assert set(blobs.stored) == set(kept.blob_keys()) | blobs.failing  # the one orphan
