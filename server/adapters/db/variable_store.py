"""Named string variables (settings, the id codec's salt, the guest key hash)."""

from __future__ import annotations

import contextlib

from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from server.adapters.db.session import SqlRepo
from server.adapters.db.tables import VariableRow


class SqlVariableStore(SqlRepo):
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
