"""KiteBroker's historical candles (`historical_data`), within Kite's limits.

Kite answers one request for at most so many days of candles, by interval (minute 60
days, 3- and 5-minute 100, 15-minute 200, hourly 400, day 2,000) and at most 3
historical requests a second. `historical_candles` splits a range into requests within
the day limit, paces them through their own 3/s limiter (a 429 is retried by the read
plumbing) and returns domain Candles (Decimal prices, epoch-second starts), oldest first.
Times are sent as Kite reads them: IST wall-clock "YYYY-MM-DD HH:MM:SS", both ends
included.

`KiteHistoryMixin` is a mixin of `KiteBroker` (broker.py), like the market-data one: it
uses the token index (`_tokens`, filled from the instruments dump or an LTP look-up)
and `_read` (retries, session checks).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal

from desktop_oms.brokers.errors import BrokerError
from desktop_oms.brokers.kite.parsing.values import (
    IST,
    BrokerDataError,
    _int,
    _req_dec,
    iter_rows,
    parse_timestamp,
)
from desktop_oms.brokers.rate_limit import RateLimit, RateLimiter
from desktop_oms.domain.candles import Candle, Interval

__all__ = ["HISTORY_MAX_DAYS", "KITE_HISTORY_LIMITS", "KiteHistoryMixin", "history_chunks"]

# Days of candles one historical_data request may span, per interval (Kite's limits).
HISTORY_MAX_DAYS = {
    Interval.M1: 60,
    Interval.M3: 100,
    Interval.M5: 100,
    Interval.M15: 200,
    Interval.H1: 400,
    Interval.D1: 2000,
}
KITE_HISTORY_LIMITS = (RateLimit(3, 1.0),)
_KITE_TIME = "%Y-%m-%d %H:%M:%S"
_SECOND = timedelta(seconds=1)


def history_chunks(
    since: datetime, until: datetime, interval: Interval
) -> list[tuple[datetime, datetime]]:
    """[since, until) as (from, to) pairs, both ends included as Kite reads them, none
    spanning more than the interval's day limit."""
    span = timedelta(days=HISTORY_MAX_DAYS[interval])
    chunks = []
    start = since
    while start < until:
        end = min(start + span, until)
        chunks.append((start, end - _SECOND))
        start = end
    return chunks


def candle_from_kite(row: object) -> Candle:
    """One row of historical_data (kiteconnect's dict, or Kite's raw list) as a Candle."""
    if isinstance(row, Mapping):
        at, o, h, lo, c, v = (
            row.get(k) for k in ("date", "open", "high", "low", "close", "volume")
        )
    elif isinstance(row, list | tuple) and len(row) >= 6:
        at, o, h, lo, c, v = row[:6]
    else:
        raise BrokerDataError(f"Kite sent a candle that is not a row: {row!r}")
    when = parse_timestamp(at)
    if when is None:
        raise BrokerDataError(f"Kite sent a candle without a time: {row!r}")
    try:
        return Candle(
            int(when.timestamp()),
            _price(o, "open"),
            _price(h, "high"),
            _price(lo, "low"),
            _price(c, "close"),
            _int(v, "volume", default=0),
        )
    except ValueError as exc:
        raise BrokerDataError(f"Kite sent an impossible candle: {exc}") from exc


def _price(value: object, field: str) -> Decimal:
    if isinstance(value, float):
        value = repr(value)  # Kite's JSON numbers: their shortest text, not the binary float
    return _req_dec(value, f"candle {field}")


class KiteHistoryMixin:
    """Historical candles of `KiteBroker` (see the module docstring)."""

    _history_pacer: RateLimiter | None = None

    @property
    def history_limiter(self) -> RateLimiter:
        """Historical requests: 3 a second (their own limit at Kite)."""
        if self._history_pacer is None:
            self._history_pacer = RateLimiter(
                KITE_HISTORY_LIMITS, name="historical data", sleep=self._sleep
            )
        return self._history_pacer

    async def historical_candles(
        self, exchange: str, symbol: str, interval: Interval, since: datetime, until: datetime
    ) -> list[Candle]:
        """The instrument's candles of `interval` starting in [since, until), oldest first."""
        token = await self._history_token(exchange, symbol)
        by_start: dict[int, Candle] = {}
        for start, end in history_chunks(since, until, interval):
            rows = await self._read(
                f"fetch {interval.label} candles of {exchange}:{symbol}",
                "historical_data",
                token,
                start.astimezone(IST).strftime(_KITE_TIME),
                end.astimezone(IST).strftime(_KITE_TIME),
                interval.kite_name,
                limiter=self.history_limiter,
            )
            for row in iter_rows(rows, "a candles list"):
                candle = candle_from_kite(row)
                by_start[candle.start] = candle
        low, high = since.timestamp(), until.timestamp()
        return [by_start[s] for s in sorted(by_start) if low <= s < high]

    async def _history_token(self, exchange: str, symbol: str) -> int:
        key = (exchange.upper(), symbol)
        token = self._tokens.get(key)
        if token is None:
            await self.ltp([key])  # indexes the token of what it quotes
            token = self._tokens.get(key)
        if token is None:
            raise BrokerError(f"Kite knows no instrument {exchange}:{symbol}")
        return token
