"""Flood windows: which are counted, by key and by address, and which one speaks."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import timedelta

import pytest

from server.domain.caller import Caller, CallerKind
from server.domain.errors import Flooding
from server.services.flood import FloodGuard
from server.services.settings import UploadSettings
from tests.unit.server.fakes import T0, UploadCounts

USER = Caller(CallerKind.USER, 7, "ann")
GUEST = Caller(CallerKind.GUEST)
NO_WINDOWS = UploadSettings(
    flood_uploads_per_minute=0,
    flood_uploads_per_hour=0,
    flood_uploads_per_day=0,
    flood_uploads_per_week=0,
    flood_uploads_per_month=0,
)


def _check(counts: UploadCounts, caller: Caller, settings: UploadSettings, ip: str = "") -> None:
    asyncio.run(FloodGuard(counts).check(caller, ip, settings, T0))


@pytest.mark.parametrize(
    "caller", [Caller(CallerKind.ADMIN, 1, "root"), Caller.local_admin()], ids=["admin", "cli"]
)
def test_admins_are_never_counted(caller: Caller) -> None:
    counts = UploadCounts(by_key=10**6, by_ip=10**6)
    _check(counts, caller, UploadSettings(), ip="192.0.2.1")
    assert counts.calls == []


def test_nothing_is_counted_with_flood_protection_off_or_every_window_zero() -> None:
    counts = UploadCounts(by_key=10**6)
    _check(counts, USER, UploadSettings(flood_protection=False))
    _check(counts, USER, NO_WINDOWS)
    assert counts.calls == []


def test_each_enabled_window_is_one_moment_of_one_query_per_kind() -> None:
    counts = UploadCounts()
    settings = dataclasses.replace(NO_WINDOWS, flood_uploads_per_hour=5, flood_uploads_per_month=9)
    _check(counts, USER, settings, ip="192.0.2.1")
    by_key, by_ip = counts.calls
    assert by_key.moments == by_ip.moments == [T0 - timedelta(hours=1), T0 - timedelta(days=30)]
    assert (by_key.user_id, by_key.guest, by_key.ip) == (7, False, None)
    assert (by_ip.user_id, by_ip.guest, by_ip.ip) == (None, False, "192.0.2.1")


def test_the_guest_key_is_counted_as_one_key_and_no_address_skips_that_query() -> None:
    counts = UploadCounts()
    _check(counts, GUEST, UploadSettings())
    (call,) = counts.calls
    assert (call.user_id, call.guest, call.ip) == (None, True, None)


def test_a_limit_is_reached_at_the_count_not_above_it() -> None:
    settings = dataclasses.replace(NO_WINDOWS, flood_uploads_per_minute=3)
    _check(UploadCounts(by_key=2), USER, settings)
    with pytest.raises(Flooding, match="You can only upload 3 images per minute") as raised:
        _check(UploadCounts(by_key=3), USER, settings)
    assert raised.value.metadata == {"limit": "3", "per": "minute"}


def test_the_address_floods_even_when_the_key_does_not() -> None:
    settings = dataclasses.replace(NO_WINDOWS, flood_uploads_per_day=1)
    _check(UploadCounts(by_key=0, by_ip=1), USER, settings)  # no address: not counted
    with pytest.raises(Flooding, match="You can only upload 1 image per day"):
        _check(UploadCounts(by_key=0, by_ip=1), USER, settings, ip="192.0.2.1")


def test_the_shortest_window_over_its_limit_is_the_one_reported() -> None:
    settings = dataclasses.replace(
        NO_WINDOWS, flood_uploads_per_minute=50, flood_uploads_per_hour=4, flood_uploads_per_week=4
    )
    with pytest.raises(Flooding, match="per hour"):
        _check(UploadCounts(by_key=4), USER, settings)
