"""Latest quote per instrument, fed by broker ticks; changes are taken in coalesced batches."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from desktop_oms.domain.market import Tick


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
