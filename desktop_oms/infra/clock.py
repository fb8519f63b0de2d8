"""The app's one clock: India Standard Time, the trading day, and times as text.

Every time the app shows (blotter, trades, audit trail, alerts, status bar, P&L chart,
day review, exports, file names, dialogs) is IST, NSE's clock, whatever the machine's
time zone; the trading day is the IST calendar day. Internally times are aware UTC
datetimes (`storage.types.utcnow`); they become IST only here, when shown or when the
day they belong to is asked for.

IST is UTC+05:30 all year (India has no daylight saving), so a fixed offset is exact and
needs no tz database (Windows has none without the tzdata package). Standard library
only; nothing here reads the machine's zone (no `astimezone()` without an argument, no
`time.localtime`, no naive `datetime.now()`).

A naive datetime is refused (ValueError) everywhere here: the app's times are aware, and
guessing a zone for one that is not would show a wrong time without a trace.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta, timezone

__all__ = [
    "IST",
    "IST_OFFSET",
    "day_bounds",
    "day_start",
    "file_stamp",
    "format_date_time",
    "format_time",
    "now_ist",
    "to_ist",
    "trading_day",
]

IST_OFFSET = timedelta(hours=5, minutes=30)
IST = timezone(IST_OFFSET, "IST")


def utcnow() -> datetime:
    """Now, as an aware datetime in UTC (what the journal stores)."""
    return datetime.now(UTC)


def now_ist() -> datetime:
    """Now, as an aware datetime in IST."""
    return datetime.now(UTC).astimezone(IST)


def to_ist(at: datetime) -> datetime:
    """`at` (aware) in IST. Raises ValueError for a naive datetime."""
    if at.tzinfo is None or at.tzinfo.utcoffset(at) is None:
        raise ValueError(f"naive datetime {at!r}: the app's times must be timezone-aware")
    return at.astimezone(IST)


def trading_day(at: datetime | None = None) -> date:
    """The IST calendar date of `at` (now if None): the trading day it belongs to.

    18:45 UTC is 00:15 IST the next day, so a trade then belongs to the next day."""
    return (now_ist() if at is None else to_ist(at)).date()


def day_start(day: date | datetime | None = None) -> datetime:
    """Midnight IST that starts `day` (a date, the trading day of an aware datetime, or
    today), as an aware datetime."""
    if day is None or isinstance(day, datetime):
        day = trading_day(day)
    return datetime.combine(day, time(0, 0), IST)


def day_bounds(first: date, last: date | None = None) -> tuple[datetime, datetime]:
    """[00:00 IST of `first`, 00:00 IST of the day after `last`) as aware datetimes."""
    last = first if last is None else last
    if last < first:
        raise ValueError(f"the end date {last} is before the start date {first}")
    return day_start(first), day_start(last + timedelta(days=1))


def format_time(at: datetime | None, *, seconds: bool = True, millis: bool = False) -> str:
    """The IST clock time of `at`: "14:05:09" ("14:05" without seconds, "14:05:09.042"
    with milliseconds); "" for None."""
    if at is None:
        return ""
    ist = to_ist(at)
    if millis:
        return f"{ist:%H:%M:%S}.{ist.microsecond // 1000:03d}"
    return f"{ist:%H:%M:%S}" if seconds else f"{ist:%H:%M}"


def format_date_time(at: datetime | None, *, seconds: bool = True) -> str:
    """The IST date and time of `at`: "2026-05-04 14:05:09"; "" for None."""
    if at is None:
        return ""
    ist = to_ist(at)
    return f"{ist:%Y-%m-%d %H:%M:%S}" if seconds else f"{ist:%Y-%m-%d %H:%M}"


def file_stamp(at: datetime | None = None, *, seconds: bool = False) -> str:
    """An IST stamp for file names: "20260504-1405" ("20260504-140509" with seconds)."""
    ist = now_ist() if at is None else to_ist(at)
    return f"{ist:%Y%m%d-%H%M%S}" if seconds else f"{ist:%Y%m%d-%H%M}"


# A clock a component is given (tests drive time explicitly): returns an aware datetime.
Clock = Callable[[], datetime]


def is_weekday(day: date) -> bool:
    return day.weekday() < 5


def next_trading_day(day: date) -> date:
    """The next weekday after `day` (exchange holidays are not known here)."""
    nxt = day + timedelta(days=1)
    while not is_weekday(nxt):
        nxt += timedelta(days=1)
    return nxt
