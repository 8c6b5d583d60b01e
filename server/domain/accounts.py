"""Users, albums and categories as the services see them, whatever stores them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class UserInfo:
    id: int
    username: str
    is_admin: bool
    is_disabled: bool
    has_key: bool
    key_id: int | None
    date_gmt: datetime


@dataclass(frozen=True)
class AlbumInfo:
    id: int
    user_id: int
    owner: str
    name: str
    description: str


@dataclass(frozen=True)
class CategoryInfo:
    id: int
    name: str
    url_key: str
