"""A seedable random-walk market that feeds the paper broker in paper mode.

Each instrument follows a geometric random walk: every step multiplies a hidden "fair"
price by exp(sigma * z) with z standard normal and sigma = volatility_bps / 10,000; the
published last price is the fair price rounded to the instrument's tick (never below one
tick). Keeping the unrounded fair price means small moves accumulate instead of being
rounded away on low-priced instruments.

Prices start from the broker's last known price (a restarted paper account continues
where it was), else from the instruments file's last price; instruments with neither
are left out. With the same seed, symbols and start prices, the path is the same.

What walks (by default): the indices (NIFTY 50, SENSEX, ...; not tradable, but their
spot drives their futures and options) and every tradable instrument that is not an
index derivative. The derivatives follow their index at the paper exchange (priced from
it in the same batch), so a step of all indices is one repricing of every chain.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
from collections.abc import Sequence
from decimal import Decimal
from typing import Protocol

from desktop_oms.domain.money import round_to_tick

log = logging.getLogger(__name__)

Key = tuple[str, str]


class PriceTaker(Protocol):
    """What the market feeds: the paper exchange (its instruments, the prices it has, and
    a batch of new last prices)."""

    instrument_store: object

    def last_prices(self) -> dict[Key, Decimal]: ...

    def set_last_prices(self, prices: dict[Key, Decimal], *, coalesce: bool = False) -> None:
        """New last prices; `coalesce`: from a continuous feed (far option expiries may
        follow their index in turn rather than at every tick)."""


def walks(instrument) -> bool:
    """What the market moves itself: the indices and what is traded on its own price.
    An index derivative (it names the index it follows) is priced from that index by the
    paper exchange, never walked."""
    if instrument.is_index:
        return True
    return instrument.tradable and instrument.underlying is None


class SimulatedMarket:
    def __init__(
        self,
        broker: PriceTaker,
        symbols: Sequence[tuple[str, str]] | None = None,
        seed: int | None = None,
        interval_s: float = 0.25,
        volatility_bps: float = 3.0,
    ) -> None:
        if not interval_s > 0:
            raise ValueError("interval_s must be positive")
        if not volatility_bps >= 0:
            raise ValueError("volatility_bps must not be negative")
        self.broker = broker
        self.interval_s = float(interval_s)
        self.volatility_bps = float(volatility_bps)
        self._random = random.Random(seed)
        self._task: asyncio.Task | None = None
        self.error: BaseException | None = None
        store = broker.instrument_store
        if symbols is None:
            keys = [i.key for i in store if walks(i)]
        else:
            keys = [store.require(exchange, symbol).key for exchange, symbol in symbols]
        known = broker.last_prices()
        listed = store.last_prices()
        self._ticks: dict[Key, Decimal] = {}
        self._fair: dict[Key, float] = {}
        self._last: dict[Key, Decimal] = {}
        self._indices: set[Key] = set()
        for key in keys:
            start = known.get(key) or listed.get(key)
            if start is None:
                log.info("simulated market: no start price for %s:%s, left out", *key)
                continue
            instrument = store.require(*key)
            if instrument.is_index:
                self._indices.add(key)
            tick = instrument.tick_size
            if tick <= 0:  # Kite lists indices with no tick: their values have 2 decimals
                tick = Decimal("0.01")
            self._ticks[key] = tick
            self._fair[key] = float(start)
            self._last[key] = self._publishable(start, tick)

    @property
    def symbols(self) -> list[Key]:
        return list(self._fair)

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def task(self) -> asyncio.Task | None:
        return self._task

    def prices(self) -> dict[Key, Decimal]:
        """The prices last published (or about to be, before the first step)."""
        return dict(self._last)

    @staticmethod
    def _publishable(value: Decimal | float, tick: Decimal) -> Decimal:
        price = round_to_tick(
            Decimal(repr(float(value))) if isinstance(value, float) else value, tick
        )
        return price if price > 0 else tick

    def next_prices(self) -> dict[Key, Decimal]:
        """Move every symbol one step (without publishing)."""
        sigma = self.volatility_bps / 10_000
        for key in self._fair:
            z = self._random.gauss(0.0, 1.0)
            self._fair[key] *= math.exp(sigma * z)
            self._last[key] = self._publishable(self._fair[key], self._ticks[key])
        return dict(self._last)

    def step(self) -> dict[Key, Decimal]:
        """Move every symbol one step and send the batch to the broker. Returns the batch."""
        batch = self.next_prices()
        if batch:
            self.broker.set_last_prices(batch)
        return batch

    def publish_current(self) -> dict[Key, Decimal]:
        """Send the current prices to the broker without moving them."""
        batch = dict(self._last)
        if batch:
            self.broker.set_last_prices(batch)
        return batch

    async def start(self) -> None:
        """Publish the starting prices, then step every interval in a background task."""
        if self.running:
            return
        self.error = None
        self.publish_current()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="simulated-market")

    async def stop(self) -> None:
        """Cancel the feed and wait for it. A failure was logged when it happened (see .error)."""
        task, self._task = self._task, None
        if task is None:
            return
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None and current.cancelling():
                raise  # stop() itself is being cancelled
        except Exception:
            pass  # already logged by _run and kept in self.error

    async def step_spread(self) -> dict[Key, Decimal]:
        """`step`, published as several batches with a loop turn between them: each index
        alone (its futures and options are priced with it at the paper exchange, the far
        expiries in turn: `coalesce`), the rest together, so repricing every chain never
        holds the loop in one piece."""
        batch = self.next_prices()
        rest = {}
        for key, price in batch.items():
            if key in self._indices:
                self.broker.set_last_prices({key: price}, coalesce=True)
                await asyncio.sleep(0)
            else:
                rest[key] = price
        if rest:
            self.broker.set_last_prices(rest)
        return batch

    async def _run(self) -> None:
        try:
            while True:
                await asyncio.sleep(self.interval_s)
                await self.step_spread()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            self.error = exc
            log.exception("simulated market stopped: a price step failed")
            raise
