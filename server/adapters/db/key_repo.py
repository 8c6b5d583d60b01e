"""API key rows, at most one per user, stored as hashes: the KeyRepo role."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import delete
from sqlmodel import Session, col

from server.adapters.db.session import SqlRepo
from server.adapters.db.tables import ApiKeyRow, UserRow
from server.adapters.db.user_repo import user_info
from server.domain.accounts import UserInfo


class SqlKeyRepo(SqlRepo):
    async def user_for_key(self, key_id: int) -> tuple[UserInfo, str] | None:
        def work(session: Session) -> tuple[UserInfo, str] | None:
            key = session.get(ApiKeyRow, key_id)
            if key is None:
                return None
            user = session.get(UserRow, key.user_id)
            return None if user is None else (user_info(session, user), key.key_hash)

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
