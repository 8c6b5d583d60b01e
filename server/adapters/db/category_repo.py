"""Categories, unique by url_key: the CategoryRepo role."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from server.adapters.db.session import SqlRepo
from server.adapters.db.tables import CategoryRow
from server.domain.accounts import CategoryInfo
from server.domain.errors import AlreadyExists


def _category_info(row: CategoryRow) -> CategoryInfo:
    assert row.id is not None
    return CategoryInfo(id=row.id, name=row.name, url_key=row.url_key)


class SqlCategoryRepo(SqlRepo):
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
