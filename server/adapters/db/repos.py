"""SQLModel implementations of the repository ports.

SQLAlchemy sessions are synchronous; each method runs its session in a worker
thread so the event loop never waits on the database.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Engine, case, delete, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from server.adapters.db.tables import (
    AlbumRow,
    ApiKeyRow,
    CategoryRow,
    MediaRow,
    MediaTagRow,
    UserRow,
    VariableRow,
)
from server.domain.errors import AlreadyExists
from server.domain.media import MediaRecord, MediaType
from server.ports import AlbumInfo, CategoryInfo, MediaPage, UserInfo

T = TypeVar("T")


class _Db:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def _run(self, fn: Callable[[Session], T]) -> T:
        return await asyncio.to_thread(self._in_session, fn)

    def _in_session(self, fn: Callable[[Session], T]) -> T:
        with Session(self._engine, expire_on_commit=False) as session:
            result = fn(session)
            session.commit()
            return result


# --- media ---------------------------------------------------------------------------------

_RECORD_FIELDS = [
    name for name in MediaRecord.__dataclass_fields__ if name not in ("tags", "type", "id")
]


def _to_row(record: MediaRecord) -> MediaRow:
    values = {name: getattr(record, name) for name in _RECORD_FIELDS}
    return MediaRow(**values, type=record.type.value)


def _to_record(row: MediaRow, tags: list[str]) -> MediaRecord:
    values = {name: getattr(row, name) for name in _RECORD_FIELDS}
    return MediaRecord(**values, type=MediaType(row.type), tags=tags, id=row.id)


def _tags_of(session: Session, media_ids: list[int]) -> dict[int, list[str]]:
    tags: dict[int, list[str]] = {media_id: [] for media_id in media_ids}
    if media_ids:
        rows = session.exec(
            select(MediaTagRow)
            .where(col(MediaTagRow.media_id).in_(media_ids))
            .order_by(col(MediaTagRow.media_id), col(MediaTagRow.position))
        )
        for tag in rows:
            tags[tag.media_id].append(tag.name)
    return tags


def _records(session: Session, rows: Sequence[MediaRow]) -> list[MediaRecord]:
    tags = _tags_of(session, [row.id for row in rows if row.id is not None])
    return [_to_record(row, tags[row.id]) for row in rows if row.id is not None]


class SqlMediaRepo(_Db):
    async def add(self, record: MediaRecord) -> MediaRecord:
        def work(session: Session) -> MediaRecord:
            row = _to_row(record)
            session.add(row)
            session.flush()
            assert row.id is not None
            for position, name in enumerate(record.tags):
                session.add(MediaTagRow(media_id=row.id, position=position, name=name))
            record.id = row.id
            return record

        return await self._run(work)

    async def get(self, media_id: int) -> MediaRecord | None:
        def work(session: Session) -> MediaRecord | None:
            row = session.get(MediaRow, media_id)
            return None if row is None else _records(session, [row])[0]

        return await self._run(work)

    async def page(
        self, *, limit: int, before_id: int | None, user_id: int | None, album_id: int | None
    ) -> MediaPage:
        def work(session: Session) -> MediaPage:
            query = select(MediaRow).order_by(col(MediaRow.id).desc()).limit(limit + 1)
            if before_id is not None:
                query = query.where(col(MediaRow.id) < before_id)
            if user_id is not None:
                query = query.where(MediaRow.user_id == user_id)
            if album_id is not None:
                query = query.where(MediaRow.album_id == album_id)
            rows = list(session.exec(query))
            more = len(rows) > limit
            items = _records(session, rows[:limit])
            return MediaPage(items, items[-1].id if more and items else None)

        return await self._run(work)

    async def delete(self, media_id: int) -> bool:
        def work(session: Session) -> bool:
            session.exec(delete(MediaTagRow).where(col(MediaTagRow.media_id) == media_id))
            result = session.exec(delete(MediaRow).where(col(MediaRow.id) == media_id))
            return bool(result.rowcount)

        return await self._run(work)

    async def counts_since(
        self,
        moments: Sequence[datetime],
        *,
        user_id: int | None = None,
        guest: bool = False,
        ip: str | None = None,
    ) -> list[int]:
        def work(session: Session) -> list[int]:
            date = col(MediaRow.date_gmt)
            columns = [func.sum(case((date >= moment, 1), else_=0)) for moment in moments]
            query = select(*columns).where(date >= min(moments))
            if user_id is not None:
                query = query.where(MediaRow.user_id == user_id)
            if guest:
                query = query.where(col(MediaRow.user_id).is_(None))
            if ip is not None:
                query = query.where(MediaRow.uploader_ip == ip)
            row = session.execute(query).one()
            return [int(value or 0) for value in row]

        return await self._run(work)

    async def expired(self, now: datetime, limit: int) -> Sequence[MediaRecord]:
        def work(session: Session) -> list[MediaRecord]:
            rows = session.exec(
                select(MediaRow)
                .where(col(MediaRow.expiration_gmt).is_not(None))
                .where(col(MediaRow.expiration_gmt) <= now)
                .order_by(col(MediaRow.expiration_gmt))
                .limit(limit)
            )
            return _records(session, list(rows))

        return await self._run(work)


# --- accounts ------------------------------------------------------------------------------


def _user_info(session: Session, row: UserRow) -> UserInfo:
    assert row.id is not None
    key = session.exec(select(ApiKeyRow).where(ApiKeyRow.user_id == row.id)).first()
    return UserInfo(
        id=row.id,
        username=row.username,
        is_admin=row.is_admin,
        is_disabled=row.is_disabled,
        has_key=key is not None,
        key_id=key.id if key is not None else None,
        date_gmt=row.date_gmt,
    )


def _album_info(session: Session, row: AlbumRow) -> AlbumInfo:
    assert row.id is not None
    owner = session.get(UserRow, row.user_id)
    return AlbumInfo(
        id=row.id,
        user_id=row.user_id,
        owner=owner.username if owner else "",
        name=row.name,
        description=row.description,
    )


def _category_info(row: CategoryRow) -> CategoryInfo:
    assert row.id is not None
    return CategoryInfo(id=row.id, name=row.name, url_key=row.url_key)


class SqlAccountRepo(_Db):
    async def create_user(self, username: str, is_admin: bool, now: datetime) -> UserInfo:
        def work(session: Session) -> UserInfo:
            row = UserRow(username=username, is_admin=is_admin, date_gmt=now)
            session.add(row)
            try:
                session.flush()
            except IntegrityError as exc:
                raise AlreadyExists(f"User {username!r} already exists", field="username") from exc
            return _user_info(session, row)

        return await self._run(work)

    async def user_by_name(self, username: str) -> UserInfo | None:
        def work(session: Session) -> UserInfo | None:
            row = session.exec(select(UserRow).where(UserRow.username == username)).first()
            return None if row is None else _user_info(session, row)

        return await self._run(work)

    async def user_by_id(self, user_id: int) -> UserInfo | None:
        def work(session: Session) -> UserInfo | None:
            row = session.get(UserRow, user_id)
            return None if row is None else _user_info(session, row)

        return await self._run(work)

    async def users(self) -> Sequence[UserInfo]:
        def work(session: Session) -> list[UserInfo]:
            rows = session.exec(select(UserRow).order_by(col(UserRow.id)))
            return [_user_info(session, row) for row in rows]

        return await self._run(work)

    async def set_disabled(self, user_id: int, disabled: bool) -> None:
        def work(session: Session) -> None:
            row = session.get(UserRow, user_id)
            if row is not None:
                row.is_disabled = disabled
                session.add(row)

        await self._run(work)

    async def user_for_key(self, key_id: int) -> tuple[UserInfo, str] | None:
        def work(session: Session) -> tuple[UserInfo, str] | None:
            key = session.get(ApiKeyRow, key_id)
            if key is None:
                return None
            user = session.get(UserRow, key.user_id)
            return None if user is None else (_user_info(session, user), key.key_hash)

        return await self._run(work)

    async def put_key(
        self, user_id: int, make_key: Callable[[int], tuple[str, str]], now: datetime
    ) -> str:
        def work(session: Session) -> str:
            # A new row (new id) on every rotation: the id is part of the key, so an
            # old key can never match the new row even before its hash is compared.
            session.exec(delete(ApiKeyRow).where(col(ApiKeyRow.user_id) == user_id))
            session.flush()
            row = ApiKeyRow(user_id=user_id, key_hash="", date_gmt=now)
            session.add(row)
            session.flush()
            assert row.id is not None
            plaintext, key_hash = make_key(row.id)
            row.key_hash = key_hash
            session.add(row)
            return plaintext

        return await self._run(work)

    async def delete_key(self, user_id: int) -> bool:
        def work(session: Session) -> bool:
            result = session.exec(delete(ApiKeyRow).where(col(ApiKeyRow.user_id) == user_id))
            return bool(result.rowcount)

        return await self._run(work)

    async def create_album(
        self, user_id: int, name: str, description: str, now: datetime
    ) -> AlbumInfo:
        def work(session: Session) -> AlbumInfo:
            row = AlbumRow(user_id=user_id, name=name, description=description, date_gmt=now)
            session.add(row)
            session.flush()
            return _album_info(session, row)

        return await self._run(work)

    async def album(self, album_id: int) -> AlbumInfo | None:
        def work(session: Session) -> AlbumInfo | None:
            row = session.get(AlbumRow, album_id)
            return None if row is None else _album_info(session, row)

        return await self._run(work)

    async def albums(self, user_id: int | None) -> Sequence[AlbumInfo]:
        def work(session: Session) -> list[AlbumInfo]:
            query = select(AlbumRow).order_by(col(AlbumRow.id))
            if user_id is not None:
                query = query.where(AlbumRow.user_id == user_id)
            return [_album_info(session, row) for row in session.exec(query)]

        return await self._run(work)

    async def create_category(self, name: str, url_key: str) -> CategoryInfo:
        def work(session: Session) -> CategoryInfo:
            row = CategoryRow(name=name, url_key=url_key)
            session.add(row)
            try:
                session.flush()
            except IntegrityError as exc:
                raise AlreadyExists(
                    f"Category {url_key!r} already exists", field="url_key"
                ) from exc
            return _category_info(row)

        return await self._run(work)

    async def category(self, category_id: int) -> CategoryInfo | None:
        def work(session: Session) -> CategoryInfo | None:
            row = session.get(CategoryRow, category_id)
            return None if row is None else _category_info(row)

        return await self._run(work)

    async def categories(self) -> Sequence[CategoryInfo]:
        def work(session: Session) -> list[CategoryInfo]:
            rows = session.exec(select(CategoryRow).order_by(col(CategoryRow.id)))
            return [_category_info(row) for row in rows]

        return await self._run(work)


# --- variables -----------------------------------------------------------------------------


class SqlVariableStore(_Db):
    async def get(self, name: str) -> str | None:
        def work(session: Session) -> str | None:
            row = session.get(VariableRow, name)
            return None if row is None else row.value

        return await self._run(work)

    async def set(self, name: str, value: str) -> None:
        def work(session: Session) -> None:
            row = session.get(VariableRow, name)
            if row is None:
                row = VariableRow(name=name, value=value)
            row.value = value
            session.add(row)

        await self._run(work)

    async def delete(self, name: str) -> None:
        await self._run(
            lambda session: session.exec(delete(VariableRow).where(col(VariableRow.name) == name))
        )

    async def get_or_create(self, name: str, default: str) -> str:
        def insert(session: Session) -> None:
            session.add(VariableRow(name=name, value=default))

        current = await self.get(name)
        if current is not None:
            return current
        with contextlib.suppress(IntegrityError):  # another process stored it first: theirs wins
            await self._run(insert)
        stored = await self.get(name)
        assert stored is not None
        return stored


__all__ = ["SqlAccountRepo", "SqlMediaRepo", "SqlVariableStore"]
