"""Two server processes on one PostgreSQL and one S3 bucket reap the same expired media:
each item is deleted once (the counts of both add up to the number expired) and nothing
is left in the bucket."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy

from tests.conftest import _database
from tests.integration.test_upload_formats import upload
from tests.support import media
from tests.support.seaweedfs import SeaweedFS
from tests.support.server import (
    POSTGRES_ENV,
    RunningServer,
    boot_with_admin,
    database_urls,
    media_gone,
    start_server,
)
from tests.support.waiting import wait_until

ITEMS = 30
BOUND_S = 60.0  # a liveness bound for a loaded machine, not a speed target


@pytest.fixture
def replicas(tmp_path: Path, seaweedfs: SeaweedFS) -> Iterator[tuple[RunningServer, RunningServer]]:
    if not database_urls()["postgres"]:
        pytest.skip(f"{POSTGRES_ENV} is not set: replicas share a PostgreSQL")
    with _database("postgres") as url:
        env = seaweedfs.darkroom_env(seaweedfs.new_bucket())
        first = boot_with_admin(tmp_path / "a", url, env)
        # Another host's data directory, with the secret copied over as docs/deploy.md says.
        (tmp_path / "b").mkdir()
        shutil.copy(first.data_dir / "secret.key", tmp_path / "b" / "secret.key")
        second = start_server(tmp_path / "b", url, env)
        try:
            yield first, second
        finally:
            first.stop()
            second.stop()


def _expire_everything(server: RunningServer) -> None:
    engine = sqlalchemy.create_engine(server.env["DARKROOM_DATABASE_URL"])
    try:
        with engine.begin() as conn:
            conn.execute(
                sqlalchemy.text("UPDATE media SET expiration_gmt = :past"),
                {"past": datetime.now(UTC) - timedelta(seconds=1)},
            )
    finally:
        engine.dispose()


def test_two_replicas_reap_each_expired_item_once_and_leave_the_bucket_empty(
    replicas: tuple[RunningServer, RunningServer],
) -> None:
    first, second = replicas
    ids = [
        upload(
            server, first.admin_key, media.jpeg(320, 240, seed=n), f"r{n}.jpg", expiration="P1D"
        ).id_encoded
        for n, server in zip(range(ITEMS), [first, second] * ITEMS, strict=False)
    ]
    assert len(first.stored_files()) == 2 * ITEMS  # file and thumb each, in the one bucket
    _expire_everything(first)
    wait_until(lambda: all(media_gone(first, i) for i in ids), BOUND_S, "every expired item gone")
    wait_until(lambda: first.stored_files() == [], BOUND_S, "an empty bucket")
    assert all(media_gone(second, i) for i in ids)
    name = "darkroom_reaper_deleted_media_total"
    assert first.metric(name) + second.metric(name) == ITEMS
