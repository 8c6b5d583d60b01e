"""UploadCounts: for each moment, the uploads since then (inclusive) of one key or address."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.contract.backends import T0, Repos, media_record

pytestmark = pytest.mark.asyncio

MINUTE = timedelta(minutes=1)


async def _upload(repos: Repos, at: int, user_id: int | None = None, ip: str | None = None) -> None:
    """One upload ``at`` minutes after T0."""
    record = media_record(at, date_gmt=T0 + at * MINUTE, user_id=user_id, uploader_ip=ip)
    await repos.media.add(record)


async def test_each_moment_counts_the_uploads_at_or_after_it(repos: Repos) -> None:
    ann = await repos.users.create_user("ann", False, T0)
    for at in (0, 1, 1, 5):
        await _upload(repos, at, user_id=ann.id)
    moments = [T0 + m * MINUTE for m in (6, 5, 2, 1, 0, -60)]
    assert await repos.counts.counts_since(moments, user_id=ann.id) == [0, 1, 1, 3, 4, 4]


async def test_a_users_count_leaves_out_other_users_and_guests(repos: Repos) -> None:
    ann = await repos.users.create_user("ann", False, T0)
    bob = await repos.users.create_user("bob", False, T0)
    await _upload(repos, 0, user_id=ann.id)
    await _upload(repos, 0, user_id=bob.id)
    await _upload(repos, 0, user_id=bob.id)
    await _upload(repos, 0)
    assert await repos.counts.counts_since([T0], user_id=ann.id) == [1]
    assert await repos.counts.counts_since([T0], user_id=bob.id) == [2]
    assert await repos.counts.counts_since([T0], guest=True) == [1]
    assert await repos.counts.counts_since([T0]) == [4]


async def test_an_address_counts_every_key_that_uploaded_from_it(repos: Repos) -> None:
    ann = await repos.users.create_user("ann", False, T0)
    await _upload(repos, 0, user_id=ann.id, ip="192.0.2.1")
    await _upload(repos, 1, ip="192.0.2.1")
    await _upload(repos, 1, ip="192.0.2.2")
    await _upload(repos, 2)
    assert await repos.counts.counts_since([T0, T0 + MINUTE], ip="192.0.2.1") == [2, 1]
    assert await repos.counts.counts_since([T0], ip="2001:db8::1") == [0]


async def test_filters_combine(repos: Repos) -> None:
    ann = await repos.users.create_user("ann", False, T0)
    await _upload(repos, 0, user_id=ann.id, ip="192.0.2.1")
    await _upload(repos, 0, user_id=ann.id, ip="192.0.2.2")
    await _upload(repos, 0, ip="192.0.2.1")
    assert await repos.counts.counts_since([T0], user_id=ann.id, ip="192.0.2.1") == [1]
    assert await repos.counts.counts_since([T0], guest=True, ip="192.0.2.1") == [1]
    assert await repos.counts.counts_since([T0], guest=True, ip="192.0.2.2") == [0]


async def test_no_uploads_count_zero_for_every_window(repos: Repos) -> None:
    moments = [T0 - d * MINUTE for d in (1, 60, 1440)]
    assert await repos.counts.counts_since(moments, guest=True) == [0, 0, 0]


async def test_deleted_uploads_no_longer_count(repos: Repos) -> None:
    record = await repos.media.add(media_record(1, date_gmt=T0, uploader_ip="192.0.2.1"))
    assert record.id is not None
    await repos.media.delete(record.id)
    assert await repos.counts.counts_since([T0], ip="192.0.2.1") == [0]
