"""Latest quote per instrument, fed by broker ticks; changes are taken in coalesced batches."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import date, datetime
from decimal import Decimal

from desktop_oms.domain.market import Tick

log = logging.getLogger(__name__)


class QuoteCache:
    def __init__(self) -> None:
        self._ticks: dict[tuple[str, str], Tick] = {}
        self._changed: dict[tuple[str, str], Tick] = {}
        # The day's circuit limits as a quote last gave them (Kite's /quote has them, its
        # stream does not): kept across the stream's ticks.
        self._circuits: dict[tuple[str, str], tuple[Decimal, Decimal]] = {}
        self.last_tick_at: datetime | None = None
        self.tick_count = 0

    def on_ticks(self, ticks: Sequence[Tick]) -> None:
        for tick in ticks:
            key = (tick.exchange, tick.symbol)
            self._ticks[key] = tick
            self._changed[key] = tick
            extra = tick.extra
            if extra and "lower_circuit_limit" in extra and "upper_circuit_limit" in extra:
                low, high = extra["lower_circuit_limit"], extra["upper_circuit_limit"]
                if low is not None and high is not None and 0 < low <= high:
                    self._circuits[key] = (low, high)
            self.tick_count += 1
            if self.last_tick_at is None or tick.timestamp > self.last_tick_at:
                self.last_tick_at = tick.timestamp

    def set_price(self, exchange: str, symbol: str, price: Decimal, at: datetime) -> None:
        self.on_ticks([Tick(exchange=exchange, symbol=symbol, last_price=price, timestamp=at)])

    def last_price(self, exchange: str, symbol: str) -> Decimal | None:
        tick = self._ticks.get((exchange, symbol))
        return None if tick is None else tick.last_price

    def tick(self, exchange: str, symbol: str) -> Tick | None:
        return self._ticks.get((exchange, symbol))

    def circuit_limits(self, exchange: str, symbol: str) -> tuple[Decimal, Decimal] | None:
        """(lower, upper) circuit limits from the last quote that carried them, or None."""
        return self._circuits.get((exchange, symbol))

    def prices(self) -> dict[tuple[str, str], Decimal]:
        return {k: t.last_price for k, t in self._ticks.items()}

    def take_changed(self) -> dict[tuple[str, str], Tick]:
        changed, self._changed = self._changed, {}
        return changed


class QuotedCircuitLimits:
    """The day's circuit limits of an instrument as Kite's /quote gives them (its stream
    does not): the pre-trade validator's `circuit_limits` in Kite mode.

    A call answers at once from what is known (the quote cache, or a quote fetched today)
    and, for an instrument not known yet, fetches its quote in a kept task (at most once a
    minute per instrument): the pre-flight asks again as the trader types and then has
    them. Only the limits are taken from the quote (its last price may be older than the
    stream's)."""

    RETRY_S = 60.0

    def __init__(
        self,
        quotes: QuoteCache,
        fetch: Callable[[list[tuple[str, str]]], Awaitable[dict[tuple[str, str], Tick]]],
        *,
        today: Callable[[], date],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.quotes = quotes
        self.fetch = fetch
        self.today = today
        self.clock = clock
        self._known: dict[tuple[str, str], tuple[date, tuple[Decimal, Decimal]]] = {}
        self._asked: dict[tuple[str, str], float] = {}
        self._tasks: set[asyncio.Task] = set()

    def __call__(self, exchange: str, symbol: str) -> tuple[Decimal, Decimal] | None:
        key = (exchange, symbol)
        known = self._known.get(key)
        if known is not None and known[0] == self.today():
            return known[1]
        cached = self.quotes.circuit_limits(exchange, symbol)
        if cached is not None:
            return cached
        self._request(key)
        return None

    def _request(self, key: tuple[str, str]) -> None:
        now = self.clock()
        asked = self._asked.get(key)
        if asked is not None and now - asked < self.RETRY_S:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return  # no loop to fetch on: unknown, the exchange checks it anyway
        self._asked[key] = now
        task = loop.create_task(self._load(key))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _load(self, key: tuple[str, str]) -> None:
        try:
            ticks = await self.fetch([key])
        except Exception as exc:  # noqa: BLE001 - a prediction only; asked again later
            log.warning("circuit limits of %s:%s unavailable: %s", key[0], key[1], exc)
            return
        tick = ticks.get(key)
        extra = tick.extra if tick is not None else {}
        low, high = extra.get("lower_circuit_limit"), extra.get("upper_circuit_limit")
        if low is not None and high is not None and 0 < low <= high:
            self._known[key] = (self.today(), (low, high))

    async def settle(self) -> None:
        """Wait for the fetches under way (tests)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
