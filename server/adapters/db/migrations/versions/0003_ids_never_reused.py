"""ids never reused: media, albums and API keys AUTOINCREMENT on SQLite

SQLite hands the largest rowid out again once its row is deleted, so deleting the
newest upload gave the next upload the same public id: a share link that had been
public showed someone else's upload. AUTOINCREMENT makes SQLite remember the
largest id ever used (in sqlite_sequence, across restarts). SQLite cannot add it to
an existing table, so each table is rebuilt (batch mode), keeping every row and id;
the rebuilt table starts counting after the largest id it holds. An id that was
deleted before this migration, above the largest one left, cannot be known.

PostgreSQL: the SERIAL sequences never hand an id out twice; nothing to do.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-29 10:00:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TABLES = ("media", "albums", "api_keys")


def _rebuild(autoincrement: bool) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:
        with op.batch_alter_table(
            table, recreate="always", table_kwargs={"sqlite_autoincrement": autoincrement}
        ):
            pass


def upgrade() -> None:
    _rebuild(autoincrement=True)


def downgrade() -> None:
    _rebuild(autoincrement=False)
