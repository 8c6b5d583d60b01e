"""The ``expiration`` parameter (docs/chevereto-compatibility.md §4, §10 item 9)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from server.domain.expiration import (
    MAX_SECONDS,
    MIN_SECONDS,
    PRESET_KEYS,
    resolve_expiration,
)

NOW = datetime(2024, 1, 31, 12, 0, 0, tzinfo=UTC)
FIVE_MINUTES = NOW + timedelta(seconds=MIN_SECONDS)
ONE_YEAR = NOW + timedelta(seconds=MAX_SECONDS)


def after(seconds: int) -> datetime:
    return NOW + timedelta(seconds=seconds)


def test_preset_keys_are_chevereto_table_in_order() -> None:
    assert PRESET_KEYS == (
        "PT5M", "PT15M", "PT30M", "PT1H", "PT3H", "PT6H", "PT12H",
        "P1D", "P2D", "P3D", "P4D", "P5D", "P6D",
        "P1W", "P2W", "P3W",
        "P1M", "P2M", "P3M", "P4M", "P5M", "P6M",
        "P1Y",
    )  # fmt: skip


def test_clamp_bounds_are_five_minutes_and_365_days() -> None:
    assert (MIN_SECONDS, MAX_SECONDS) == (300, 365 * 86400)


@pytest.mark.parametrize("raw", [None, ""])
def test_absent_expiration_means_no_expiry(raw: str | None) -> None:
    assert resolve_expiration(raw, NOW) is None


@pytest.mark.parametrize("raw", ["0", "000"])
def test_zero_seconds_means_no_expiry_like_an_absent_value(raw: str) -> None:
    assert resolve_expiration(raw, NOW) is None


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", FIVE_MINUTES),
        ("60", FIVE_MINUTES),
        ("299", FIVE_MINUTES),
        ("300", after(300)),
        ("301", after(301)),
        ("86400", after(86400)),
        ("31536000", ONE_YEAR),
        ("31536001", ONE_YEAR),
        ("99999999999999999999999999", ONE_YEAR),
        ("0600", after(600)),
    ],
)
def test_digits_are_seconds_clamped(raw: str, expected: datetime) -> None:
    assert resolve_expiration(raw, NOW) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1e3", after(1000)),
        ("400.9", after(400)),
        (" 600 ", after(600)),
        ("+600", after(600)),
        ("-600", FIVE_MINUTES),
        ("0.0", FIVE_MINUTES),
        ("1e999999", ONE_YEAR),
    ],
)
def test_other_php_numeric_strings_are_cast_to_int_seconds(raw: str, expected: datetime) -> None:
    assert resolve_expiration(raw, NOW) == expected


def test_unicode_digits_are_not_seconds() -> None:
    # Arabic-Indic digits are not PHP-numeric; as an unparseable duration it gets the minimum.
    assert resolve_expiration("٣٠٠٠", NOW) == FIVE_MINUTES


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("PT5M", after(300)),
        ("PT15M", after(900)),
        ("PT30M", after(1800)),
        ("PT1H", after(3600)),
        ("PT3H", after(3 * 3600)),
        ("PT6H", after(6 * 3600)),
        ("PT12H", after(12 * 3600)),
        ("P1D", after(86400)),
        ("P6D", after(6 * 86400)),
        ("P1W", after(7 * 86400)),
        ("P3W", after(21 * 86400)),
    ],
)
def test_short_presets_add_their_exact_length(raw: str, expected: datetime) -> None:
    assert resolve_expiration(raw, NOW) == expected


def test_month_presets_add_calendar_months() -> None:
    start = datetime(2024, 3, 15, 8, 30, tzinfo=UTC)
    assert resolve_expiration("P1M", start) == datetime(2024, 4, 15, 8, 30, tzinfo=UTC)
    assert resolve_expiration("P6M", start) == datetime(2024, 9, 15, 8, 30, tzinfo=UTC)


def test_month_preset_from_a_long_month_end_lands_on_the_last_day() -> None:
    # isodate clamps to the month end; PHP would overflow to 2 March.
    assert resolve_expiration("P1M", NOW) == datetime(2024, 2, 29, 12, tzinfo=UTC)


def test_year_preset_is_a_calendar_year_even_across_a_leap_day() -> None:
    # 366 days here: the preset is not clamped to 31536000 seconds.
    assert resolve_expiration("P1Y", NOW) == datetime(2025, 1, 31, 12, tzinfo=UTC)


def test_preset_lookup_is_case_sensitive() -> None:
    # "p1d" is no preset and not a valid duration either: it becomes the minimum.
    assert resolve_expiration("p1d", NOW) == FIVE_MINUTES


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("PT10M", after(600)),
        ("P10D", after(10 * 86400)),
        ("P1DT2H", after(86400 + 7200)),
        ("PT1M", FIVE_MINUTES),
        ("PT0S", FIVE_MINUTES),
        ("-P1D", FIVE_MINUTES),
        ("P2Y", ONE_YEAR),
        ("P13M", ONE_YEAR),
        ("P99999Y", ONE_YEAR),
        ("-P99999Y", FIVE_MINUTES),
        ("P10000000000D", ONE_YEAR),
        ("-P10000000000D", FIVE_MINUTES),
        ("PT999999999999999999S", ONE_YEAR),
    ],
)
def test_other_durations_go_through_seconds_and_the_clamp(raw: str, expected: datetime) -> None:
    assert resolve_expiration(raw, NOW) == expected


@pytest.mark.parametrize("raw", ["PT1.5H", "P0.5M", "P1.5Y", "P1,5D"])
def test_fractional_durations_are_unparseable_as_in_php(raw: str) -> None:
    assert resolve_expiration(raw, NOW) == FIVE_MINUTES


def test_non_preset_months_count_from_now() -> None:
    # P7M from 31 January: 31 Aug 2024 is 213 days ahead.
    assert resolve_expiration("P7M", NOW) == datetime(2024, 8, 31, 12, tzinfo=UTC)


@pytest.mark.parametrize("raw", ["garbage", "P", "1 day", "tomorrow", "PT", "P1X", "\x00"])
def test_unparseable_strings_become_five_minutes(raw: str) -> None:
    assert resolve_expiration(raw, NOW) == FIVE_MINUTES


def test_result_is_never_less_than_five_minutes_ahead() -> None:
    for raw in ["1", "PT5M", "PT1S", "-PT1H", "nonsense", "300"]:
        result = resolve_expiration(raw, NOW)
        assert result is not None
        assert result - NOW >= timedelta(minutes=5)


def test_result_is_utc_even_when_now_is_another_zone() -> None:
    santiago = timezone(timedelta(hours=-3))
    local_now = NOW.astimezone(santiago)
    result = resolve_expiration("PT1H", local_now)
    assert result is not None
    assert result.utcoffset() == timedelta(0)
    assert result == NOW + timedelta(hours=1)


def test_result_is_utc_for_utc_now() -> None:
    result = resolve_expiration("P1D", NOW)
    assert result is not None
    assert result.tzinfo is UTC


def test_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        resolve_expiration("P1D", datetime(2024, 1, 1))
