"""In-memory stand-ins for the ports, so services run in the test's own process.

Each fake keeps what it was asked in plain attributes, for the test to look at.
tests/contract/ runs the same port tests over these and the real adapters, so a fake
answers as the adapters do, edge cases included.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Callable, Collection, Sequence
from datetime import UTC, datetime
from pathlib import Path

from server.domain.accounts import AlbumInfo, CategoryInfo, UserInfo
from server.domain.errors import AlreadyExists
from server.domain.media import MediaPage, MediaRecord
from server.domain.storage import StoredBlob
from server.ports import BlobExists

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


class FixedClock:
    def __init__(self, now: datetime = T0) -> None:
        self.moment = now

    def now(self) -> datetime:
        return self.moment


class Variables:
    """A VariableStore in a dict."""

    def __init__(self) -> None:
        self.values: dict[str, str] = {}

    async def get(self, name: str) -> str | None:
        return self.values.get(name)

    async def set(self, name: str, value: str) -> None:
        self.values[name] = value

    async def delete(self, name: str) -> None:
        self.values.pop(name, None)

    async def get_or_create(self, name: str, default: str) -> str:
        return self.values.setdefault(name, default)


class Accounts:
    """Users, keys, albums and categories: the four account roles in one object,
    as the SQL adapter could be; a service given it still sees only its role."""

    def __init__(self) -> None:
        self.user_rows: dict[int, UserInfo] = {}
        self.key_rows: dict[int, tuple[int, str]] = {}  # key id -> (user id, hash)
        self.album_rows: dict[int, AlbumInfo] = {}
        self.category_rows: dict[int, CategoryInfo] = {}
        self.key_lookups: list[int] = []
        self._next_key_id = 1

    # --- UserRepo

    async def create_user(self, username: str, is_admin: bool, now: datetime) -> UserInfo:
        if await self.user_by_name(username) is not None:
            raise AlreadyExists(f"User {username!r} already exists", field="username")
        user = UserInfo(len(self.user_rows) + 1, username, is_admin, False, False, None, now)
        self.user_rows[user.id] = user
        return user

    async def user_by_name(self, username: str) -> UserInfo | None:
        return next((u for u in self.user_rows.values() if u.username == username), None)

    async def user_by_id(self, user_id: int) -> UserInfo | None:
        return self.user_rows.get(user_id)

    async def users(self) -> Sequence[UserInfo]:
        return list(self.user_rows.values())

    async def set_disabled(self, user_id: int, disabled: bool) -> None:
        user = self.user_rows.get(user_id)
        if user is not None:
            self.user_rows[user_id] = dataclasses.replace(user, is_disabled=disabled)

    # --- KeyRepo

    async def user_for_key(self, key_id: int) -> tuple[UserInfo, str] | None:
        self.key_lookups.append(key_id)
        if key_id not in self.key_rows:
            return None
        user_id, key_hash = self.key_rows[key_id]
        return self.user_rows[user_id], key_hash

    async def put_key(
        self, user_id: int, make_key: Callable[[int], tuple[str, str]], now: datetime
    ) -> str:
        await self.delete_key(user_id)
        key_id = self._next_key_id
        self._next_key_id += 1
        plaintext, key_hash = make_key(key_id)
        self.key_rows[key_id] = (user_id, key_hash)
        user = self.user_rows[user_id]
        self.user_rows[user_id] = dataclasses.replace(user, has_key=True, key_id=key_id)
        return plaintext

    async def delete_key(self, user_id: int) -> bool:
        mine = [key_id for key_id, (owner, _) in self.key_rows.items() if owner == user_id]
        for key_id in mine:
            del self.key_rows[key_id]
        user = self.user_rows.get(user_id)
        if user is not None:
            self.user_rows[user_id] = dataclasses.replace(user, has_key=False, key_id=None)
        return bool(mine)

    # --- AlbumRepo

    async def create_album(
        self, user_id: int, name: str, description: str, now: datetime
    ) -> AlbumInfo:
        owner = self.user_rows[user_id].username
        album = AlbumInfo(len(self.album_rows) + 1, user_id, owner, name, description)
        self.album_rows[album.id] = album
        return album

    async def album(self, album_id: int) -> AlbumInfo | None:
        return self.album_rows.get(album_id)

    async def albums(self, user_id: int | None) -> Sequence[AlbumInfo]:
        return [a for a in self.album_rows.values() if user_id is None or a.user_id == user_id]

    # --- CategoryRepo

    async def create_category(self, name: str, url_key: str) -> CategoryInfo:
        if any(c.url_key == url_key for c in self.category_rows.values()):
            raise AlreadyExists(f"Category {url_key!r} already exists", field="url_key")
        category = CategoryInfo(len(self.category_rows) + 1, name, url_key)
        self.category_rows[category.id] = category
        return category

    async def category(self, category_id: int) -> CategoryInfo | None:
        return self.category_rows.get(category_id)

    async def categories(self) -> Sequence[CategoryInfo]:
        return list(self.category_rows.values())


@dataclasses.dataclass
class CountsCall:
    moments: list[datetime]
    user_id: int | None
    guest: bool
    ip: str | None


class UploadCounts:
    """Answers every window with the same count per kind of query, and keeps the calls."""

    def __init__(self, by_key: int = 0, by_ip: int = 0) -> None:
        self.by_key = by_key
        self.by_ip = by_ip
        self.calls: list[CountsCall] = []

    async def counts_since(
        self,
        moments: Sequence[datetime],
        *,
        user_id: int | None = None,
        guest: bool = False,
        ip: str | None = None,
    ) -> list[int]:
        self.calls.append(CountsCall(list(moments), user_id, guest, ip))
        return [self.by_ip if ip is not None else self.by_key] * len(moments)


class MediaRows:
    """A MediaRepo, UploadCounts and ExpiredMedia in a list.

    Ids are never handed out twice, as the tables' AUTOINCREMENT; records go in and
    come out as copies, as rows would. Upload counts are the rows' own plus whatever
    the test sets on ``counts`` (uploads made "elsewhere", to trip flood limits).
    """

    def __init__(self) -> None:
        self.rows: list[MediaRecord] = []
        self.counts = UploadCounts()
        self._last_id = 0

    async def add(self, record: MediaRecord) -> MediaRecord:
        self._last_id += 1
        record.id = self._last_id
        self.rows.append(_copy(record))
        return record

    async def get(self, media_id: int) -> MediaRecord | None:
        return next((_copy(r) for r in self.rows if r.id == media_id), None)

    async def page(
        self, *, limit: int, before_id: int | None, user_id: int | None, album_id: int | None
    ) -> MediaPage:
        rows = [
            r
            for r in sorted(self.rows, key=_id_of, reverse=True)
            if (before_id is None or _id_of(r) < before_id)
            and (user_id is None or r.user_id == user_id)
            and (album_id is None or r.album_id == album_id)
        ]
        items = [_copy(r) for r in rows[:limit]]
        return MediaPage(items, items[-1].id if len(rows) > limit and items else None)

    async def delete(self, media_id: int) -> bool:
        before = len(self.rows)
        self.rows = [r for r in self.rows if r.id != media_id]
        return len(self.rows) < before

    async def owned_keys(self, keys: Collection[str]) -> set[str]:
        wanted = set(keys)
        return {key for r in self.rows for key in r.blob_keys() if key in wanted}

    async def set_chain(self, media_id: int, chain: int) -> bool:
        for n, row in enumerate(self.rows):
            if row.id == media_id:
                self.rows[n] = dataclasses.replace(row, chain=chain)
                return True
        return False

    async def counts_since(
        self,
        moments: Sequence[datetime],
        *,
        user_id: int | None = None,
        guest: bool = False,
        ip: str | None = None,
    ) -> list[int]:
        mine = [
            r
            for r in self.rows
            if (user_id is None or r.user_id == user_id)
            and (not guest or r.user_id is None)
            and (ip is None or r.uploader_ip == ip)
        ]
        own = [sum(1 for r in mine if r.date_gmt >= moment) for moment in moments]
        extra = await self.counts.counts_since(moments, user_id=user_id, guest=guest, ip=ip)
        return [a + b for a, b in zip(own, extra, strict=True)]

    async def claim_expired(self, now: datetime, limit: int) -> Sequence[MediaRecord]:
        due = [r for r in self.rows if r.expiration_gmt is not None and r.expiration_gmt <= now]
        due.sort(key=lambda r: (r.expiration_gmt or now, _id_of(r)))
        taken = due[:limit]
        # No await between the read and the removal: one claimer at a time, as in a
        # transaction.
        taken_ids = {_id_of(r) for r in taken}
        self.rows = [r for r in self.rows if _id_of(r) not in taken_ids]
        return [_copy(r) for r in taken]


def _copy(record: MediaRecord) -> MediaRecord:
    return dataclasses.replace(record, tags=list(record.tags))


def _id_of(record: MediaRecord) -> int:
    assert record.id is not None
    return record.id


class Blobs:
    """A BlobStore in a directory; ``taken`` keys refuse a put as a clash would.

    Every blob is as old as ``age_s`` says (an hour unless the test sets one)."""

    def __init__(self, root: Path, taken: Sequence[str] = ()) -> None:
        self.root = root
        self.taken = set(taken)
        self.stored: dict[str, bytes] = {}
        self.deleted: list[str] = []
        self.journaled: list[tuple[Path, str, Path]] = []
        self.age_s: dict[str, float] = {}
        (root / "scratch").mkdir(parents=True, exist_ok=True)

    async def put(self, key: str, source: Path) -> None:
        if key in self.taken or key in self.stored:
            raise BlobExists(key)
        self.stored[key] = b""  # taken before the read yields, as a real store takes it
        self.stored[key] = await asyncio.to_thread(source.read_bytes)

    async def exists(self, key: str) -> bool:
        return key in self.stored or key in self.taken

    async def delete(self, key: str) -> None:
        self.deleted.append(key)
        self.stored.pop(key, None)

    def scratch_dir(self) -> Path:
        return self.root / "scratch"

    async def journal(self, workdir: Path, key: str, source: Path) -> None:
        self.journaled.append((workdir, key, source))

    async def listing(self, prefix: str) -> list[StoredBlob]:
        return [
            StoredBlob(key, self.age_s.get(key, 3600.0))
            for key in self.stored
            if key.startswith(prefix)
        ]
