"""SQLModel tables. The schema itself is owned by Alembic (migrations/), not create_all.

Every datetime is stored aware, in UTC; local dates are derived when presented.

Media, album and API key ids travel encoded (share links, album ids, the id part of
a key), so they must never be handed out twice: SQLite reuses the largest rowid
after a delete unless the table is AUTOINCREMENT; PostgreSQL's sequences never do.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, Index
from sqlmodel import Field, SQLModel

NEVER_REUSE_IDS: dict[str, Any] = {"sqlite_autoincrement": True}


class UserRow(SQLModel, table=True):
    __tablename__ = "users"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(index=True, unique=True, max_length=64)
    is_admin: bool = False
    is_disabled: bool = False
    date_gmt: datetime


class ApiKeyRow(SQLModel, table=True):
    __tablename__ = "api_keys"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True, unique=True)
    key_hash: str = Field(max_length=128)
    date_gmt: datetime


class AlbumRow(SQLModel, table=True):
    __tablename__ = "albums"
    __table_args__ = NEVER_REUSE_IDS

    id: int | None = Field(default=None, primary_key=True)
    user_id: int = Field(foreign_key="users.id", index=True)
    name: str = Field(max_length=100)
    description: str = ""
    date_gmt: datetime


class CategoryRow(SQLModel, table=True):
    __tablename__ = "categories"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=100)
    url_key: str = Field(max_length=100, unique=True)


class VariableRow(SQLModel, table=True):
    """Key/value store for persisted settings, the id codec salt and the guest key hash."""

    __tablename__ = "variables"

    name: str = Field(primary_key=True, max_length=64)
    value: str


class MediaRow(SQLModel, table=True):
    __tablename__ = "media"
    # Flood limits count a key's and an address's recent uploads.
    __table_args__ = (
        Index("ix_media_uploader_ip_date", "uploader_ip", "date_gmt"),
        Index("ix_media_user_date", "user_id", "date_gmt"),
        NEVER_REUSE_IDS,
    )

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=255)
    extension: str = Field(max_length=8)
    size: int = Field(sa_type=BigInteger)
    width: int
    height: int
    date_gmt: datetime = Field(index=True)
    folder: str = Field(max_length=16)
    title: str = Field(max_length=100)
    description: str | None = None
    nsfw: bool = False
    md5: str = Field(max_length=32, index=True)
    source_md5: str | None = Field(default=None, max_length=32)
    original_filename: str = Field(max_length=255)
    type: str = Field(max_length=8)
    chain: int
    thumb_size: int = 0
    thumb_extension: str = Field(max_length=8)
    medium_size: int = 0
    medium_width: int = 0
    medium_height: int = 0
    frame_size: int = 0
    is_animated: bool = False
    is_360: bool = False
    duration: int = 0
    expiration_gmt: datetime | None = Field(default=None, index=True)
    category_id: int | None = Field(default=None, foreign_key="categories.id")
    album_id: int | None = Field(default=None, foreign_key="albums.id", index=True)
    user_id: int | None = Field(default=None, foreign_key="users.id", index=True)
    delete_token_hash: str = Field(max_length=128)
    uploader_ip: str | None = Field(default=None, max_length=45)


class MediaTagRow(SQLModel, table=True):
    __tablename__ = "media_tags"

    media_id: int = Field(foreign_key="media.id", primary_key=True, ondelete="CASCADE")
    position: int = Field(primary_key=True)
    name: str = Field(max_length=32)
