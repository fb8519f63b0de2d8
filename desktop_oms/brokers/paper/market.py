"""PaperBroker's market side: last prices in, matching passes, trades and ticks out.

`PaperMarketMixin` is a mixin of `PaperBroker` (paper.py), not a helper object. A price
update (set_last_price(s)) or `match()` runs the matching rules of `paper_matching` over
an instrument's live orders and commits the resulting trigger / trade / cancel events;
ticks carry the session's open, high and low. Order and trade ids are allocated here.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from desktop_oms.brokers.paper.matching import CancelRest, Execute, Trigger
from desktop_oms.brokers.paper.matching import match as match_order
from desktop_oms.brokers.paper.rules import label
from desktop_oms.brokers.paper.state import PaperOrder
from desktop_oms.brokers.port import BrokerUpdate
from desktop_oms.domain import Instrument, TradeReport
from desktop_oms.domain.market import Tick
from desktop_oms.domain.money import to_decimal


class PaperMarketMixin:
    """Matching and market data of `PaperBroker`: prices, matching passes, ids, ticks."""

    # -- matching -------------------------------------------------------------------------------

    def _match_events(
        self,
        order: PaperOrder,
        instrument: Instrument,
        last: Decimal | None,
        *,
        entering: bool,
        now: datetime,
    ) -> list[dict]:
        actions = match_order(
            order,
            last,
            tick=instrument.tick_size,
            lot_size=instrument.lot_size,
            rules=self.rules,
            entering=entering,
        )
        at = now.isoformat()
        events: list[dict] = []
        for action in actions:
            if isinstance(action, Trigger):
                events.append({"type": "triggered", "order_id": order.broker_order_id, "at": at})
            elif isinstance(action, Execute):
                events.append(
                    self._trade_event(
                        order, action.quantity, action.price, instrument.multiplier, at
                    )
                )
            elif isinstance(action, CancelRest):
                events.append(
                    {
                        "type": "cancelled",
                        "order_id": order.broker_order_id,
                        "message": action.message,
                        "at": at,
                    }
                )
        return events

    def _trade_event(
        self, order: PaperOrder, quantity: int, price: Decimal, multiplier: Decimal, at: str
    ) -> dict:
        self._trade_alloc = max(self._trade_alloc, self._state.last_trade_id) + 1
        return {
            "type": "trade",
            "trade_id": str(self._trade_alloc),
            "order_id": order.broker_order_id,
            "quantity": quantity,
            "price": str(price),
            "multiplier": str(multiplier),
            "at": at,
        }

    def _next_order_id(self) -> str:
        day_floor = int(datetime.now(_paper.IST).strftime("%y%m%d")) * 10**13
        self._order_alloc = max(self._order_alloc, self._state.last_order_id, day_floor) + 1
        return str(self._order_alloc)

    def _run_matching(self, keys, now: datetime) -> list[dict]:
        events: list[dict] = []
        for key in keys:
            instrument = self.instrument_store.get(*key)
            last = self._state.prices.get(key)
            if instrument is None or last is None:
                continue
            for order in self._state.active_orders(*key):
                events += self._match_events(order, instrument, last, entering=False, now=now)
        return events

    # -- market data ----------------------------------------------------------------------------

    def last_price(self, exchange: str, symbol: str) -> Decimal | None:
        with self._lock:
            return self._state.prices.get((exchange.upper(), symbol.upper()))

    def last_prices(self) -> dict[tuple[str, str], Decimal]:
        with self._lock:
            return dict(self._state.prices)

    def set_last_price(
        self, exchange: str, symbol: str, price: Decimal | int | str
    ) -> list[TradeReport]:
        """Set one instrument's last price and match its orders. Returns the new trades."""
        return self.set_last_prices({(exchange, symbol): price})

    def set_last_prices(
        self, prices: Mapping[tuple[str, str] | str, Decimal | int | str]
    ) -> list[TradeReport]:
        """Set last prices (keys (exchange, symbol) or "EXCHANGE:SYMBOL"), match, push ticks.

        Unknown instruments raise UnknownInstrument (a KeyError); a price that is not a
        positive number raises ValueError. Nothing changes unless every entry is valid.
        """
        parsed: dict[tuple[str, str], Decimal] = {}
        for key, value in prices.items():
            exchange, symbol = key.split(":", 1) if isinstance(key, str) else key
            instrument = self.instrument_store.require(exchange, symbol)
            price = to_decimal(value, f"price of {label(*instrument.key)}")
            if price <= 0:
                raise ValueError(f"price of {label(*instrument.key)} must be positive, got {price}")
            parsed[instrument.key] = price
        with self._lock:
            now = _paper._utcnow()
            ticks = []
            for key, price in parsed.items():
                self._state.prices[key] = price
                if self._journal is not None:
                    self._unsaved_prices[key] = price
                ticks.append(self._tick(key, price, now))
            events = self._run_matching(parsed, now)
            updates: list[BrokerUpdate] = []
            if events:
                updates = self._commit(events)
            elif (
                not self._broken
                and time.monotonic() - self._prices_saved_at >= _paper.PRICE_SAVE_INTERVAL_S
            ):
                self._commit([], durable=False)  # prices only: cheap, not fsync'ed
        self._publish(ticks, updates)
        return [trade for update in updates for trade in update.trades]

    def match(self, exchange: str, symbol: str) -> list[TradeReport]:
        """Run matching for one instrument again without a price change (partial fills)."""
        instrument = self.instrument_store.require(exchange, symbol)
        with self._lock:
            events = self._run_matching([instrument.key], _paper._utcnow())
            updates = self._commit(events) if events else []
        self._publish((), updates)
        return [trade for update in updates for trade in update.trades]

    def _tick(self, key: tuple[str, str], price: Decimal, now: datetime) -> Tick:
        opened, high, low = self._session.get(key, (price, price, price))
        high, low = max(high, price), min(low, price)
        self._session[key] = (opened, high, low)
        close = self._reference_prices.get(key)
        return Tick(
            exchange=key[0],
            symbol=key[1],
            last_price=price,
            timestamp=now,
            open=opened,
            high=high,
            low=low,
            close=close,
        )


# paper.py's own names (IST, the clock helpers, COMPACT_AFTER_*, PRICE_SAVE_INTERVAL_S,
# _FINISHED_WORDS) stay defined there and are read from it at call time, so patching them
# on desktop_oms.brokers.paper.broker still takes effect. Imported last: either module may load first.
from desktop_oms.brokers.paper import broker as _paper  # noqa: E402
