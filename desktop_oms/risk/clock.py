"""Time for risk decisions: India Standard Time and trading days.

IST is UTC+05:30 all year (India has no daylight saving), so a fixed offset is exact and
needs no tz database (Windows has none without the tzdata package). Every component
takes a `clock` returning an aware datetime, so tests drive time explicitly.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone

IST = timezone(timedelta(hours=5, minutes=30), "IST")

Clock = Callable[[], datetime]


def ist_now() -> datetime:
    return datetime.now(UTC).astimezone(IST)


def to_ist(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("naive datetime: risk clocks must be timezone-aware")
    return at.astimezone(IST)


def trading_day(at: datetime) -> date:
    """The IST calendar date of `at` (the day its PnL belongs to)."""
    return to_ist(at).date()


def is_weekday(day: date) -> bool:
    return day.weekday() < 5


def next_trading_day(day: date) -> date:
    """The next weekday after `day` (exchange holidays are not known here)."""
    nxt = day + timedelta(days=1)
    while not is_weekday(nxt):
        nxt += timedelta(days=1)
    return nxt
