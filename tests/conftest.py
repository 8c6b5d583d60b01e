"""Shared fixtures: real server processes on free ports, on each backend.

A backend is a database and a blob store: SQLite with local files, PostgreSQL with local
files, and PostgreSQL with an S3 bucket on a real SeaweedFS (the multi-node setup).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.seaweedfs import SeaweedFS, running_seaweedfs, weed_unavailable
from tests.support.server import (
    POSTGRES_ENV,
    RunningServer,
    boot_with_admin,
    database_urls,
    postgres_database,
)

BACKENDS = ["sqlite", "postgres", "s3"]


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def database_kind(request: pytest.FixtureRequest) -> str:
    """For tests of the database alone: the store plays no part in them."""
    if request.param == "postgres" and not database_urls()["postgres"]:
        pytest.skip(f"{POSTGRES_ENV} is not set: no PostgreSQL to run against on this machine")
    return str(request.param)


@contextmanager
def _database(kind: str) -> Iterator[str]:
    """A new, empty database of that kind ("" = the server's default SQLite)."""
    base = database_urls()[kind]
    if not base:
        yield ""
        return
    with postgres_database(base) as url:
        yield url


@pytest.fixture(scope="session", params=BACKENDS)
def backend_kind(request: pytest.FixtureRequest) -> str:
    if request.param in ("postgres", "s3") and not database_urls()["postgres"]:
        pytest.skip(f"{POSTGRES_ENV} is not set: no PostgreSQL to run against on this machine")
    if request.param == "s3" and (why := weed_unavailable()):
        pytest.skip(f"no SeaweedFS to run the S3 store against: {why}")
    return str(request.param)


@pytest.fixture(scope="session")
def seaweedfs(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SeaweedFS]:
    """One SeaweedFS for the session; each server gets a bucket of its own."""
    if why := weed_unavailable():
        pytest.skip(f"no SeaweedFS: {why}")
    with running_seaweedfs(tmp_path_factory.mktemp("seaweedfs")) as s3:
        yield s3


@contextmanager
def _backend(kind: str, request: pytest.FixtureRequest) -> Iterator[tuple[str, dict[str, str]]]:
    """A new, empty database ("" = the server's default SQLite) and the settings of a
    new, empty store of that kind."""
    env: dict[str, str] = {}
    if kind == "s3":
        s3: SeaweedFS = request.getfixturevalue("seaweedfs")
        env = s3.darkroom_env(s3.new_bucket())
    with _database("sqlite" if kind == "sqlite" else "postgres") as url:
        yield url, env


@pytest.fixture(scope="session")
def server(
    backend_kind: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunningServer]:
    with _backend(backend_kind, request) as (url, env):
        running = boot_with_admin(tmp_path_factory.mktemp("darkroom"), url, env)
        yield running
        running.stop()


@pytest.fixture()
def fresh_server(
    tmp_path: Path, backend_kind: str, request: pytest.FixtureRequest
) -> Iterator[RunningServer]:
    """A server of one's own, for tests that change settings or restart it."""
    with _backend(backend_kind, request) as (url, env):
        running = boot_with_admin(tmp_path / "darkroom", url, env)
        yield running
        running.stop()


def admin_md(server: RunningServer) -> list[tuple[str, str]]:
    return server.admin_metadata()


@pytest.fixture()
def user_key(server: RunningServer) -> str:
    return server.new_user()[1]
