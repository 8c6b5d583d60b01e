"""The ``repos`` fixture: each contract test once per backend (fake, SQLite, PostgreSQL).

The databases are migrated with the real migrations, once per session; each test then
gets an empty one: a copy of the migrated SQLite file, or the PostgreSQL database with
its tables emptied and its id sequences restarted.
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import SQLModel

from server.adapters.db import tables as _tables  # noqa: F401 - registers the tables
from server.adapters.db.engine import make_engine, migrate
from tests.contract.backends import Repos, fake_repos, sql_repos
from tests.support.server import POSTGRES_ENV, database_urls, postgres_database


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("contract-sqlite") / "migrated.db"
    engine = make_engine(f"sqlite:///{path}")
    try:
        migrate(engine)
    finally:
        engine.dispose()  # the last connection checkpoints the WAL into the file
    return path


@pytest.fixture(scope="session")
def migrated_postgres() -> Iterator[sa.Engine]:
    base = database_urls()["postgres"]
    if not base:
        pytest.skip(f"{POSTGRES_ENV} is not set: no PostgreSQL to run against on this machine")
    with postgres_database(base) as url:
        engine = make_engine(url)
        try:
            migrate(engine)
            yield engine
        finally:
            engine.dispose()


def _emptied(engine: sa.Engine) -> sa.Engine:
    names = ", ".join(f'"{table.name}"' for table in SQLModel.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    return engine


@pytest.fixture(params=["fake", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def repos(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Repos]:
    if request.param == "fake":
        yield fake_repos()
    elif request.param == "sqlite":
        copy = tmp_path / "contract.db"
        shutil.copyfile(request.getfixturevalue("migrated_sqlite"), copy)
        engine = make_engine(f"sqlite:///{copy}")
        try:
            yield sql_repos(engine)
        finally:
            engine.dispose()
    else:
        yield sql_repos(_emptied(request.getfixturevalue("migrated_postgres")))
