"""Kite tradingsymbols of index options and futures, and the expiry calendars behind them.

Kite's formats (NFO and BFO alike):

- weekly option   ``NIFTY26D0826400CE``  underlying + YY + month code + DD + strike + CE/PE;
  the month code is 1..9 for January..September and O, N, D for October..December
- monthly option  ``NIFTY26DEC26400CE``  underlying + YY + MMM + strike + CE/PE
- future          ``NIFTY26DECFUT``      underlying + YY + MMM + FUT (futures are monthly)

An option uses the monthly format when its expiry is the month's monthly expiry (the last
expiry weekday of the month, moved to the previous trading day on a holiday), the weekly
format otherwise. Strikes are written without trailing zeros (``26400``, ``152.5``): index
strikes are whole numbers; stock options can have fractional ones and parse the same way.

`ExpiryCalendar` knows which days are expiries: the weekly weekday (if the underlying has
weeklies), the last monthly weekday of each month, and the holiday rule. Weekends are never
trading days; exchange holidays are whatever set the caller passes (none by default).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
WEEKLY_MONTH_CODES = "123456789OND"
OPTION_TYPES = ("CE", "PE")
FUTURE = "FUT"

_UNDERLYING = re.compile(r"[A-Z][A-Z0-9&-]*")
# After the underlying: the expiry part and the rest.
_MONTHLY_TAIL = re.compile(r"(\d{2})(JAN|FEB|MAR|APR|MAY|JUN|JUL|AUG|SEP|OCT|NOV|DEC)(.+)")
_WEEKLY_TAIL = re.compile(r"(\d{2})([1-9OND])(\d{2})(.+)")
_STRIKE_AND_TYPE = re.compile(r"(\d+(?:\.\d+)?)(CE|PE)")


class SymbolError(ValueError):
    """Not a tradingsymbol this module can write or read."""


def format_strike(strike: Decimal | int | str) -> str:
    """A strike as Kite writes it: no exponent, no trailing zeros (26400, 152.5)."""
    try:
        value = Decimal(str(strike).strip())
    except InvalidOperation:
        raise SymbolError(f"strike {strike!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise SymbolError(f"strike {strike!r} must be a positive number")
    text = f"{value:f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _check_underlying(underlying: str) -> str:
    name = str(underlying).strip().upper()
    if not _UNDERLYING.fullmatch(name):
        raise SymbolError(f"underlying {underlying!r} is not a Kite underlying name")
    return name


def option_symbol(
    underlying: str,
    expiry: date,
    strike: Decimal | int | str,
    option_type: str,
    *,
    monthly: bool,
) -> str:
    """The Kite tradingsymbol of an option; `monthly` picks the format (see the module doc)."""
    name = _check_underlying(underlying)
    kind = str(option_type).strip().upper()
    if kind not in OPTION_TYPES:
        raise SymbolError(f"option type {option_type!r} must be CE or PE")
    yy = f"{expiry.year % 100:02d}"
    if monthly:
        expiry_part = f"{yy}{MONTHS[expiry.month - 1]}"
    else:
        expiry_part = f"{yy}{WEEKLY_MONTH_CODES[expiry.month - 1]}{expiry.day:02d}"
    return f"{name}{expiry_part}{format_strike(strike)}{kind}"


def future_symbol(underlying: str, expiry: date) -> str:
    """The Kite tradingsymbol of an index future (monthly): NIFTY26DECFUT."""
    return f"{_check_underlying(underlying)}{expiry.year % 100:02d}{MONTHS[expiry.month - 1]}FUT"


@dataclass(frozen=True, slots=True)
class ParsedSymbol:
    """What a tradingsymbol says. A monthly symbol names only the month: `day` is None and
    the date comes from the calendar (`expiry_on`)."""

    underlying: str
    instrument_type: str  # "CE", "PE" or "FUT"
    year: int
    month: int
    day: int | None
    strike: Decimal | None

    @property
    def monthly(self) -> bool:
        return self.day is None

    @property
    def is_option(self) -> bool:
        return self.instrument_type in OPTION_TYPES

    @property
    def expiry(self) -> date | None:
        """The expiry date a weekly symbol spells out; None for monthly symbols."""
        return None if self.day is None else date(self.year, self.month, self.day)

    def expiry_on(self, calendar: ExpiryCalendar) -> date:
        """The expiry date: spelled out (weekly) or the month's monthly expiry."""
        if self.day is not None:
            return date(self.year, self.month, self.day)
        return calendar.monthly_expiry(self.year, self.month)


def _strike(text: str) -> Decimal | None:
    """The strike if written as Kite writes it (not 026400, not 152.50)."""
    value = Decimal(text)
    return value if value > 0 and format_strike(value) == text else None


def _parse_tail(underlying: str, tail: str) -> ParsedSymbol | None:
    weekly = _WEEKLY_TAIL.fullmatch(tail)
    if weekly:
        yy, code, dd, rest = weekly.groups()
        match = _STRIKE_AND_TYPE.fullmatch(rest)
        strike = _strike(match.group(1)) if match else None
        if match and strike is not None:
            year, month, day = 2000 + int(yy), WEEKLY_MONTH_CODES.index(code) + 1, int(dd)
            try:
                date(year, month, day)
            except ValueError:
                return None
            return ParsedSymbol(underlying, match.group(2), year, month, day, strike)
    monthly = _MONTHLY_TAIL.fullmatch(tail)
    if monthly:
        yy, mmm, rest = monthly.groups()
        year, month = 2000 + int(yy), MONTHS.index(mmm) + 1
        if rest == FUTURE:
            return ParsedSymbol(underlying, FUTURE, year, month, None, None)
        match = _STRIKE_AND_TYPE.fullmatch(rest)
        strike = _strike(match.group(1)) if match else None
        if match and strike is not None:
            return ParsedSymbol(underlying, match.group(2), year, month, None, strike)
    return None


def parse_symbol(symbol: str, underlyings: Iterable[str] | None = None) -> ParsedSymbol:
    """Read an option or future tradingsymbol back. Raises SymbolError if it is neither.

    Names with digits (NIFTYNXT50) make a weekly symbol ambiguous on its own: pass the
    known `underlyings` and the longest one that fits wins. Without them the underlying is
    the leading run of letters (and & or -), which covers the index underlyings.
    """
    text = str(symbol).strip().upper()
    if ":" in text:
        text = text.partition(":")[2]
    if underlyings is not None:
        names = sorted({_check_underlying(u) for u in underlyings}, key=len, reverse=True)
        for name in names:
            if text.startswith(name) and len(text) > len(name):
                parsed = _parse_tail(name, text[len(name) :])
                if parsed is not None:
                    return parsed
        raise SymbolError(f"{symbol!r} is not an option or future of {', '.join(names)}")
    match = re.match(r"[A-Z&-]+", text)
    if match:
        parsed = _parse_tail(match.group(0), text[match.end() :])
        if parsed is not None:
            return parsed
    raise SymbolError(f"{symbol!r} is not a Kite option or future tradingsymbol")


# ---------------------------------------------------------------------------------------
# Expiry calendars

WEEKDAYS = ("MON", "TUE", "WED", "THU", "FRI", "SAT", "SUN")


@dataclass(frozen=True, slots=True)
class Expiry:
    day: date
    monthly: bool


@dataclass(frozen=True, slots=True)
class ExpiryCalendar:
    """Expiry days of one underlying. Weekdays are 0=Monday .. 4=Friday."""

    monthly_weekday: int
    weekly_weekday: int | None = None
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        for name, value in (("monthly", self.monthly_weekday), ("weekly", self.weekly_weekday)):
            if value is not None and not (isinstance(value, int) and 0 <= value <= 4):
                raise ValueError(
                    f"{name} expiry weekday must be 0 (Monday) .. 4 (Friday), got {value!r}"
                )
        object.__setattr__(self, "holidays", frozenset(self.holidays))

    def is_trading_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in self.holidays

    def on_or_before(self, day: date) -> date:
        """`day` if it is a trading day, else the trading day before it."""
        for _ in range(31):
            if self.is_trading_day(day):
                return day
            day -= timedelta(days=1)
        raise ValueError(f"no trading day in the month before {day}: check the holiday list")

    def monthly_expiry(self, year: int, month: int) -> date:
        """The monthly expiry of a month: its last monthly weekday, or the trading day before
        it when that is a holiday."""
        first_next = date(year + month // 12, month % 12 + 1, 1)
        last = first_next - timedelta(days=1)
        last -= timedelta(days=(last.weekday() - self.monthly_weekday) % 7)
        return self.on_or_before(last)

    def is_monthly(self, expiry: date) -> bool:
        return expiry == self.monthly_expiry(expiry.year, expiry.month)

    def monthly_expiries(self, as_of: date, count: int) -> list[date]:
        """The next `count` monthly expiries on or after `as_of` (one expiring today counts)."""
        out: list[date] = []
        year, month = as_of.year, as_of.month
        while len(out) < count:
            expiry = self.monthly_expiry(year, month)
            if expiry >= as_of:
                out.append(expiry)
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out

    def weekly_expiries(self, as_of: date, count: int) -> list[date]:
        """The next `count` weekly expiries on or after `as_of` that are not monthly ones
        (the exchange lists weeklies besides the monthly contracts)."""
        if self.weekly_weekday is None or count <= 0:
            return []
        out: list[date] = []
        # Start a week early: a holiday can move this week's expiry before its weekday.
        nominal = as_of - timedelta(days=(as_of.weekday() - self.weekly_weekday) % 7)
        while len(out) < count:
            expiry = self.on_or_before(nominal)
            if expiry >= as_of and not self.is_monthly(expiry) and expiry not in out:
                out.append(expiry)
            nominal += timedelta(days=7)
        return out

    def listed_expiries(self, as_of: date, weekly_count: int, monthly_count: int) -> list[Expiry]:
        """The option expiries open on `as_of`, nearest first (today's expiry included)."""
        monthly = set(self.monthly_expiries(as_of, monthly_count))
        weekly = set(self.weekly_expiries(as_of, weekly_count))
        return [Expiry(day, day in monthly) for day in sorted(monthly | weekly)]

    def option_symbol(
        self, underlying: str, expiry: date, strike: Decimal | int | str, option_type: str
    ) -> str:
        """The tradingsymbol, in the monthly format when `expiry` is a monthly expiry."""
        return option_symbol(
            underlying, expiry, strike, option_type, monthly=self.is_monthly(expiry)
        )


def weekday_number(name: str) -> int:
    """MON..FRI -> 0..4 (weekends are refused: nothing expires on a weekend)."""
    text = str(name).strip().upper()[:3]
    if text not in WEEKDAYS[:5]:
        raise ValueError(f"{name!r} is not a weekday (MON, TUE, WED, THU or FRI)")
    return WEEKDAYS.index(text)
