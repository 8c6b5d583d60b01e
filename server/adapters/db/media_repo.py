"""Media rows and their tags: the MediaRepo, UploadCounts and ExpiredMedia roles."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import case, delete, func, update
from sqlmodel import Session, col, select

from server.adapters.db.session import SqlRepo
from server.adapters.db.tables import MediaRow, MediaTagRow
from server.domain.media import MediaPage, MediaRecord, MediaType, Variant

_RECORD_FIELDS = [
    name for name in MediaRecord.__dataclass_fields__ if name not in ("tags", "type", "id")
]


def _to_row(record: MediaRecord) -> MediaRow:
    values = {name: getattr(record, name) for name in _RECORD_FIELDS}
    return MediaRow(**values, type=record.type.value)


def _to_record(row: MediaRow, tags: list[str]) -> MediaRecord:
    values = {name: getattr(row, name) for name in _RECORD_FIELDS}
    return MediaRecord(**values, type=MediaType(row.type), tags=tags, id=row.id)


_IN_BATCH = 500  # well under SQLite's 999 bound parameters of old builds


def _owner_names(key: str) -> tuple[str, set[str]] | None:
    """The folder and the names a row owning ``key`` could have: ``images/F/n.th.jpg``
    is ``n``'s thumb, or the image of an item named ``n.th`` (names may hold dots)."""
    folder, _, filename = key.removeprefix("images/").rpartition("/")
    if not key.startswith("images/") or not folder:
        return None
    stem = filename.rpartition(".")[0] or filename
    names = {stem}
    for variant in Variant:
        if variant.value and stem.endswith(variant.value):
            names.add(stem.removesuffix(variant.value))
    return folder, names


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


class SqlMediaRepo(SqlRepo):
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

    async def owned_keys(self, keys: Collection[str]) -> set[str]:
        wanted = set(keys)
        by_folder: dict[str, set[str]] = defaultdict(set)
        for key in wanted:
            parsed = _owner_names(key)
            if parsed is not None:
                by_folder[parsed[0]].update(parsed[1])

        def work(session: Session) -> set[str]:
            owned: set[str] = set()
            for folder, names in by_folder.items():
                ordered = sorted(names)
                for at in range(0, len(ordered), _IN_BATCH):
                    batch = ordered[at : at + _IN_BATCH]
                    rows = session.exec(
                        select(MediaRow)
                        .where(MediaRow.folder == folder)
                        .where(col(MediaRow.name).in_(batch))
                    )
                    for row in rows:
                        keys_of_row = _to_record(row, []).blob_keys()
                        owned.update(k for k in keys_of_row if k in wanted)
            return owned

        return await self._run(work) if by_folder else set()

    async def set_chain(self, media_id: int, chain: int) -> bool:
        def work(session: Session) -> bool:
            result = session.exec(
                update(MediaRow).where(col(MediaRow.id) == media_id).values(chain=chain)
            )
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

    async def claim_expired(self, now: datetime, limit: int) -> Sequence[MediaRecord]:
        def work(session: Session) -> list[MediaRecord]:
            # PostgreSQL: SKIP LOCKED hands racing replicas disjoint batches, none waits.
            # SQLite renders no lock clause, and the driver runs this SELECT before its
            # write transaction begins, so two claimers can pick the same rows there: the
            # DELETE's RETURNING, not the SELECT, says which rows this claim took.
            rows = list(
                session.exec(
                    select(MediaRow)
                    .where(col(MediaRow.expiration_gmt).is_not(None))
                    .where(col(MediaRow.expiration_gmt) <= now)
                    .order_by(col(MediaRow.expiration_gmt), col(MediaRow.id))
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            )
            candidates = _records(session, rows)
            taken: set[int] = set()
            ids = [record.id for record in candidates if record.id is not None]
            for at in range(0, len(ids), _IN_BATCH):
                batch = ids[at : at + _IN_BATCH]
                session.exec(delete(MediaTagRow).where(col(MediaTagRow.media_id).in_(batch)))
                gone = session.exec(
                    delete(MediaRow).where(col(MediaRow.id).in_(batch)).returning(col(MediaRow.id))
                )
                taken.update(media_id for (media_id,) in gone)
            return [record for record in candidates if record.id in taken]

        return await self._run(work)
