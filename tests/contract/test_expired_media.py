"""ExpiredMedia: the records whose expiry has come, soonest first, at most ``limit``."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.contract.backends import T0, Repos, media_record

pytestmark = pytest.mark.asyncio

HOUR = timedelta(hours=1)


async def _expiring(repos: Repos, n: int, hours: int | None) -> int:
    expiration = None if hours is None else T0 + hours * HOUR
    record = await repos.media.add(media_record(n, expiration_gmt=expiration, tags=[f"t{n}"]))
    assert record.id is not None
    return record.id


async def test_only_what_has_expired_by_now_soonest_first(repos: Repos) -> None:
    later = await _expiring(repos, 1, 3)
    never = await _expiring(repos, 2, None)
    soonest = await _expiring(repos, 3, 1)
    now_exactly = await _expiring(repos, 4, 2)
    due = await repos.expired.expired(T0 + 2 * HOUR, 10)
    assert [r.id for r in due] == [soonest, now_exactly]
    assert [r.id for r in await repos.expired.expired(T0 + 10 * HOUR, 10)] == [
        soonest, now_exactly, later,
    ]  # fmt: skip
    assert never not in [r.id for r in await repos.expired.expired(T0 + 10**5 * HOUR, 10)]


async def test_the_limit_takes_the_soonest(repos: Repos) -> None:
    ids = [await _expiring(repos, n, hours) for n, hours in enumerate([4, 2, 3, 1])]
    due = await repos.expired.expired(T0 + 10 * HOUR, 2)
    assert [r.id for r in due] == [ids[3], ids[1]]


async def test_expired_records_come_whole_and_go_once_deleted(repos: Repos) -> None:
    media_id = await _expiring(repos, 1, 1)
    (due,) = await repos.expired.expired(T0 + HOUR, 10)
    assert due == await repos.media.get(media_id)
    assert due.tags == ["t1"]
    await repos.media.delete(media_id)
    assert list(await repos.expired.expired(T0 + HOUR, 10)) == []


async def test_nothing_is_due_before_its_time(repos: Repos) -> None:
    await _expiring(repos, 1, 1)
    assert list(await repos.expired.expired(T0, 10)) == []
