"""The ``expiration`` upload parameter (docs/chevereto-compatibility.md §4; Image.php in Chevereto).

Chevereto never rejects an expiration: garbage silently becomes the shortest
allowed lifetime.  Clients rely on that leniency, so every input here maps to
a date (or to "no expiry") and nothing raises for bad input.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import isodate

# Chevereto's selectable lifetimes.  These alone are added on the calendar
# (P1M from 31 January lands at the end of February); every other value is
# converted to seconds and clamped.
_PRESET_SHORT = ("PT5M", "PT15M", "PT30M", "PT1H", "PT3H", "PT6H", "PT12H")
_PRESET_DAYS = ("P1D", "P2D", "P3D", "P4D", "P5D", "P6D", "P1W", "P2W", "P3W")
_PRESET_MONTHS = ("P1M", "P2M", "P3M", "P4M", "P5M", "P6M", "P1Y")
PRESET_KEYS: tuple[str, ...] = _PRESET_SHORT + _PRESET_DAYS + _PRESET_MONTHS

MIN_SECONDS = 300  # the shortest preset, PT5M
MAX_SECONDS = 31_536_000  # the longest preset, P1Y, counted as 365 days
MIN_AHEAD = timedelta(minutes=5)

_ZERO_DIGITS = re.compile(r"0+")
# PHP 8 is_numeric(): optional surrounding whitespace, sign, decimals, exponent.
_PHP_NUMERIC = re.compile(
    r"[ \t\n\r\v\f]*[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?[ \t\n\r\v\f]*"
)


def _clamp(seconds: int | Decimal) -> int:
    # Compare before int() so that "1e999999" never builds a huge integer.
    if seconds >= MAX_SECONDS:
        return MAX_SECONDS
    if seconds <= MIN_SECONDS:
        return MIN_SECONDS
    return int(seconds)


def _php_numeric_seconds(raw: str) -> int | None:
    """Clamped seconds for what PHP's ``is_numeric`` accepts, else None.

    PHP's ``(int)`` cast truncates toward zero ("400.9" → 400, "1e3" → 1000),
    which is what ``Decimal`` → ``int`` does for every value inside the clamp.
    """
    if not _PHP_NUMERIC.fullmatch(raw):
        return None
    return _clamp(Decimal(raw.strip(" \t\n\r\v\f")))


def _beyond_range(raw: str) -> int:
    # Too large for Python's datetime, so far past whichever end of the clamp the sign points to.
    return -MAX_SECONDS if raw.startswith("-") else MAX_SECONDS


def _duration_seconds(raw: str, now: datetime) -> int:
    """Length of an ISO-8601 duration counted from ``now``; 0 when PHP could not parse it."""
    # PHP's DateInterval has no fractional fields; isodate would accept "PT1.5H" and "P0,5M".
    if "." in raw or "," in raw:
        return 0
    try:
        duration = isodate.parse_duration(raw)
    except OverflowError:
        return _beyond_range(raw)
    except (ValueError, ArithmeticError):
        return 0
    try:
        later: datetime = now + duration
    except (ValueError, OverflowError):
        return _beyond_range(raw)
    return int((later - now).total_seconds())


def _target(raw: str, now: datetime) -> datetime:
    seconds = _php_numeric_seconds(raw)
    if seconds is not None:
        return now + timedelta(seconds=seconds)
    if raw in PRESET_KEYS:
        preset: datetime = now + isodate.parse_duration(raw)
        return preset
    return now + timedelta(seconds=_clamp(_duration_seconds(raw, now)))


def resolve_expiration(raw: str | None, now: datetime) -> datetime | None:
    """The expiry date for ``raw`` uploaded at ``now`` (aware), as aware UTC; None for no expiry.

    ``"0"`` (any all-zero digit string) means no expiry like an empty value:
    the API's ``array_filter`` drops the integer 0 before expiry is computed.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if not raw or _ZERO_DIGITS.fullmatch(raw):
        return None
    target = _target(raw, now)
    # Every branch above already lands 5 minutes out; Chevereto still enforces the
    # floor as a last guard, and so does this, in case a preset ever gets shorter.
    return max(target, now + MIN_AHEAD).astimezone(UTC)
