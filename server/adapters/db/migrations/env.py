"""Alembic environment: runs on the connection that server.adapters.db.engine hands in."""

from __future__ import annotations

from alembic import context
from sqlmodel import SQLModel

from server.adapters.db import tables  # noqa: F401  (registers the tables on the metadata)

target_metadata = SQLModel.metadata
connection = context.config.attributes.get("connection")
if connection is None:
    url = context.config.get_main_option("sqlalchemy.url")
    from server.adapters.db.engine import make_engine, schema_connection

    engine = make_engine(url or "sqlite:///var/darkroom.db")
    with schema_connection(engine) as connection:
        context.configure(
            connection=connection, target_metadata=target_metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()
