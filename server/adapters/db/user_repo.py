"""Users, each seen with whether it has an API key: the UserRepo role."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from server.adapters.db.session import SqlRepo
from server.adapters.db.tables import ApiKeyRow, UserRow
from server.domain.accounts import UserInfo
from server.domain.errors import AlreadyExists


def user_info(session: Session, row: UserRow) -> UserInfo:
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


class SqlUserRepo(SqlRepo):
    async def create_user(self, username: str, is_admin: bool, now: datetime) -> UserInfo:
        def work(session: Session) -> UserInfo:
            row = UserRow(username=username, is_admin=is_admin, date_gmt=now)
            session.add(row)
            try:
                session.flush()
            except IntegrityError as exc:
                raise AlreadyExists(f"User {username!r} already exists", field="username") from exc
            return user_info(session, row)

        return await self._run(work)

    async def user_by_name(self, username: str) -> UserInfo | None:
        def work(session: Session) -> UserInfo | None:
            row = session.exec(select(UserRow).where(UserRow.username == username)).first()
            return None if row is None else user_info(session, row)

        return await self._run(work)

    async def user_by_id(self, user_id: int) -> UserInfo | None:
        def work(session: Session) -> UserInfo | None:
            row = session.get(UserRow, user_id)
            return None if row is None else user_info(session, row)

        return await self._run(work)

    async def users(self) -> Sequence[UserInfo]:
        def work(session: Session) -> list[UserInfo]:
            rows = session.exec(select(UserRow).order_by(col(UserRow.id)))
            return [user_info(session, row) for row in rows]

        return await self._run(work)

    async def set_disabled(self, user_id: int, disabled: bool) -> None:
        def work(session: Session) -> None:
            row = session.get(UserRow, user_id)
            if row is not None:
                row.is_disabled = disabled
                session.add(row)

        await self._run(work)
