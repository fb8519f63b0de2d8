"""The paper broker: a small simulated exchange behind the same `Broker` port as Kite.

    broker = PaperBroker(state_path=None)                      # in memory
    broker = PaperBroker(state_path=data_dir / "paper.jsonl")  # survives restarts
    broker.set_last_price("NSE", "RELIANCE", Decimal("2450"))  # drives matching

Defaults: no slippage, no latency, unlimited liquidity at the last price. A MARKET order
and a marketable LIMIT (buy at or above the last price, sell at or below) fill at once,
in full, at the last price. The matching rules are in `paper_matching`, exchange checks
and margins in `paper_rules`, the book in `paper_state`, durability in `paper_journal`.

The broker knows no prices until it is told (set_last_price(s), or a SimulatedMarket
starting from the instruments file's last prices). Persistence (state_path): every order
event is fsync'ed before the call returns; prices ride along with every write, and are
otherwise saved at most every PRICE_SAVE_INTERVAL_S (without fsync) and on close().

Pushed updates: every state change (accept, trigger, fill, modify, cancel, reject) becomes
one BrokerUpdate holding the order's report at that moment (and the trade, for a fill).
Updates of a request are delivered with `loop.call_soon` once the request has returned;
those of a price update the same way when a loop is running, else synchronously.

Test hooks (public): inject_rejection, inject_outcome_unknown, inject_unavailable (each
for the next place_order calls), fill, reject_open_order, set_position, clear_position,
set_funds, match, compact.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

from ..domain import (
    Instrument,
    Order,
    OrderReport,
    OrderStatus,
    OrderType,
    PositionReport,
    TradeReport,
    Variety,
)
from ..domain.money import to_decimal
from ..marketdata.instruments import InstrumentStore, load_bundled_instruments
from .base import BrokerUpdate, Funds, Tick, TickListener, UpdateListener
from .errors import BrokerOutcomeUnknown, BrokerRejected, BrokerUnavailable, OrderNotFoundAtBroker
from .paper_controls import Fault, PaperControls
from .paper_delivery import ListenerHub, RateLimiter
from .paper_journal import PaperJournal, PaperJournalCorrupt
from .paper_matching import CancelRest, Execute, MatchingRules, Trigger
from .paper_matching import match as match_order
from .paper_rules import (
    MAX_MODIFICATIONS,
    OrderTerms,
    check_funds,
    check_new_order,
    check_terms,
    label,
    modified_terms,
    order_margin,
    used_margin,
)
from .paper_state import (
    JOURNAL_FORMAT,
    JOURNAL_VERSION,
    PaperOrder,
    PaperState,
    PaperStateError,
    price_key,
)

__all__ = ["PaperBroker", "PaperJournalCorrupt"]

log = logging.getLogger(__name__)

IST = timezone(timedelta(hours=5, minutes=30), "IST")
COMPACT_AFTER_LINES = 5_000
COMPACT_AFTER_BYTES = 8 * 1024 * 1024
PRICE_SAVE_INTERVAL_S = 10.0
_FINISHED_WORDS = {
    OrderStatus.FILLED: "complete",
    OrderStatus.CANCELLED: "cancelled",
    OrderStatus.REJECTED: "rejected",
}


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _today() -> date:
    return datetime.now(IST).date()


class PaperBroker(PaperControls):
    """Simulated exchange implementing `desktop_oms.brokers.base.Broker`."""

    name = "paper"

    def __init__(
        self,
        state_path: Path | str | None = None,
        instruments: InstrumentStore | None = None,
        slippage_bps: Decimal | int | str = Decimal(0),
        latency_s: float = 0.0,
        max_fill_quantity: int | None = None,
        funds: Decimal | int | str = Decimal("1000000"),
        seed: int | None = None,
        requests_per_second: float | None = None,
    ) -> None:
        """
        state_path: JSON-lines journal of the book (None: in memory only).
        instruments: what can be traded (default: the bundled paper-mode file).
        slippage_bps: market orders fill this much worse than the last price (on tick).
        latency_s: each request awaits this long (order requests: half before the
            exchange acts, half after).
        max_fill_quantity: at most this many (whole lots, at least one) per order per
            matching pass; the rest fills on later price updates or `match()`.
        funds: opening cash of a new account (a persisted account keeps its own).
        seed: deterministic order and trade ids for a new account (tests).
        requests_per_second: order requests wait for a token-bucket limiter.
        """
        slippage = to_decimal(slippage_bps, "slippage_bps")
        if slippage < 0:
            raise ValueError("slippage_bps must not be negative")
        if latency_s < 0:
            raise ValueError("latency_s must not be negative")
        if max_fill_quantity is not None and (
            isinstance(max_fill_quantity, bool) or max_fill_quantity < 1
        ):
            raise ValueError("max_fill_quantity must be a positive whole number or None")
        self.instrument_store = (
            instruments if instruments is not None else load_bundled_instruments()
        )
        self._reference_prices = self.instrument_store.last_prices()  # previous close, for ticks
        self.rules = MatchingRules(slippage_bps=slippage, max_fill_quantity=max_fill_quantity)
        self.latency_s = float(latency_s)
        self.seed = seed
        self._limiter = RateLimiter(requests_per_second) if requests_per_second else None
        self._lock = threading.RLock()
        self._state = PaperState()
        self.state_path = Path(state_path) if state_path is not None else None
        self._journal = PaperJournal(self.state_path) if self.state_path is not None else None
        self._broken: str | None = None
        self._hub = ListenerHub()
        self._faults: deque[Fault] = deque()
        self._order_alloc = 0
        self._trade_alloc = 0
        self._session: dict[tuple[str, str], tuple[Decimal, Decimal, Decimal]] = {}
        self._unsaved_prices: dict[tuple[str, str], Decimal] = {}
        self._prices_saved_at = time.monotonic()
        self.subscribed: set[tuple[str, str]] = set()
        self._load(to_decimal(funds, "funds"))

    # -- start-up and persistence --------------------------------------------------------

    def _init_event(self, funds: Decimal) -> dict:
        now = datetime.now(IST)
        day_floor = int(now.strftime("%y%m%d")) * 10**13
        if self.seed is None:
            # Fresh in-memory books started at different times never reuse an id.
            since_midnight = now - now.replace(hour=0, minute=0, second=0, microsecond=0)
            last_order = day_floor + (since_midnight // timedelta(microseconds=1)) * 100
            last_trade = time.time_ns() // 10_000
        else:
            last_order, last_trade = day_floor, 10_000_000
        return {
            "type": "init",
            "format": JOURNAL_FORMAT,
            "version": JOURNAL_VERSION,
            "funds": str(funds),
            "last_order_id": last_order,
            "last_trade_id": last_trade,
            "at": _utcnow().isoformat(),
        }

    def _load(self, funds: Decimal) -> None:
        if self._journal is None:
            self._state.apply(self._init_event(funds))
            return
        records = self._journal.load()
        for line, event in records:
            try:
                self._state.apply(event)
            except PaperStateError as exc:
                raise self._journal.corrupt(line, str(exc)) from None
        if not records:
            self._commit([self._init_event(funds)])
        elif self._journal.lines > COMPACT_AFTER_LINES or (
            self._journal.lines > 1 and self._journal.size() > COMPACT_AFTER_BYTES
        ):
            self.compact()

    def compact(self) -> None:
        """Rewrite the journal as one snapshot record (done on load when it is large)."""
        with self._lock:
            if self._journal is None:
                return
            self._unsaved_prices.clear()
            self._journal.rewrite([self._state.snapshot()])

    def _commit(self, events: list[dict], durable: bool = True) -> list[BrokerUpdate]:
        """Make events durable, then apply them. Returns the updates to push.

        Prices not yet saved ride along with whatever is written.
        """
        if self._broken:
            raise BrokerUnavailable(self._broken)
        if self._journal is not None:
            if self._unsaved_prices:
                events = [self._prices_event(), *events]
            if events:
                try:
                    self._journal.append(events, durable=durable)
                except OSError as exc:
                    self._broken = (
                        f"Paper broker could not save its state ({exc}); restart the application"
                    )
                    log.exception("paper broker journal write failed")
                    raise BrokerOutcomeUnknown(self._broken) from exc
        updates = []
        for event in events:
            changed = self._state.apply(event)
            if isinstance(changed, TradeReport):
                report = self._state.report(changed.broker_order_id)
                updates.append(BrokerUpdate(orders=(report,), trades=(changed,)))
            elif isinstance(changed, PaperOrder):
                updates.append(BrokerUpdate(orders=(self._state.report(changed.broker_order_id),)))
        return updates

    # -- Broker protocol ------------------------------------------------------------------

    async def start(self) -> None:
        self._hub.loop = asyncio.get_running_loop()

    async def close(self) -> None:
        with self._lock:
            if self._journal is None:
                return
            if self._unsaved_prices and not self._broken:
                self._commit([], durable=True)
            self._journal.close()

    async def place_order(self, order: Order) -> str:
        await self._before_request(order_request=True)
        updates: list[BrokerUpdate] = []
        try:
            with self._lock:
                fault = self._faults.popleft() if self._faults else None
                if fault is not None and fault.kind == "reject":
                    raise BrokerRejected(fault.message)
                if fault is not None and fault.kind == "unavailable":
                    raise BrokerUnavailable(fault.message)
                if fault is not None and not fault.accept:
                    raise BrokerOutcomeUnknown(fault.message)
                try:
                    broker_order_id, updates = self._accept(order)
                except BrokerRejected:
                    if fault is not None:  # the response (a rejection) was lost
                        raise BrokerOutcomeUnknown(fault.message) from None
                    raise
            if fault is not None:
                if not fault.push_updates:
                    updates = []
                raise BrokerOutcomeUnknown(fault.message)
            await self._after_request()
            return broker_order_id
        finally:
            self._publish((), updates)

    async def modify_order(
        self,
        broker_order_id: str,
        *,
        quantity: int | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
        order_type: OrderType | None = None,
        variety: Variety = Variety.REGULAR,
    ) -> None:
        await self._before_request(order_request=True)
        updates: list[BrokerUpdate] = []
        try:
            with self._lock:
                updates = self._modify(broker_order_id, quantity, price, trigger_price, order_type)
            await self._after_request()
        finally:
            self._publish((), updates)

    async def cancel_order(
        self, broker_order_id: str, *, variety: Variety = Variety.REGULAR
    ) -> None:
        await self._before_request(order_request=True)
        updates: list[BrokerUpdate] = []
        try:
            with self._lock:
                order = self._open_order(broker_order_id, "cancelled")
                event = {
                    "type": "cancelled",
                    "order_id": order.broker_order_id,
                    "message": None,
                    "at": _utcnow().isoformat(),
                }
                updates = self._commit([event])
            await self._after_request()
        finally:
            self._publish((), updates)

    async def orders(self) -> list[OrderReport]:
        await self._before_request()
        with self._lock:
            return self._state.order_reports()  # built once per order change, not per call

    async def trades(self) -> list[TradeReport]:
        await self._before_request()
        with self._lock:
            return list(self._state.trades)

    async def positions(self) -> list[PositionReport]:
        await self._before_request()
        with self._lock:
            return self._state.position_reports()

    async def instruments(self) -> list[Instrument]:
        return list(self.instrument_store)

    async def funds(self) -> Funds:
        await self._before_request()
        with self._lock:
            used = self._used_margin()
            return Funds(available=self._cash() - used, used=used)

    def add_update_listener(self, listener: UpdateListener) -> None:
        self._hub.update_listeners.append(listener)

    def remove_update_listener(self, listener: UpdateListener) -> None:
        if listener in self._hub.update_listeners:
            self._hub.update_listeners.remove(listener)

    def add_tick_listener(self, listener: TickListener) -> None:
        self._hub.tick_listeners.append(listener)

    def remove_tick_listener(self, listener: TickListener) -> None:
        if listener in self._hub.tick_listeners:
            self._hub.tick_listeners.remove(listener)

    def subscribe(self, instruments: Sequence[tuple[str, str]]) -> None:
        """Recorded only: the paper broker streams ticks of every instrument it prices."""
        self.subscribed.update((str(e).upper(), str(s).upper()) for e, s in instruments)

    # -- requests ---------------------------------------------------------------------------

    async def _before_request(self, order_request: bool = False) -> None:
        if self._hub.loop is None:
            self._hub.loop = asyncio.get_running_loop()
        if order_request and self._limiter is not None:
            await self._limiter.acquire()
        if self.latency_s > 0:
            # Order requests: half the latency before the exchange acts, half after (a
            # caller that gives up in the second half leaves an order that exists).
            await asyncio.sleep(self.latency_s / 2 if order_request else self.latency_s)

    async def _after_request(self) -> None:
        if self.latency_s > 0:
            await asyncio.sleep(self.latency_s / 2)

    def _accept(self, order: Order) -> tuple[str, list[BrokerUpdate]]:
        key = (order.exchange, order.symbol)
        last = self._state.prices.get(key)
        instrument, terms = check_new_order(order, self.instrument_store.get(*key), last, _today())
        reference = terms.price if terms.price is not None else last
        if reference is not None:
            position = self._state.position_quantity(order.exchange, order.symbol, order.product)
            required = order_margin(
                instrument, order.product, order.side, order.quantity, reference, position
            )
            check_funds(required, self._cash() - self._used_margin())
        now = _utcnow()
        paper = PaperOrder(
            broker_order_id=self._next_order_id(),
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
        )
        events = [{"type": "accepted", "order": paper.to_json()}]
        events += self._match_events(paper, instrument, last, entering=True, now=now)
        return paper.broker_order_id, self._commit(events)

    def _modify(
        self,
        broker_order_id: str,
        quantity: int | None,
        price: Decimal | int | str | None,
        trigger_price: Decimal | int | str | None,
        order_type: OrderType | str | None,
    ) -> list[BrokerUpdate]:
        order = self._open_order(broker_order_id, "modified")
        if order.modification_count >= MAX_MODIFICATIONS:
            raise BrokerRejected(
                f"Maximum allowed order modifications ({MAX_MODIFICATIONS}) exceeded"
            )
        instrument = self.instrument_store.get(order.exchange, order.symbol)
        if instrument is None:
            raise BrokerRejected(f"Unknown instrument {label(order.exchange, order.symbol)}")
        try:
            new_type = OrderType(order_type) if order_type is not None else None
            new_price = to_decimal(price, "price") if price is not None else None
            new_trigger = (
                to_decimal(trigger_price, "trigger price") if trigger_price is not None else None
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
        if terms.quantity < order.filled_quantity:
            raise BrokerRejected(
                f"Quantity cannot be less than the filled quantity ({order.filled_quantity})"
            )
        last = self._state.prices.get(order.key)
        if terms.order_type is OrderType.MARKET and last is None:
            raise BrokerRejected(f"No market price for {label(order.exchange, order.symbol)}")
        now = _utcnow()
        event = {
            "type": "modified",
            "order_id": order.broker_order_id,
            "quantity": terms.quantity,
            "price": None if terms.price is None else str(terms.price),
            "trigger_price": None if terms.trigger_price is None else str(terms.trigger_price),
            "order_type": terms.order_type.value,
            "at": now.isoformat(),
        }
        preview = replace(
            order,
            quantity=terms.quantity,
            price=terms.price,
            trigger_price=terms.trigger_price,
            order_type=terms.order_type,
        )
        preview.settle_status()
        return self._commit(
            [event, *self._match_events(preview, instrument, last, entering=True, now=now)]
        )

    def _open_order(self, broker_order_id: str, verb: str) -> PaperOrder:
        order = self._state.orders.get(str(broker_order_id))
        if order is None:
            raise OrderNotFoundAtBroker(
                f"Couldn't find order {broker_order_id} at the paper broker"
            )
        if not order.is_active:
            raise BrokerRejected(
                f"Order cannot be {verb} as it is already {_FINISHED_WORDS[order.status]}"
            )
        return order

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
        day_floor = int(datetime.now(IST).strftime("%y%m%d")) * 10**13
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
            now = _utcnow()
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
                and time.monotonic() - self._prices_saved_at >= PRICE_SAVE_INTERVAL_S
            ):
                self._commit([], durable=False)  # prices only: cheap, not fsync'ed
        self._publish(ticks, updates)
        return [trade for update in updates for trade in update.trades]

    def match(self, exchange: str, symbol: str) -> list[TradeReport]:
        """Run matching for one instrument again without a price change (partial fills)."""
        instrument = self.instrument_store.require(exchange, symbol)
        with self._lock:
            events = self._run_matching([instrument.key], _utcnow())
            updates = self._commit(events) if events else []
        self._publish((), updates)
        return [trade for update in updates for trade in update.trades]

    def _prices_event(self) -> dict:
        event = {
            "type": "prices",
            "prices": {price_key(*k): str(v) for k, v in self._unsaved_prices.items()},
        }
        self._unsaved_prices.clear()
        self._prices_saved_at = time.monotonic()
        return event

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

    # -- funds -----------------------------------------------------------------------------------

    def _cash(self) -> Decimal:
        return self._state.funds + self._state.realized_pnl()

    def _used_margin(self) -> Decimal:
        return used_margin(self._state, self.instrument_store.get)

    def _publish(self, ticks: Sequence[Tick], updates: Sequence[BrokerUpdate]) -> None:
        self._hub.publish(ticks, updates)
