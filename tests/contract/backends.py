"""Every implementation of the repository ports, built the same way for the contract tests.

A backend is one set of repositories over one store: the in-memory fakes the service
tests use, or the SQL adapters over a migrated database. Each contract test runs on
every backend, so a fake that answers differently from the database fails here first.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine

from server.adapters.db.album_repo import SqlAlbumRepo
from server.adapters.db.category_repo import SqlCategoryRepo
from server.adapters.db.key_repo import SqlKeyRepo
from server.adapters.db.media_repo import SqlMediaRepo
from server.adapters.db.user_repo import SqlUserRepo
from server.adapters.db.variable_store import SqlVariableStore
from server.domain.media import MediaRecord, MediaType
from server.ports import (
    AlbumRepo,
    CategoryRepo,
    ExpiredMedia,
    KeyRepo,
    MediaRepo,
    UploadCounts,
    UserRepo,
    VariableStore,
)
from tests.unit.server.fakes import Accounts, MediaRows, Variables

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Repos:
    users: UserRepo
    keys: KeyRepo
    albums: AlbumRepo
    categories: CategoryRepo
    media: MediaRepo
    counts: UploadCounts
    expired: ExpiredMedia
    variables: VariableStore


def fake_repos() -> Repos:
    accounts, media = Accounts(), MediaRows()
    return Repos(accounts, accounts, accounts, accounts, media, media, media, Variables())


def sql_repos(engine: Engine) -> Repos:
    media = SqlMediaRepo(engine)
    return Repos(
        users=SqlUserRepo(engine),
        keys=SqlKeyRepo(engine),
        albums=SqlAlbumRepo(engine),
        categories=SqlCategoryRepo(engine),
        media=media,
        counts=media,
        expired=media,
        variables=SqlVariableStore(engine),
    )


def media_record(n: int = 1, **changes: Any) -> MediaRecord:
    """A plausible stored image; ``changes`` sets any column."""
    values: dict[str, Any] = {
        "name": f"photo-{n}", "extension": "jpg", "size": 1000 + n, "width": 640,
        "height": 480, "date_gmt": T0, "folder": "2026/03/01", "title": f"Photo {n}",
        "description": None, "nsfw": False, "md5": f"{n:032x}", "source_md5": None,
        "original_filename": f"photo-{n}.jpg", "type": MediaType.IMAGE, "chain": 0b00111,
        "thumb_size": 100, "thumb_extension": "jpg", "medium_size": 300,
        "medium_width": 500, "medium_height": 375, "frame_size": 0, "is_animated": False,
        "is_360": False, "duration": 0, "delete_token_hash": f"hash-{n}",
    }  # fmt: skip
    values.update(changes)
    return MediaRecord(**values)
