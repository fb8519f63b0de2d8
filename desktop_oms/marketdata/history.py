"""The chart's candle history: the cache first, then the broker (or paper mode's
generator) for the days the cache does not hold, then the live minutes.

    history = CandleHistory(cache, source, recorder)
    load = await history.load("NSE", "RELIANCE", Interval.M5)   # HistoryLoad
    load.candles        # oldest first; complete minutes before load.cut only
    history.live("NSE", "RELIANCE", Interval.M5, load.cut)      # the recorded minutes
                                                                # since, as 5m candles
    merge_live(load.candles[-1], live)   # the last history candle continued by them

Two sources fill the cache (`HistorySource`):

- `BrokerHistory` (Kite): asks the broker's historical API for the days missing (the
  adapter splits a range into requests within Kite's per-interval day limits and paces
  them at 3 a second); complete past days are marked held, today is asked again at
  every load (it is still being made);
- paper mode's `GeneratedHistory` (synthetic_history.py): plausible candles for the
  days and minutes the app did not see, joined to what it recorded.

Where the cache ends and the recorder begins is `cut`: the start of the minute in
progress when the history was loaded. History holds only whole minutes before it; the
recorder's minutes from it on are the live part (`merge_live` joins the candle that
straddles it), so nothing is counted twice.

The days are IST days; weekends are not asked for (exchange holidays are: they come
back empty and are then marked held).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from desktop_oms.domain.candles import Candle, Interval
from desktop_oms.infra.clock import IST, day_start, utcnow
from desktop_oms.marketdata.candles import resample, session_open_minute
from desktop_oms.marketdata.recorder import CandleRecorder

__all__ = [
    "DEFAULT_DAYS",
    "BrokerHistory",
    "CandleCache",
    "CandleHistory",
    "HistoryLoad",
    "HistorySource",
    "merge_live",
    "off_loop",
    "save_in_chunks",
    "trading_days",
]

log = logging.getLogger(__name__)

# Calendar days of history a chart loads at first, per interval.
DEFAULT_DAYS = {
    Interval.M1: 7,
    Interval.M3: 15,
    Interval.M5: 30,
    Interval.M15: 60,
    Interval.H1: 180,
    Interval.D1: 730,
}

Key = tuple[str, str]


class CandleCache(Protocol):
    """Where candles are kept (storage's CandleStore)."""

    def candles(
        self, exchange: str, symbol: str, interval: Interval, since: int, until: int
    ) -> list[Candle]: ...

    def starts(
        self, exchange: str, symbol: str, interval: Interval, since: int, until: int
    ) -> list[int]: ...

    def save_candles(
        self,
        exchange: str,
        symbol: str,
        interval: Interval,
        rows: Sequence[Candle],
        *,
        days=(),
        source: str | None = None,
    ) -> int: ...

    def covered_days(
        self, exchange: str, symbol: str, interval: Interval, first: date, last: date
    ) -> dict[date, str]: ...


class HistorySource(Protocol):
    """Makes the cache hold an instrument's candles of `interval` for [first, last]
    (whole minutes before `cut` for today)."""

    def stored_interval(self, interval: Interval) -> Interval:
        """The interval the cache holds for a chart of `interval` (others are made from it)."""

    async def ensure(
        self, exchange: str, symbol: str, interval: Interval, first: date, last: date, cut: int
    ) -> None: ...


# (exchange, symbol, interval, since, until) -> candles, oldest first
Fetch = Callable[[str, str, Interval, datetime, datetime], Awaitable[list[Candle]]]


def trading_days(first: date, last: date) -> list[date]:
    """The weekdays from `first` to `last` (both included)."""
    out = []
    day = first
    while day <= last:
        if day.weekday() < 5:
            out.append(day)
        day += timedelta(days=1)
    return out


def epoch(at: datetime) -> int:
    return int(at.timestamp())


async def off_loop(executor: Executor | None, fn: Callable, *args):
    """`fn(*args)` on the history's worker thread (the loop keeps running meanwhile)."""
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(executor, functools.partial(fn, *args))


# Candles per transaction when saving many, the loop breathing between: ~5 ms each
# (2,000 held the loop ~25 ms, and a chart loading under load stacked several).
SAVE_CHUNK = 400


async def save_in_chunks(
    cache: CandleCache,
    exchange: str,
    symbol: str,
    interval: Interval,
    rows: Sequence[Candle],
    *,
    days=(),
    source: str | None = None,
) -> None:
    """Save many candles a few thousand per transaction, yielding to the loop between;
    the days are marked held with the last part (a crash before leaves them unmarked)."""
    days = list(days)
    for i in range(0, max(len(rows), 1), SAVE_CHUNK):
        part = rows[i : i + SAVE_CHUNK]
        last = i + SAVE_CHUNK >= len(rows)
        cache.save_candles(
            exchange, symbol, interval, part, days=days if last else (), source=source
        )
        if not last:
            await asyncio.sleep(0)


@dataclass(frozen=True, slots=True)
class HistoryLoad:
    """A chart's history: candles oldest first, all before `cut` (epoch seconds, the
    minute in progress at the load), and what went wrong getting more, if anything."""

    exchange: str
    symbol: str
    interval: Interval
    candles: list[Candle]
    cut: int
    problem: str | None = None


class BrokerHistory:
    """The broker's historical candles (Kite), kept in the cache per interval."""

    def __init__(self, cache: CandleCache, fetch: Fetch, *, now: Callable[[], datetime] = utcnow):
        self.cache = cache
        self.fetch = fetch
        self.now = now
        self.requests = 0  # ranges asked of the broker (tests)

    def stored_interval(self, interval: Interval) -> Interval:
        return interval

    async def ensure(
        self, exchange: str, symbol: str, interval: Interval, first: date, last: date, cut: int
    ) -> None:
        today = datetime.fromtimestamp(cut, IST).date()
        held = self.cache.covered_days(exchange, symbol, interval, first, last)
        wanted = [d for d in trading_days(first, last) if d not in held and d <= today]
        for a, b in _runs(wanted):
            since = day_start(a)
            until = min(day_start(b + timedelta(days=1)), datetime.fromtimestamp(cut, IST))
            if until <= since:
                continue
            self.requests += 1
            candles = await self.fetch(exchange, symbol, interval, since, until)
            candles = [c for c in candles if c.start < cut] if interval.intraday else candles
            complete = [d for d in trading_days(a, b) if d < today]
            await save_in_chunks(
                self.cache, exchange, symbol, interval, candles, days=complete, source="broker"
            )


def _runs(days: list[date]) -> list[tuple[date, date]]:
    """Days (ascending) grouped into runs with nothing but weekends between them."""
    runs: list[tuple[date, date]] = []
    for day in days:
        if runs:
            a, b = runs[-1]
            gap = [d for d in trading_days(b + timedelta(days=1), day - timedelta(days=1))]
            if not gap:
                runs[-1] = (a, day)
                continue
        runs.append((day, day))
    return runs


class CandleHistory:
    """The chart's candles: cache, source, recorder (see the module docstring)."""

    def __init__(
        self,
        cache: CandleCache,
        source: HistorySource,
        recorder: CandleRecorder,
        *,
        now: Callable[[], datetime] = utcnow,
        days: dict[Interval, int] | None = None,
        save_recorded: bool = False,
        executor: Executor | None = None,
    ) -> None:
        self.executor = executor or ThreadPoolExecutor(1, thread_name_prefix="candle-history")
        self.cache = cache
        self.source = source
        self.recorder = recorder
        self.now = now
        self.days = dict(DEFAULT_DAYS if days is None else days)
        self.save_recorded = save_recorded

    def watch(self, exchange: str, symbol: str) -> None:
        self.recorder.watch([(exchange, symbol)])

    def save_recorded_minutes(self) -> int:
        """Paper mode: the minutes recorded since the last call go to the cache, with the
        minutes the clock has closed (a minute with no tick after it is done: without
        this the chart's last minute would be neither in the cache nor after the cut)."""
        if not self.save_recorded:
            return 0
        self.recorder.close_minutes(self.now().timestamp())
        saved = 0
        for (exchange, symbol), minutes in self.recorder.take_unsaved().items():
            saved += self.cache.save_candles(exchange, symbol, Interval.M1, minutes)
        return saved

    async def load(
        self, exchange: str, symbol: str, interval: Interval, *, days: int | None = None
    ) -> HistoryLoad:
        """The candles of the last `days` calendar days (DEFAULT_DAYS), before `cut`."""
        now = self.now()
        cut = epoch(now) // 60 * 60
        today = now.astimezone(IST).date()
        first = today - timedelta(days=(days or self.days[interval]) - 1)
        self.save_recorded_minutes()
        problem = None
        try:
            await self.source.ensure(exchange, symbol, interval, first, today, cut)
        except Exception as exc:  # noqa: BLE001 - shown on the chart; the cache still loads
            log.warning("candle history of %s:%s (%s): %s", exchange, symbol, interval.label, exc)
            problem = f"History not available: {exc}"
        stored = self.source.stored_interval(interval)
        since = epoch(day_start(first))
        # read off the loop (SQLite readers do not block the journal's writer)
        candles = await off_loop(
            self.executor, self.cache.candles, exchange, symbol, stored, since, cut + 86_400
        )
        if stored.intraday:
            candles = [c for c in candles if c.start < cut]
        if stored is not interval:
            candles = resample(candles, interval, session_open_minute(exchange))
        return HistoryLoad(exchange, symbol, interval, candles, cut, problem)

    def close(self) -> None:
        """Release the worker thread (the app is stopping)."""
        self.executor.shutdown(wait=False, cancel_futures=True)

    def live(self, exchange: str, symbol: str, interval: Interval, cut: int) -> list[Candle]:
        """The recorded minutes from `cut` on, as candles of `interval` (forming last)."""
        return self.recorder.live(exchange, symbol, interval, cut)

    def live_complete(self, exchange: str, symbol: str, cut: int) -> bool:
        """Whether the recorder still holds every minute from `cut` (else load again)."""
        oldest = self.recorder.oldest(exchange, symbol)
        return oldest is None or oldest <= cut or not self.recorder.watching(exchange, symbol)


def merge_live(last: Candle | None, live: list[Candle]) -> list[Candle]:
    """The live candles, the first joined to the last history candle when both are the
    same bucket (history has its minutes before the cut, live those after)."""
    if last is None or not live or live[0].start != last.start:
        return list(live)
    first = live[0]
    joined = Candle(
        last.start,
        last.open,
        max(last.high, first.high),
        min(last.low, first.low),
        first.close,
        last.volume + first.volume,
    )
    return [joined, *live[1:]]
