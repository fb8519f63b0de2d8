"""Candles from ticks, candles of one interval from another, and the chart's indicators.

Pure (no I/O, no Qt). Times are epoch seconds (UTC); the buckets are IST:

- an intraday candle's bucket counts from the exchange's session open (09:15 IST on
  NSE/BSE and their F&O segments, 09:00 on MCX and the currency segments), as Kite's
  historical candles do: hourly candles start 09:15, 10:15, ..., 15:15 on NSE;
- a day candle is the IST calendar day.

Gaps stay gaps: a minute without a tick has no candle (the chart draws candles side by
side, so a quiet minute or a night leaves no hole). Volume is what traded inside the
candle: streams give the day's cumulative volume, which `VolumeCounter` turns into the
quantity traded since the tick before.

`CandleBuilder` keeps the forming candle of one instrument at one interval and hands
back each candle as it closes; `resample` makes 3-minute, 5-minute, ... candles from
1-minute ones with the same boundaries. The chart's numpy columns and indicators are in
candle_series.py (numpy is not imported on the way to the first window).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from decimal import Decimal

from desktop_oms.domain.candles import Candle, Interval

__all__ = [
    "DAY_S",
    "IST_OFFSET_S",
    "CandleBuilder",
    "VolumeCounter",
    "bucket_start",
    "ist_day",
    "resample",
    "session_open_minute",
]

IST_OFFSET_S = 19_800  # +05:30
DAY_S = 86_400
# Minutes after IST midnight at which each exchange's session (and its candles) starts.
_SESSION_OPEN = {"MCX": 9 * 60, "CDS": 9 * 60, "BCD": 9 * 60}
NSE_OPEN_MINUTE = 9 * 60 + 15


def session_open_minute(exchange: str) -> int:
    """Minutes after IST midnight at which the exchange's intraday candles start."""
    return _SESSION_OPEN.get(exchange.upper(), NSE_OPEN_MINUTE)


def ist_day(epoch: float) -> int:
    """The IST calendar day of an epoch second, as days since 1970-01-01."""
    return int((epoch + IST_OFFSET_S) // DAY_S)


def bucket_start(epoch: float, interval: Interval, open_minute: int = NSE_OPEN_MINUTE) -> int:
    """Where the candle holding `epoch` starts (epoch seconds)."""
    local = int(math.floor(epoch)) + IST_OFFSET_S
    midnight = local - local % DAY_S
    if interval is Interval.D1:
        return midnight - IST_OFFSET_S
    anchor = midnight + open_minute * 60
    step = interval.seconds
    return anchor + ((local - anchor) // step) * step - IST_OFFSET_S


class VolumeCounter:
    """Cumulative day volumes (as streams send them) into what traded since the last tick
    of the same instrument. The first tick of an instrument counts nothing (what traded
    before it is not known); a cumulative volume that goes down is a new day."""

    __slots__ = ("_last",)

    def __init__(self) -> None:
        self._last: dict[tuple[str, str], int] = {}

    def traded(self, key: tuple[str, str], cumulative: int | None) -> int:
        if cumulative is None:
            return 0
        last = self._last.get(key)
        self._last[key] = cumulative
        if last is None:
            return 0
        if cumulative < last:
            return cumulative  # the day started again
        return cumulative - last


class CandleBuilder:
    """The forming candle of one instrument at one interval, from its trades.

    `add(epoch, price, volume)` returns the candle that closed when this trade fell into
    a later bucket (else None). `forming` is the candle being built (None before the
    first trade); `seed(candle)` continues a candle from history when the first trade
    falls into its bucket; `close_by(epoch)` closes it once the clock has passed its
    bucket with no trade since. A trade older than the forming candle's bucket, or than
    one closed by the clock (a late tick), adds only its volume (to the next candle): a
    closed candle is never reopened, the close is the latest trade.
    """

    __slots__ = (
        "interval", "open_minute", "_start", "_floor",
        "_open", "_high", "_low", "_close", "_volume",
    )  # fmt: skip

    def __init__(self, interval: Interval, open_minute: int = NSE_OPEN_MINUTE) -> None:
        self.interval = interval
        self.open_minute = open_minute
        self._start: int | None = None
        self._floor = 0  # buckets before this are closed (by the clock: `close_by`)
        self._open = self._high = self._low = self._close = Decimal(0)
        self._volume = 0

    @property
    def forming(self) -> Candle | None:
        if self._start is None:
            return None
        return Candle(self._start, self._open, self._high, self._low, self._close, self._volume)

    @property
    def forming_start(self) -> int | None:
        return self._start

    def seed(self, candle: Candle) -> None:
        """Continue `candle` (the last one history gave) as the forming candle."""
        self._start = candle.start
        self._open, self._high, self._low, self._close = (
            candle.open,
            candle.high,
            candle.low,
            candle.close,
        )
        self._volume = candle.volume

    def close_by(self, epoch: float) -> Candle | None:
        """The forming candle, closed, if its bucket ended by `epoch` (no trade has come
        since it ended: the clock closes it); else None and nothing changes."""
        start = self._start
        if start is None or epoch < start + self.interval.seconds:
            return None
        closed = self.forming
        self._floor = start + self.interval.seconds
        self._start = None
        self._volume = 0
        return closed

    def add(self, epoch: float, price: Decimal, volume: int = 0) -> Candle | None:
        start = self._start
        if start is not None and start <= epoch < start + self.interval.seconds:
            if price > self._high:
                self._high = price
            elif price < self._low:
                self._low = price
            self._close = price
            self._volume += volume
            return None
        bucket = bucket_start(epoch, self.interval, self.open_minute)
        if (start is not None and bucket < start) or bucket < self._floor:
            self._volume += volume  # a late tick: never reopen a candle
            return None
        closed = self.forming
        carried = self._volume if start is None else 0  # late volume after a close_by
        self._start = bucket
        self._open = self._high = self._low = self._close = price
        self._volume = volume + carried
        return closed


def resample(
    candles: Iterable[Candle], interval: Interval, open_minute: int = NSE_OPEN_MINUTE
) -> list[Candle]:
    """Candles of `interval` from shorter ones (in time order), on the same boundaries."""
    out: list[Candle] = []
    current: list = []  # start, open, high, low, close, volume
    for c in candles:
        bucket = bucket_start(c.start, interval, open_minute)
        if current and current[0] == bucket:
            if c.high > current[2]:
                current[2] = c.high
            if c.low < current[3]:
                current[3] = c.low
            current[4] = c.close
            current[5] += c.volume
            continue
        if current:
            out.append(Candle(*current))
        current = [bucket, c.open, c.high, c.low, c.close, c.volume]
    if current:
        out.append(Candle(*current))
    return out
