"""Shared fixtures: real server processes on free ports, on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.support.server import (
    POSTGRES_ENV,
    RunningServer,
    boot_with_admin,
    database_urls,
    postgres_database,
)


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def database_kind(request: pytest.FixtureRequest) -> str:
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


@pytest.fixture(scope="session")
def server(database_kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    with _database(database_kind) as url:
        running = boot_with_admin(tmp_path_factory.mktemp("darkroom"), url)
        yield running
        running.stop()


@pytest.fixture()
def fresh_server(tmp_path: Path, database_kind: str) -> Iterator[RunningServer]:
    """A server of one's own, for tests that change settings or restart it."""
    with _database(database_kind) as url:
        running = boot_with_admin(tmp_path / "darkroom", url)
        yield running
        running.stop()


def admin_md(server: RunningServer) -> list[tuple[str, str]]:
    return server.admin_metadata()


@pytest.fixture()
def user_key(server: RunningServer) -> str:
    return server.new_user()[1]
