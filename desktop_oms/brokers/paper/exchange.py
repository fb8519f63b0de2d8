"""The simulated exchange: the book, its rules, its prices and its matching passes.

`SimulatedExchange` is what the paper broker trades with. It holds the book
(`PaperState`), the instruments it lists, the matching rules and the last prices, and
turns every request into events: the exchange checks and margin of `rules`, the fills
of `matching`, ids it allocates itself. Events reach the book only through the store's
`commit` (journal first, then the book), which returns the updates to push; the
exchange never publishes anything itself, the broker does once its caller may hear.

Every method takes the book's lock (requests come from the event loop, prices may come
from other threads). Times come from the configured clock; trading days are IST days.

Index derivatives: with a `PriceDeriver` (the paper F&O listing of marketdata, injected by
whoever composes the broker), a new price of an index prices its futures and options too,
in the same batch: their last prices, ticks with bid/ask, volume and open interest, and
the matching pass of their orders. Derived prices are not journaled (they follow from the
index's, which is): a reopened exchange derives them again from its indices.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Protocol

from desktop_oms.brokers.errors import BrokerRejected, OrderNotFoundAtBroker
from desktop_oms.brokers.paper.depth import DepthBook
from desktop_oms.brokers.paper.gtt import check_gtt, gtt_to_json, modified_gtt, new_gtt
from desktop_oms.brokers.paper.margin_book import MarginBook
from desktop_oms.brokers.paper.matching import (
    CancelRest,
    Execute,
    MatchingRules,
    Protect,
    Trigger,
    protected_price,
)
from desktop_oms.brokers.paper.matching import match as match_order
from desktop_oms.brokers.paper.records import PaperOrder
from desktop_oms.brokers.paper.rules import (
    MAX_MODIFICATIONS,
    OrderTerms,
    check_funds,
    check_mis_cutoff,
    check_new_order,
    check_price_band,
    check_terms,
    circuit_limits,
    label,
    modified_terms,
)
from desktop_oms.brokers.paper.state import JOURNAL_FORMAT, JOURNAL_VERSION, PaperState
from desktop_oms.brokers.port import BrokerUpdate, InstrumentCatalog
from desktop_oms.domain import (
    Instrument,
    MarketQuote,
    Order,
    OrderReport,
    OrderStatus,
    OrderType,
    PositionReport,
    Product,
    TradeReport,
    Validity,
    Variety,
)
from desktop_oms.domain.gtt import Gtt, GttRequest, GttStatus, fired_leg
from desktop_oms.domain.margin import order_margin
from desktop_oms.domain.market import Funds, Tick
from desktop_oms.domain.money import to_decimal
from desktop_oms.infra.clock import IST

Key = tuple[str, str]

_FINISHED_WORDS = {
    OrderStatus.FILLED: "complete",
    OrderStatus.CANCELLED: "cancelled",
    OrderStatus.REJECTED: "rejected",
}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class PriceDeriver(Protocol):
    """What prices an index's derivatives from the index (marketdata's PaperDerivatives).
    Called under the exchange's lock; it may list and delist instruments in the
    exchange's catalogue (new strikes, the day roll)."""

    def derive(
        self, prices: Mapping[Key, Decimal], now: datetime, *, coalesce: bool = False
    ) -> Mapping[Key, MarketQuote]:
        """Quotes of the derivatives of the indices among `prices` that changed (with
        `coalesce`, a continuous feed's: far expiries may be sent in turn)."""

    def quotes_now(self, now: datetime) -> Mapping[Key, MarketQuote]:
        """Every derivative's quote at the last index prices seen."""


class Recorder(Protocol):
    """What the exchange needs of its store (`PaperStore`): events reach the book only
    through it, and it returns the updates they make (to push once they may be heard)."""

    def commit(self, events: list[dict]) -> list[BrokerUpdate]:
        """Make the events durable, then apply them to the book."""

    def commit_prices(
        self, prices: Mapping[Key, Decimal], events: list[dict]
    ) -> list[BrokerUpdate]:
        """A price update and the events of its matching pass (none: the prices alone are
        saved now and then, without waiting for the disk)."""


def _day_floor(now: datetime) -> int:
    """The smallest order id of the IST day of `now` (Kite's ids start with yymmdd too)."""
    return int(now.astimezone(IST).strftime("%y%m%d")) * 10**13


def opening_event(funds: Decimal, seed: int | None, now: datetime) -> dict:
    """The `init` record of a new account: its cash and where its ids start.

    With a seed the ids are the same on every run (tests); without, books opened at
    different times never reuse an id.
    """
    day_floor = _day_floor(now)
    if seed is None:
        local = now.astimezone(IST)
        since_midnight = local - local.replace(hour=0, minute=0, second=0, microsecond=0)
        last_order = day_floor + (since_midnight // timedelta(microseconds=1)) * 100
        last_trade = (now - _EPOCH) // timedelta(microseconds=10)
    else:
        last_order, last_trade = day_floor, 10_000_000
    return {
        "type": "init",
        "format": JOURNAL_FORMAT,
        "version": JOURNAL_VERSION,
        "funds": str(funds),
        "last_order_id": last_order,
        "last_trade_id": last_trade,
        "at": now.isoformat(),
    }


class SimulatedExchange:
    """The paper exchange's book, checks, prices and matching. See the module docstring."""

    def __init__(
        self,
        instruments: InstrumentCatalog,
        state: PaperState,
        store: Recorder,
        *,
        rules: MatchingRules,
        clock: Callable[[], datetime],
        lock: threading.RLock,
        deriver: PriceDeriver | None = None,
        book: DepthBook | None = None,
        book_fills: bool = False,
        price_band_pct: Decimal | None = None,
        mis_cutoffs: Mapping[str, tuple] | None = None,
    ) -> None:
        self.instruments = instruments
        self.book = book  # the order book around the last price (None: no depth)
        self.book_fills = book_fills and book is not None
        self.state = state
        self._margin_book = MarginBook(
            state, lambda e, s: self.instruments.get(e, s)
        )  # used_margin, kept current
        self.rules = rules
        self.price_band_pct = price_band_pct
        self.mis_cutoffs = mis_cutoffs or {}
        self.lock = lock
        self._store = store
        self._clock = clock
        self._deriver = deriver
        self._reference_prices = instruments.last_prices()  # previous close, for ticks
        self._session: dict[Key, tuple[Decimal, Decimal, Decimal]] = {}  # open, high, low
        self._quotes: dict[Key, MarketQuote] = {}  # the last derived quote of a derivative
        self._order_alloc = 0
        self._trade_alloc = 0
        if deriver is not None:
            with lock:  # the indices' prices of a reopened book price their derivatives
                now = clock()
                indices = {}
                for key, price in state.prices.items():
                    instrument = instruments.get(*key)
                    if instrument is not None and instrument.is_index:
                        indices[key] = price
                deriver.derive(indices, now)
                for key, quote in deriver.quotes_now(now).items():
                    self._quotes[key] = quote
                    state.prices[key] = quote.last_price

    # ====================================================================================
    # Requests
    # ====================================================================================

    def accept(self, order: Order) -> tuple[str, list[BrokerUpdate]]:
        """Check a new order, add it to the book and match it once (as it enters)."""
        with self.lock:
            paper, events = self._new_order_events(order, self._clock())
            return paper.broker_order_id, self._store.commit(events)

    def _new_order_events(self, order: Order, now: datetime) -> tuple[PaperOrder, list[dict]]:
        """The events that accept a new order and match it once (BrokerRejected if the
        exchange refuses it). Nothing is committed."""
        key = (order.exchange, order.symbol)
        last = self.state.prices.get(key)
        instrument, terms = check_new_order(
            order, self.instruments.get(*key), last, now.astimezone(IST).date()
        )
        check_price_band(instrument, terms, last, self.price_band_pct)
        position = self.state.position_quantity(order.exchange, order.symbol, order.product)
        check_mis_cutoff(order, position, now, self.mis_cutoffs)
        reference = terms.price if terms.price is not None else last
        if reference is not None:  # a market order's margin: at the market price
            required = order_margin(
                instrument,
                order.product,
                order.side,
                order.quantity,
                reference,
                position,
                self._underlying_price(instrument),
            )
            check_funds(required, self._available())
        terms, protection = self._protected(terms, order.side, instrument, last)
        paper = PaperOrder(
            broker_order_id=self._next_order_id(now),
            tag=order.client_order_id,
            exchange=instrument.exchange,
            symbol=instrument.symbol,
            side=order.side,
            order_type=terms.order_type,
            product=order.product,
            validity=order.validity,
            variety=order.variety,
            quantity=terms.quantity,
            price=terms.price,
            trigger_price=terms.trigger_price,
            status=OrderStatus.TRIGGER_PENDING
            if terms.order_type.needs_trigger
            else OrderStatus.OPEN,
            placed_at=now,
            updated_at=now,
            protection_pct=protection,
        )
        events = [{"type": "accepted", "order": paper.to_json()}]
        events += self._match_events(paper, instrument, last, entering=True, now=now)
        return paper, events

    # ====================================================================================
    # GTTs (gtt.py): resting at the exchange, fired by its price passes
    # ====================================================================================

    def place_gtt(self, request: GttRequest) -> int:
        with self.lock:
            check_gtt(request, self.instruments.get(request.exchange, request.symbol))
            now = self._clock()
            gtt = new_gtt(self.state.last_gtt_id + 1, request, now)
            self._store.commit([{"type": "gtt_placed", "gtt": gtt_to_json(gtt)}])
            return gtt.gtt_id

    def modify_gtt(self, gtt_id: int, request: GttRequest) -> None:
        with self.lock:
            gtt = self._live_gtt(gtt_id, "modified")
            check_gtt(request, self.instruments.get(request.exchange, request.symbol))
            changed = modified_gtt(gtt, request, self._clock())
            self._store.commit([{"type": "gtt_modified", "gtt": gtt_to_json(changed)}])

    def delete_gtt(self, gtt_id: int) -> None:
        with self.lock:
            gtt = self._live_gtt(gtt_id, "deleted")
            event = {
                "type": "gtt_status",
                "gtt_id": gtt.gtt_id,
                "status": GttStatus.DELETED.value,
                "at": self._clock().isoformat(),
            }
            self._store.commit([event])

    def gtts(self) -> list[Gtt]:
        with self.lock:
            return list(self.state.gtts.values())

    def _live_gtt(self, gtt_id: int, verb: str) -> Gtt:
        gtt = self.state.gtts.get(gtt_id) if isinstance(gtt_id, int) else None
        if gtt is None:
            raise OrderNotFoundAtBroker(f"Couldn't find GTT {gtt_id} at the paper broker")
        if not gtt.status.is_active:
            raise BrokerRejected(
                f"GTT {gtt_id} cannot be {verb}: it is not active (status {gtt.status.value})"
            )
        return gtt

    def _gtt_events(self, keys: Iterable[Key], now: datetime) -> list[dict]:
        """Fire (or expire) the active GTTs of these instruments at their last prices."""
        keys = set(keys)
        events: list[dict] = []
        for gtt in list(self.state.gtts.values()):
            if not gtt.status.is_active or gtt.key not in keys:
                continue
            at = now.isoformat()
            if gtt.expires_at is not None and now >= gtt.expires_at:
                events.append(
                    {"type": "gtt_status", "gtt_id": gtt.gtt_id, "status": "expired", "at": at}
                )
                continue
            price = self.state.prices.get(gtt.key)
            index = fired_leg(gtt, price) if price is not None else None
            if index is None:
                continue
            leg = gtt.legs[index]
            order = Order(
                id=0,
                client_order_id=None,  # type: ignore[arg-type] - a GTT's order has no tag
                symbol=gtt.symbol,
                exchange=gtt.exchange,
                side=leg.side,
                order_type=OrderType.LIMIT,
                product=leg.product,
                validity=Validity.DAY,
                variety=Variety.REGULAR,
                quantity=leg.quantity,
                price=leg.price,
                trigger_price=None,
                status=OrderStatus.PENDING,
                created_at=now,
                updated_at=now,
            )
            result = {
                "triggered_at": str(gtt.trigger_values[index]),
                "at": at,
                "order_id": None,
                "status": "success",
                "rejection_reason": None,
            }
            try:
                paper, placed = self._new_order_events(order, now)
            except BrokerRejected as exc:
                result.update(status="failed", rejection_reason=exc.message)
                placed = []
            else:
                result["order_id"] = paper.broker_order_id
            events.append(
                {
                    "type": "gtt_status",
                    "gtt_id": gtt.gtt_id,
                    "status": GttStatus.TRIGGERED.value,
                    "at": at,
                    "leg": index,
                    "result": result,
                }
            )
            events += placed
        return events

    def modify(
        self,
        broker_order_id: str,
        quantity: int | None,
        price: Decimal | int | str | None,
        trigger_price: Decimal | int | str | None,
        order_type: OrderType | str | None,
    ) -> list[BrokerUpdate]:
        """Change an open order's terms; it re-enters the book (and may fill at once)."""
        with self.lock:
            order = self._open_order(broker_order_id, "modified")
            if order.modification_count >= MAX_MODIFICATIONS:
                raise BrokerRejected(
                    f"Maximum allowed order modifications ({MAX_MODIFICATIONS}) exceeded"
                )
            instrument = self.instruments.get(order.exchange, order.symbol)
            if instrument is None:
                raise BrokerRejected(f"Unknown instrument {label(order.exchange, order.symbol)}")
            try:
                new_type = OrderType(order_type) if order_type is not None else None
                new_price = to_decimal(price, "price") if price is not None else None
                new_trigger = (
                    to_decimal(trigger_price, "trigger price")
                    if trigger_price is not None
                    else None
                )
            except ValueError as exc:
                raise BrokerRejected(str(exc)) from None
            current = OrderTerms(order.order_type, order.quantity, order.price, order.trigger_price)
            terms = modified_terms(
                current,
                quantity=quantity,
                price=new_price,
                trigger_price=new_trigger,
                order_type=new_type,
            )
            if terms.order_type.needs_trigger and not order.order_type.needs_trigger:
                raise BrokerRejected(
                    f"An open {order.order_type.value} order cannot be changed into an {terms.order_type.value} order"
                )
            check_terms(instrument, order.side, terms)
            last = self.state.prices.get(order.key)
            check_price_band(instrument, terms, last, self.price_band_pct)
            if terms.quantity < order.filled_quantity:
                raise BrokerRejected(
                    f"Quantity cannot be less than the filled quantity ({order.filled_quantity})"
                )
            if terms.order_type is OrderType.MARKET and last is None:
                raise BrokerRejected(f"No market price for {label(order.exchange, order.symbol)}")
            terms, protection = self._protected(terms, order.side, instrument, last)
            now = self._clock()
            event = {
                "type": "modified",
                "order_id": order.broker_order_id,
                "quantity": terms.quantity,
                "price": None if terms.price is None else str(terms.price),
                "trigger_price": None if terms.trigger_price is None else str(terms.trigger_price),
                "order_type": terms.order_type.value,
                "at": now.isoformat(),
            }
            if protection is not None:
                event["protection_pct"] = str(protection)
            preview = replace(
                order,
                quantity=terms.quantity,
                price=terms.price,
                trigger_price=terms.trigger_price,
                order_type=terms.order_type,
                protection_pct=protection if protection is not None else order.protection_pct,
            )
            preview.settle_status()
            return self._store.commit(
                [event, *self._match_events(preview, instrument, last, entering=True, now=now)]
            )

    def _protected(
        self, terms: OrderTerms, side, instrument: Instrument, last: Decimal | None
    ) -> tuple[OrderTerms, Decimal | None]:
        """Kite's market protection: a MARKET order becomes a LIMIT beyond the last price
        (and says so); without protection or a last price it stays a MARKET order."""
        percent = self.rules.market_protection_pct
        if terms.order_type is not OrderType.MARKET or percent is None or last is None:
            return terms, None
        price = protected_price(side, last, instrument.tick_size, percent)
        return replace(terms, order_type=OrderType.LIMIT, price=price), percent

    def cancel(self, broker_order_id: str) -> list[BrokerUpdate]:
        with self.lock:
            order = self._open_order(broker_order_id, "cancelled")
            event = {
                "type": "cancelled",
                "order_id": order.broker_order_id,
                "message": None,
                "at": self._clock().isoformat(),
            }
            return self._store.commit([event])

    def _open_order(self, broker_order_id: str, verb: str) -> PaperOrder:
        order = self.state.orders.get(str(broker_order_id))
        if order is None:
            raise OrderNotFoundAtBroker(
                f"Couldn't find order {broker_order_id} at the paper broker"
            )
        if not order.is_active:
            raise BrokerRejected(
                f"Order cannot be {verb} as it is already {_FINISHED_WORDS[order.status]}"
            )
        return order

    # ====================================================================================
    # Prices and matching passes
    # ====================================================================================

    def set_prices(
        self,
        prices: Mapping[tuple[str, str] | str, Decimal | int | str],
        *,
        coalesce: bool = False,
    ) -> tuple[list[Tick], list[BrokerUpdate]]:
        """New last prices (keys (exchange, symbol) or "EXCHANGE:SYMBOL"): the ticks to
        push and the updates of the matching pass they cause.

        Unknown instruments raise UnknownInstrument (a KeyError); a price that is not a
        positive number raises ValueError. Nothing changes unless every entry is valid.
        """
        parsed: dict[Key, Decimal] = {}
        for key, value in prices.items():
            exchange, symbol = key.split(":", 1) if isinstance(key, str) else key
            instrument = self.instruments.require(exchange, symbol)
            price = to_decimal(value, f"price of {label(*instrument.key)}")
            if price <= 0:
                raise ValueError(f"price of {label(*instrument.key)} must be positive, got {price}")
            parsed[instrument.key] = price
        with self.lock:
            now = self._clock()
            ticks = []
            for key, price in parsed.items():
                self.state.prices[key] = price
                ticks.append(self._tick(key, price, now))
            matched: list[Key] = list(parsed)
            if self._deriver is not None:
                derived = self._deriver.derive(parsed, now, coalesce=coalesce)
                ticks += self._derived_ticks(derived, parsed, now)
                matched += derived
            events = self._run_matching(matched, now)
            if self.state.gtts:
                events += self._gtt_events(matched, now)
            return ticks, self._store.commit_prices(parsed, events)

    def match(self, exchange: str, symbol: str) -> list[BrokerUpdate]:
        """Run matching for one instrument again without a price change (partial fills)."""
        instrument = self.instruments.require(exchange, symbol)
        with self.lock:
            events = self._run_matching([instrument.key], self._clock())
            return self._store.commit(events) if events else []

    def last_price(self, exchange: str, symbol: str) -> Decimal | None:
        with self.lock:
            return self.state.prices.get((exchange.upper(), symbol.upper()))

    def last_prices(self) -> dict[Key, Decimal]:
        with self.lock:
            return dict(self.state.prices)

    def circuit_limits(self, exchange: str, symbol: str) -> tuple[Decimal, Decimal] | None:
        """(lower, upper): the prices the exchange accepts now, or None (no band)."""
        key = (exchange.upper(), symbol.upper())
        # One dict read, without the book's lock: the pre-flight asks on the event loop
        # and must never wait for the market thread pricing a whole option chain.
        last = self.state.prices.get(key)
        return circuit_limits(self.instruments.get(*key), last, self.price_band_pct)

    def _run_matching(self, keys: Iterable[Key], now: datetime) -> list[dict]:
        events: list[dict] = []
        for key in keys:
            orders = self.state.active_orders(*key)
            if not orders:
                continue
            instrument = self.instruments.get(*key)
            last = self.state.prices.get(key)
            if instrument is None or last is None:
                continue
            for order in orders:
                events += self._match_events(order, instrument, last, entering=False, now=now)
        return events

    def _match_events(
        self,
        order: PaperOrder,
        instrument: Instrument,
        last: Decimal | None,
        *,
        entering: bool,
        now: datetime,
    ) -> list[dict]:
        liquidity = None
        if self.book_fills and order.remaining > 0:
            liquidity = self.book.liquidity(instrument.key, order.side, order.remaining)
        actions = match_order(
            order,
            last,
            tick=instrument.tick_size,
            lot_size=instrument.lot_size,
            rules=self.rules,
            entering=entering,
            liquidity=liquidity,
        )
        if liquidity is not None:
            taken = [(a.price, a.quantity) for a in actions if isinstance(a, Execute)]
            if taken:
                self.book.take(instrument.key, order.side, taken)
        at = now.isoformat()
        events: list[dict] = []
        for action in actions:
            if isinstance(action, Trigger):
                events.append({"type": "triggered", "order_id": order.broker_order_id, "at": at})
            elif isinstance(action, Protect):
                events.append(
                    {
                        "type": "protected",
                        "order_id": order.broker_order_id,
                        "price": str(action.price),
                        "percent": str(action.percent),
                        "at": at,
                    }
                )
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

    def _tick(self, key: Key, price: Decimal, now: datetime) -> Tick:
        opened, high, low = self._session.get(key, (price, price, price))
        high, low = max(high, price), min(low, price)
        self._session[key] = (opened, high, low)
        depth = volume = None
        best = (None, None, None, None)
        if self.book is not None:
            instrument = self.instruments.get(*key)
            tick = instrument.tick_size if instrument is not None else Decimal("0.05")
            lot = instrument.lot_size if instrument is not None else 1
            depth, volume, best = self.book.on_price(
                key, price, tick, lot, now.astimezone(IST).date()
            )
        return self._make_tick(key, price, now, (opened, high, low), depth, volume, best)

    def _make_tick(self, key, price, now, session, depth, volume, best) -> Tick:  # noqa: ANN001
        bid, bid_quantity, ask, ask_quantity = best
        opened, high, low = session
        return Tick(
            exchange=key[0],
            symbol=key[1],
            last_price=price,
            timestamp=now,
            volume=volume,
            bid=bid,
            ask=ask,
            bid_quantity=bid_quantity,
            ask_quantity=ask_quantity,
            open=opened,
            high=high,
            low=low,
            close=self._reference_prices.get(key),
            depth=depth,
        )

    def stream_depth(self, keys) -> list[Tick]:  # noqa: ANN001
        """Ticks of these instruments carry their five levels from now on (Kite's full
        mode). Returns a tick of each new one already priced, its book as it is (Kite
        too sends the full quote at once)."""
        if self.book is None:
            return []
        with self.lock:
            now = self._clock()
            ticks = []
            for key in self.book.stream_depth([(str(e).upper(), str(s).upper()) for e, s in keys]):
                price = self.state.prices.get(key)
                snapshot = self.book.snapshot(key)
                if price is None or snapshot is None:
                    continue
                depth, volume = snapshot
                bid = depth.bids[0] if depth.bids else None
                ask = depth.asks[0] if depth.asks else None
                best = (
                    bid and bid.price,
                    bid and bid.quantity,
                    ask and ask.price,
                    ask and ask.quantity,
                )
                session = self._session.get(key, (price, price, price))
                ticks.append(self._make_tick(key, price, now, session, depth, volume, best))
            return ticks

    def _derived_ticks(
        self, quotes: Mapping[Key, MarketQuote], explicit: Mapping[Key, Decimal], now: datetime
    ) -> list[Tick]:
        """Record derived quotes as last prices and make their ticks (`_tick`, inlined:
        an index tick can price thousands of options). A price set on a derivative in the
        same batch wins over its derived one."""
        prices = self.state.prices
        session = self._session
        reference = self._reference_prices
        kept = self._quotes
        ticks = []
        for key, quote in quotes.items():
            if key in explicit:
                continue
            price = quote.last_price
            kept[key] = quote
            prices[key] = price
            day = session.get(key)
            if day is None:
                opened = high = low = price
            else:
                opened, high, low = day
                if price > high:
                    high = price
                elif price < low:
                    low = price
            session[key] = (opened, high, low)
            close = quote.close
            ticks.append(
                Tick(
                    key[0],
                    key[1],
                    price,
                    now,
                    quote.volume,
                    quote.bid,
                    quote.ask,
                    None,
                    None,
                    opened,
                    high,
                    low,
                    close if close is not None else reference.get(key),
                    {} if quote.oi is None else {"oi": quote.oi},
                )
            )
        return ticks

    def quote(self, exchange: str, symbol: str) -> MarketQuote | None:
        """The last derived quote of an index derivative (bid/ask), None for others."""
        with self.lock:
            return self._quotes.get((exchange.upper(), symbol.upper()))

    # ====================================================================================
    # Ids
    # ====================================================================================

    def _next_order_id(self, now: datetime) -> str:
        floor = _day_floor(now)
        self._order_alloc = max(self._order_alloc, self.state.last_order_id, floor) + 1
        return str(self._order_alloc)

    def _trade_event(
        self, order: PaperOrder, quantity: int, price: Decimal, multiplier: Decimal, at: str
    ) -> dict:
        self._trade_alloc = max(self._trade_alloc, self.state.last_trade_id) + 1
        return {
            "type": "trade",
            "trade_id": str(self._trade_alloc),
            "order_id": order.broker_order_id,
            "quantity": quantity,
            "price": str(price),
            "multiplier": str(multiplier),
            "at": at,
        }

    # ====================================================================================
    # The exchange acting by itself (operator controls)
    # ====================================================================================

    def _active_order(self, broker_order_id: str) -> PaperOrder:
        order = self.state.orders.get(str(broker_order_id))
        if order is None:
            raise OrderNotFoundAtBroker(
                f"Couldn't find order {broker_order_id} at the paper broker"
            )
        if not order.is_active:
            raise BrokerRejected(f"Order {broker_order_id} is already {order.status.value}")
        return order

    def fill(
        self,
        broker_order_id: str,
        quantity: int | None = None,
        price: Decimal | int | str | None = None,
    ) -> list[BrokerUpdate]:
        """Fill an open order now (default: all of what is pending, at its limit or the
        last price); the last update holds the trade."""
        with self.lock:
            order = self._active_order(broker_order_id)
            quantity = order.remaining if quantity is None else quantity
            if (
                isinstance(quantity, bool)
                or not isinstance(quantity, int)
                or not 0 < quantity <= order.remaining
            ):
                raise ValueError(
                    f"fill quantity must be between 1 and {order.remaining}, got {quantity!r}"
                )
            if price is None:
                price = order.price if order.price is not None else self.state.prices.get(order.key)
                if price is None:
                    raise ValueError(
                        f"no price to fill order {broker_order_id} at: give one or set a last price"
                    )
            price = to_decimal(price, "fill price")
            if price <= 0:
                raise ValueError(f"fill price must be positive, got {price}")
            instrument = self.instruments.get(order.exchange, order.symbol)
            multiplier = instrument.multiplier if instrument is not None else Decimal(1)
            at = self._clock().isoformat()
            events = []
            if order.order_type.needs_trigger and not order.triggered:
                events.append({"type": "triggered", "order_id": order.broker_order_id, "at": at})
            events.append(self._trade_event(order, quantity, price, multiplier, at))
            return self._store.commit(events)

    def reject(self, broker_order_id: str, message: str) -> list[BrokerUpdate]:
        """The exchange rejects an open order that has no fills yet."""
        with self.lock:
            order = self._active_order(broker_order_id)
            if order.filled_quantity:
                raise ValueError(
                    f"order {broker_order_id} has fills; a partly filled order cannot be rejected"
                )
            event = {
                "type": "rejected",
                "order_id": order.broker_order_id,
                "message": message,
                "at": self._clock().isoformat(),
            }
            return self._store.commit([event])

    def set_position(
        self,
        exchange: str,
        symbol: str,
        product: Product | str,
        quantity: int,
        average_price: Decimal | int | str,
    ) -> None:
        """The broker reports this net position (signed quantity), whatever was traded."""
        product = Product(product.upper() if isinstance(product, str) else product)
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise ValueError(f"quantity must be a whole number, got {quantity!r}")
        average = to_decimal(average_price, "average price")
        if average < 0 or (quantity and average == 0):
            raise ValueError(f"average price must be positive for an open position, got {average}")
        exchange, symbol = exchange.strip().upper(), symbol.strip().upper()
        instrument = self.instruments.get(exchange, symbol)
        multiplier = instrument.multiplier if instrument is not None else Decimal(1)
        event = {
            "type": "position_set",
            "exchange": exchange,
            "symbol": symbol,
            "product": product.value,
            "quantity": quantity,
            "average_price": str(average),
            "multiplier": str(multiplier),
            "at": self._clock().isoformat(),
        }
        with self.lock:
            self._store.commit([event])

    def set_funds(self, amount: Decimal | int | str) -> None:
        """Set the account's opening cash (realized PnL is added on top)."""
        value = to_decimal(amount, "funds")
        with self.lock:
            self._store.commit([{"type": "funds", "amount": str(value)}])

    # ====================================================================================
    # The account and the book, read
    # ====================================================================================

    def order_reports(self) -> list[OrderReport]:
        with self.lock:
            return self.state.order_reports()  # built once per order change, not per call

    def trades(self) -> list[TradeReport]:
        with self.lock:
            return list(self.state.trades)

    def position_reports(self) -> list[PositionReport]:
        with self.lock:
            return self.state.position_reports()

    def funds(self) -> Funds:
        with self.lock:
            used = self._used_margin()
            return Funds(available=self._cash() - used, used=used)

    def order_margin(self, order: Order) -> Decimal | None:
        """What accepting `order` now would block (the margin model of domain/margin.py,
        given the position it may reduce), or None without a price to value it at."""
        with self.lock:
            key = (order.exchange, order.symbol)
            reference = order.price if order.price is not None else self.state.prices.get(key)
            if reference is None:
                return None
            position = self.state.position_quantity(order.exchange, order.symbol, order.product)
            instrument = self.instruments.get(*key)
            return order_margin(
                instrument,
                order.product,
                order.side,
                order.quantity,
                reference,
                position,
                self._underlying_price(instrument),
            )

    def _underlying_price(self, instrument: Instrument | None) -> Decimal | None:
        """The last price of the index a derivative follows (None: not one, or no price)."""
        if instrument is None or instrument.underlying is None:
            return None
        return self.state.prices.get(instrument.underlying)

    def _cash(self) -> Decimal:
        return self.state.funds + self.state.realized_pnl()

    def _used_margin(self) -> Decimal:
        return self._margin_book.used()

    def _available(self) -> Decimal:
        return self._cash() - self._used_margin()
