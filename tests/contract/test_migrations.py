"""Alembic owns the schema: after every migration it must equal what the models declare."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from sqlmodel import SQLModel

from server.adapters.db import tables
from server.adapters.db.engine import MIGRATIONS, make_engine, migrate, schema_connection
from tests.support.server import database_urls, postgres_database

PUBLIC_ID_TABLES = ("media", "albums", "api_keys")
NOW = datetime(2026, 11, 29, 12, 0, tzinfo=UTC)


def test_migrations_produce_exactly_the_models(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'schema.db'}")
    try:
        migrate(engine)
        migrate(engine)  # a second run is a no-op
        with engine.connect() as conn:
            drift = compare_metadata(MigrationContext.configure(conn), SQLModel.metadata)
    finally:
        engine.dispose()
    assert drift == []


def _upgrade(engine: sa.Engine, revision: str) -> None:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with schema_connection(engine) as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, revision)


def _schema(engine: sa.Engine) -> dict[str, list[str]]:
    """Each table's and index's definition, one clause a line, in a fixed order.

    A rebuilt table lists its foreign keys in the order reflection found them.
    """
    with engine.connect() as conn:
        rows = conn.exec_driver_sql(
            "SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name NOT LIKE 'sqlite_%'"
        )
        return {
            str(name): sorted(line.strip().rstrip(",") for line in str(sql).splitlines())
            for name, sql in rows
        }


def _media(n: int, **values: Any) -> dict[str, Any]:
    return {
        "name": f"m{n}", "extension": "jpg", "size": 10, "width": 1, "height": 1,
        "date_gmt": NOW, "folder": "2026/11/29", "title": f"m{n}", "nsfw": False,
        "md5": "0" * 32, "original_filename": f"m{n}.jpg", "type": "image", "chain": 3,
        "thumb_size": 1, "thumb_extension": "jpg", "medium_size": 0, "medium_width": 0,
        "medium_height": 0, "frame_size": 0, "is_animated": False, "is_360": False,
        "duration": 0, "delete_token_hash": "h", **values,
    }  # fmt: skip


def _insert(conn: sa.Connection, table: sa.Table, **values: Any) -> int:
    key = conn.execute(table.insert().values(**values)).inserted_primary_key
    assert key is not None
    return int(key[0])


_MEDIA: sa.Table = tables.MediaRow.__table__  # type: ignore[attr-defined]
_ALBUMS: sa.Table = tables.AlbumRow.__table__  # type: ignore[attr-defined]
_KEYS: sa.Table = tables.ApiKeyRow.__table__  # type: ignore[attr-defined]
_USERS: sa.Table = tables.UserRow.__table__  # type: ignore[attr-defined]
_TAGS: sa.Table = tables.MediaTagRow.__table__  # type: ignore[attr-defined]


def _new_row(conn: sa.Connection, table: str, user_id: int) -> int:
    if table == "media":
        return _insert(conn, _MEDIA, **_media(0, user_id=user_id))
    if table == "albums":
        return _insert(conn, _ALBUMS, user_id=user_id, name="a", description="", date_gmt=NOW)
    return _insert(conn, _KEYS, user_id=user_id, key_hash="k", date_gmt=NOW)


def _user(conn: sa.Connection) -> int:
    count = conn.execute(sa.select(sa.func.count()).select_from(_USERS)).scalar_one()
    return _insert(
        conn, _USERS, username=f"u{count}", is_admin=False, is_disabled=False, date_gmt=NOW
    )


def test_a_new_database_and_an_upgraded_one_have_the_same_schema(tmp_path: Path) -> None:
    fresh = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    upgraded = make_engine(f"sqlite:///{tmp_path / 'upgraded.db'}")
    try:
        migrate(fresh)
        _upgrade(upgraded, "0002")
        with upgraded.begin() as conn:
            _insert(conn, _MEDIA, **_media(1))
        migrate(upgraded)
        schema = _schema(fresh)
        assert schema == _schema(upgraded)
    finally:
        fresh.dispose()
        upgraded.dispose()
    for table in PUBLIC_ID_TABLES:
        assert "id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT" in schema[table], table


def test_the_upgrade_keeps_every_row_id_tag_and_album(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    try:
        _upgrade(engine, "0002")
        with engine.begin() as conn:
            user = _user(conn)
            key = _insert(conn, _KEYS, user_id=user, key_hash="k", date_gmt=NOW)
            album = _insert(conn, _ALBUMS, user_id=user, name="a", description="", date_gmt=NOW)
            ids = [_insert(conn, _MEDIA, **_media(n, album_id=album)) for n in range(1, 5)]
            conn.execute(_MEDIA.delete().where(_MEDIA.c.id == ids[1]))
            for media_id in (ids[0], ids[2]):
                conn.execute(_TAGS.insert().values(media_id=media_id, position=0, name="t"))
        with engine.connect() as conn:
            before = {
                name: conn.execute(sa.select(table).order_by(*table.primary_key)).all()
                for name, table in (("media", _MEDIA), ("tags", _TAGS), ("albums", _ALBUMS))
            }
        migrate(engine)
        with engine.begin() as conn:
            after = {
                name: conn.execute(sa.select(table).order_by(*table.primary_key)).all()
                for name, table in (("media", _MEDIA), ("tags", _TAGS), ("albums", _ALBUMS))
            }
            assert after == before
            assert [row.id for row in conn.execute(sa.select(_KEYS.c.id))] == [key]
            conn.execute(_MEDIA.delete().where(_MEDIA.c.id == ids[3]))
            assert _insert(conn, _MEDIA, **_media(5)) > ids[3]
        with engine.connect() as conn:
            assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar_one() == 1
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    base = database_urls()[request.param]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ids.db'}"
        return
    if not base:
        pytest.skip("no PostgreSQL to run against on this machine")
    with postgres_database(base) as url:
        yield url


@pytest.mark.parametrize("table", PUBLIC_ID_TABLES)
def test_a_deleted_newest_id_never_comes_back(database_url: str, table: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine)
        with engine.begin() as conn:
            user = _user(conn)
            _new_row(conn, table, _user(conn))
            newest = _new_row(conn, table, user)
            conn.execute(sa.text(f"DELETE FROM {table} WHERE id = :id"), {"id": newest})
            again = _new_row(conn, table, _user(conn))
            assert again > newest
            conn.execute(sa.text(f"DELETE FROM {table} WHERE id = :id"), {"id": again})
    finally:
        engine.dispose()
    restarted = make_engine(database_url)  # a new process: nothing kept in memory
    try:
        migrate(restarted)
        with restarted.begin() as conn:
            assert _new_row(conn, table, _user(conn)) > again
    finally:
        restarted.dispose()


def test_processes_migrating_a_new_database_at_once_all_succeed(database_url: str) -> None:
    # Replicas on several hosts starting together: each its own engine, as a process has.
    engines = [make_engine(database_url) for _ in range(4)]
    failures: list[BaseException] = []

    def start(engine: sa.Engine) -> None:
        try:
            migrate(engine)
        except BaseException as error:  # collected: a thread's error must fail the test
            failures.append(error)

    try:
        threads = [threading.Thread(target=start, args=(engine,)) for engine in engines]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(120)
        assert not failures, failures[0]
        with engines[0].connect() as conn:
            versions = conn.execute(sa.text("SELECT version_num FROM alembic_version")).all()
        assert len(versions) == 1
    finally:
        for engine in engines:
            engine.dispose()
