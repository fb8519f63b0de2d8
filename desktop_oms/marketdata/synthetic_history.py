"""Paper mode's candle history: plausible candles for the time the app did not see.

A new user's chart should look like a market at once, and a paper account's chart
should keep what the app recorded. `GeneratedHistory` is the paper `HistorySource`:

- minutes: for the last `intraday_days` calendar days, every session minute (09:15 -
  15:30 IST on NSE) that the cache does not hold is generated, joined to what is there:
  a gap between two recorded candles is a random bridge from the close before it to the
  open after it; a gap at the end runs to the instrument's last price; a gap at the
  start walks back from the first candle after it. Charts at 3m ... 1h are made from
  these minutes, so every interval shows the same market;
- days: the day candles of days that have minutes (weekends included: the paper market
  trades then too) are those minutes' candle (saved once the day is over; today's is
  made at each load); older days are a random walk back
  from the open of the oldest day with minutes.

The paths are geometric random walks (a day's volatility around 1.5 %, a wider step
overnight), candles on the instrument's tick, volumes higher at the open and the close.
The same instrument and days give the same candles (seeded by the symbol and the day),
and once saved they are the chart's history: only new gaps are ever generated.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor
from datetime import date, datetime, timedelta
from decimal import Decimal

from desktop_oms.domain.candles import Candle, Interval
from desktop_oms.infra.clock import IST, day_start
from desktop_oms.marketdata.candles import DAY_S, resample, session_open_minute
from desktop_oms.marketdata.history import CandleCache, off_loop, save_in_chunks, trading_days

__all__ = ["GeneratedHistory", "session_minutes"]

INTRADAY_DAYS = 30
_SESSION_CLOSE = {"MCX": 23 * 60 + 30, "CDS": 17 * 60, "BCD": 17 * 60}
NSE_CLOSE_MINUTE = 15 * 60 + 30


def session_minutes(exchange: str, day: date) -> range:
    """The epoch starts of the session's minutes on `day` (empty on a weekend)."""
    if day.weekday() >= 5:
        return range(0)
    midnight = int(day_start(day).timestamp())
    opens = session_open_minute(exchange)
    closes = _SESSION_CLOSE.get(exchange.upper(), NSE_CLOSE_MINUTE)
    return range(midnight + opens * 60, midnight + closes * 60, 60)


class GeneratedHistory:
    """The paper `HistorySource` (see the module docstring)."""

    def __init__(
        self,
        cache: CandleCache,
        last_price: Callable[[str, str], Decimal | None],
        tick_size: Callable[[str, str], Decimal],
        *,
        intraday_days: int = INTRADAY_DAYS,
        seed: int = 0,
        executor: Executor | None = None,
    ) -> None:
        self.executor = executor  # where the numbers are made (None: the loop's default)
        self.cache = cache
        self.last_price = last_price
        self.tick_size = tick_size
        self.intraday_days = intraday_days
        self.seed = seed
        self.generated = 0  # candles generated (tests)

    def stored_interval(self, interval: Interval) -> Interval:
        return Interval.D1 if interval is Interval.D1 else Interval.M1

    async def ensure(
        self, exchange: str, symbol: str, interval: Interval, first: date, last: date, cut: int
    ) -> None:
        today = datetime.fromtimestamp(cut, IST).date()
        horizon = today - timedelta(days=self.intraday_days - 1)
        await self._ensure_minutes(exchange, symbol, max(first, horizon), min(last, today), cut)
        if interval is Interval.D1:
            await self._ensure_days(exchange, symbol, first, horizon, today, cut)

    # ---- minutes ---------------------------------------------------------------------

    async def _ensure_minutes(
        self, exchange: str, symbol: str, first: date, last: date, cut: int
    ) -> None:
        if first > last:
            return
        held = self.cache.covered_days(exchange, symbol, Interval.M1, first, last)
        days = [d for d in trading_days(first, last) if d not in held]
        if not days:
            return
        since = int(day_start(days[0]).timestamp())
        until = min(int(day_start(days[-1] + timedelta(days=1)).timestamp()), cut)
        have = set(self.cache.starts(exchange, symbol, Interval.M1, since, until))
        wanted = [m for d in days for m in session_minutes(exchange, d) if m < cut]
        gaps = _gaps([m for m in wanted if m not in have], wanted)
        tick = self.tick_size(exchange, symbol)
        plans = []
        unanchored = False  # a gap left for want of a price: its days are not complete
        for gap in gaps:
            before = self._neighbour(exchange, symbol, gap[0], before=True)
            after = self._neighbour(exchange, symbol, gap[-1], before=False, cut=cut)
            start_price = float(before.close) if before is not None else None
            end_price = float(after.open) if after is not None else None
            if end_price is None and start_price is None:
                live = self.last_price(exchange, symbol)
                if live is None:
                    unanchored = True
                    continue  # nothing to anchor to: no history until a price is known
                end_price = float(live)
            elif end_price is None and gap[-1] + 60 >= cut:
                live = self.last_price(exchange, symbol)
                end_price = float(live) if live is not None else None
            plans.append((gap, start_price, end_price))
        # the numbers and the Decimal candles off the loop (8,000 minutes: ~0.1 s)
        made = await off_loop(self.executor, self._generate, symbol, plans, tick)
        today = datetime.fromtimestamp(cut, IST).date()
        complete = [] if unanchored else [d for d in days if d < today]
        self.generated += len(made)
        await save_in_chunks(
            self.cache, exchange, symbol, Interval.M1, made, days=complete, source="generated"
        )

    def _generate(self, symbol: str, plans: list, tick: Decimal) -> list[Candle]:
        from desktop_oms.marketdata.synthetic_paths import minute_candles  # numpy

        made: list[Candle] = []
        for gap, start_price, end_price in plans:
            made += minute_candles(self.seed, symbol, gap, start_price, end_price, tick)
        return made

    def _neighbour(
        self, exchange: str, symbol: str, minute: int, *, before: bool, cut: int | None = None
    ) -> Candle | None:
        """The held candle just before (or after) `minute`, within a week."""
        if before:
            rows = self.cache.candles(exchange, symbol, Interval.M1, minute - 7 * DAY_S, minute)
            return rows[-1] if rows else None
        until = minute + 7 * DAY_S if cut is None else min(minute + 7 * DAY_S, cut + 60)
        rows = self.cache.candles(exchange, symbol, Interval.M1, minute + 60, until)
        return rows[0] if rows else None

    # ---- days ------------------------------------------------------------------------

    async def _ensure_days(
        self, exchange: str, symbol: str, first: date, horizon: date, today: date, cut: int
    ) -> None:
        held = self.cache.covered_days(exchange, symbol, Interval.D1, first, today)
        # days with minutes: their minutes' candle (past days once, today at each load);
        # every calendar day, as the paper market trades at weekends too (the minute
        # charts show those minutes, so the day chart has their day)
        since = max(first, horizon)
        calendar = [since + timedelta(days=i) for i in range((today - since).days + 1)]
        recent = [d for d in calendar if d not in held]
        made: list[Candle] = []
        complete: list[date] = []
        open_minute = session_open_minute(exchange)
        for day in recent:
            since = int(day_start(day).timestamp())
            minutes = self.cache.candles(
                exchange, symbol, Interval.M1, since, min(since + DAY_S, cut)
            )
            if not minutes:
                continue
            made += resample(minutes, Interval.D1, open_minute)
            if day < today:
                complete.append(day)
        if made or complete:
            await save_in_chunks(
                self.cache, exchange, symbol, Interval.D1, made, days=complete, source="aggregated"
            )
        # older days: a walk back from the open of the oldest day held
        older = [d for d in trading_days(first, horizon - timedelta(days=1)) if d not in held]
        if not older:
            return
        anchor_rows = self.cache.candles(
            exchange,
            symbol,
            Interval.D1,
            int(day_start(older[-1] + timedelta(days=1)).timestamp()),
            int(day_start(today + timedelta(days=1)).timestamp()),
        )
        if anchor_rows:
            end = float(anchor_rows[0].open)
        else:
            live = self.last_price(exchange, symbol)
            if live is None:
                return
            end = float(live)
        tick = self.tick_size(exchange, symbol)
        starts = [int(day_start(d).timestamp()) for d in older]
        days = await off_loop(self.executor, _day_candles, self.seed, symbol, starts, end, tick)
        self.generated += len(days)
        await save_in_chunks(
            self.cache, exchange, symbol, Interval.D1, days, days=older, source="generated"
        )


def _gaps(missing: list[int], wanted: list[int]) -> list[list[int]]:
    """Missing minutes grouped into runs of consecutive wanted minutes."""
    position = {m: i for i, m in enumerate(wanted)}
    runs: list[list[int]] = []
    for minute in missing:
        if runs and position[minute] == position[runs[-1][-1]] + 1:
            runs[-1].append(minute)
        else:
            runs.append([minute])
    return runs


def _day_candles(seed: int, symbol: str, starts: list[int], end: float, tick: Decimal):
    from desktop_oms.marketdata.synthetic_paths import day_candles  # numpy

    return day_candles(seed, symbol, starts, end, tick)
