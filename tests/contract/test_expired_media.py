"""ExpiredMedia: a claim deletes the rows whose expiry has come, soonest first, at most
``limit``, and returns them; racing claimers get disjoint shares of them."""

from __future__ import annotations

import asyncio
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


async def _claimed_ids(repos: Repos, hours: int, limit: int = 10) -> list[int | None]:
    return [r.id for r in await repos.expired.claim_expired(T0 + hours * HOUR, limit)]


async def test_only_what_has_expired_by_now_soonest_first(repos: Repos) -> None:
    later = await _expiring(repos, 1, 3)
    never = await _expiring(repos, 2, None)
    soonest = await _expiring(repos, 3, 1)
    now_exactly = await _expiring(repos, 4, 2)
    assert await _claimed_ids(repos, 2) == [soonest, now_exactly]
    assert await _claimed_ids(repos, 10) == [later]
    assert await _claimed_ids(repos, 10**5) == []
    assert await repos.media.get(never) is not None


async def test_the_limit_takes_the_soonest_and_leaves_the_rest(repos: Repos) -> None:
    ids = [await _expiring(repos, n, hours) for n, hours in enumerate([4, 2, 3, 1])]
    assert await _claimed_ids(repos, 10, limit=2) == [ids[3], ids[1]]
    assert await repos.media.get(ids[2]) is not None
    assert await _claimed_ids(repos, 10, limit=2) == [ids[2], ids[0]]


async def test_claimed_records_come_whole_and_their_rows_go(repos: Repos) -> None:
    media_id = await _expiring(repos, 1, 1)
    stored = await repos.media.get(media_id)
    (claimed,) = await repos.expired.claim_expired(T0 + HOUR, 10)
    assert claimed == stored
    assert claimed.tags == ["t1"]
    assert await repos.media.get(media_id) is None
    assert not await repos.media.delete(media_id)  # a delete RPC now finds nothing to do
    assert await _claimed_ids(repos, 1) == []


async def test_a_row_already_deleted_is_not_claimed(repos: Repos) -> None:
    media_id = await _expiring(repos, 1, 1)
    assert await repos.media.delete(media_id)
    assert await _claimed_ids(repos, 1) == []


async def test_nothing_is_due_before_its_time(repos: Repos) -> None:
    media_id = await _expiring(repos, 1, 1)
    assert await _claimed_ids(repos, 0) == []
    assert await repos.media.get(media_id) is not None


async def test_racing_claimers_share_out_everything_expired_once(repos: Repos) -> None:
    """Replicas sweeping at once: no record goes to two of them, none is left over."""
    expired = {await _expiring(repos, n, 1 + n % 5) for n in range(60)}
    kept = await _expiring(repos, 99, None)

    async def claimer() -> list[int | None]:
        mine: list[int | None] = []
        while batch := await repos.expired.claim_expired(T0 + 10 * HOUR, 4):
            mine.extend(r.id for r in batch)
        return mine

    shares = await asyncio.gather(*(claimer() for _ in range(4)))
    everything = [media_id for share in shares for media_id in share]
    assert sorted(everything, key=str) == sorted(expired, key=str)  # each exactly once
    assert await repos.media.get(kept) is not None
