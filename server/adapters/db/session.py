"""The base of every SQL repository: one SQLAlchemy session per call, in a worker thread.

SQLAlchemy sessions are synchronous; running each in a thread keeps the event loop
from ever waiting on the database.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Engine
from sqlmodel import Session

T = TypeVar("T")


class SqlRepo:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    async def _run(self, fn: Callable[[Session], T]) -> T:
        return await asyncio.to_thread(self._in_session, fn)

    def _in_session(self, fn: Callable[[Session], T]) -> T:
        with Session(self._engine, expire_on_commit=False) as session:
            result = fn(session)
            session.commit()
            return result
