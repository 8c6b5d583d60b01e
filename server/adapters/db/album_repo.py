"""Albums, each seen with its owner's name: the AlbumRepo role."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlmodel import Session, col, select

from server.adapters.db.session import SqlRepo
from server.adapters.db.tables import AlbumRow, UserRow
from server.domain.accounts import AlbumInfo


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


class SqlAlbumRepo(SqlRepo):
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
