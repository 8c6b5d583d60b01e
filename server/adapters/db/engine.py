"""Engine creation and schema migration (Alembic) for SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event

MIGRATIONS = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(
            url, connect_args={"check_same_thread": False, "timeout": 30}, pool_pre_ping=True
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets readers run beside the one writer; foreign keys are off by default.
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=10)


# Any fixed 64-bit number, the same in every Darkroom process: "darkroom" in ASCII.
MIGRATION_LOCK = 0x6461726B726F6F6D


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest revision; a no-op when it is already there."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with schema_connection(engine) as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "head")


@contextmanager
def schema_connection(engine: Engine) -> Iterator[Connection]:
    """A connection in one transaction for schema changes, committed when the block ends."""
    if engine.dialect.name != "sqlite":
        with engine.begin() as connection:
            if engine.dialect.name == "postgresql":
                # Replicas on several hosts may start at once on a new database: one
                # migrates, the others wait here and then find the schema current. The
                # lock ends with the transaction.
                connection.exec_driver_sql(f"SELECT pg_advisory_xact_lock({MIGRATION_LOCK})")
            yield connection
        return
    with engine.connect() as connection:
        # Batch mode rebuilds a table by dropping it, and with foreign keys on that drop
        # first deletes every row: it would cascade into media_tags, or fail on albums
        # that media point at. The pragma is ignored inside a transaction, so it comes
        # first, and the check below stands in for it until the commit.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        try:
            # The driver would begin a transaction only at the first row written, leaving
            # the DDL before it outside. IMMEDIATE makes a second process that migrates at
            # the same time wait here and then find the schema current.
            connection.exec_driver_sql("BEGIN IMMEDIATE")
            try:
                dangling = _dangling_references(connection)
                yield connection
                if broken := _dangling_references(connection) - dangling:
                    raise RuntimeError(f"Migration left rows with dangling references: {broken}")
            except BaseException:
                connection.rollback()
                raise
            connection.commit()
        finally:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()


def _dangling_references(connection: Connection) -> set[tuple[Any, ...]]:
    return {tuple(row) for row in connection.exec_driver_sql("PRAGMA foreign_key_check")}
