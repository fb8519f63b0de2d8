"""PaperBroker: the Broker port in front of a simulated exchange.

    broker = PaperBroker(state_path=None)                      # in memory
    broker = PaperBroker(state_path=data_dir / "paper.jsonl")  # survives restarts
    broker = PaperBroker(config=PaperConfig(max_fill_quantity=100))
    broker = PaperBroker(max_fill_quantity=100)                # the same, shorter
    broker.set_last_price("NSE", "RELIANCE", Decimal("2450"))  # drives matching
    broker = PaperBroker(instruments=store, derivatives=PaperDerivatives(store, rules, now=...))
    broker.set_last_price("NSE", "NIFTY 50", Decimal("26350"))  # its options follow

Defaults (`PaperConfig()`): no slippage, no latency, unlimited liquidity at the last
price. A MARKET order and a marketable LIMIT (buy at or above the last price, sell at or
below) fill at once, in full, at the last price. Ticks carry a five-level book around
the last price (depth.py; the best bid and ask, the day's volume); with
`book_fills=True` (the app, with its simulated market) marketable orders take that
book's levels instead. The broker knows no prices until it is
told (set_last_price(s), or a simulated market starting from the instruments' last
prices).

`PaperBroker` composes, and holds no state of its own beyond them:

- `SimulatedExchange` (exchange.py): the book, exchange checks, margin, prices, matching
  passes, ids; every change is a list of events;
- `PaperStore` (store.py): the journal the events go through before they reach the book
  (replayed on load, compacted when large, flushed by its own thread);
- `Delivery` and `RequestPacing` (delivery.py): listeners, updates held until the disk
  has them, latency and the rate limiter;
- `FaultInjector` (controls.py): faults for the next order requests.

GTTs: `place_gtt` / `modify_gtt` / `delete_gtt` / `gtts` keep Kite's GTTs in the same
journal; a price pass fires them (paper/gtt.py): the leg's LIMIT order enters the book
like any order (no tag), and its updates are pushed like any order's.

Pushed updates: every state change (accept, trigger, fill, modify, cancel, reject) is one
BrokerUpdate holding the order's report at that moment (and the trade, for a fill). A
request's updates are delivered on the loop once the request has returned and its
record is on disk; those of a price update the same way when a loop is running, else
synchronously.

Test hooks (public): inject_rejection, inject_outcome_unknown, inject_unavailable (each
for the next place_order calls), clear_faults, fill, reject_open_order, set_position,
clear_position, set_funds, match, compact.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from desktop_oms.brokers.errors import BrokerOutcomeUnknown, BrokerRejected, BrokerUnavailable
from desktop_oms.brokers.paper.config import PaperConfig
from desktop_oms.brokers.paper.controls import FaultInjector
from desktop_oms.brokers.paper.delivery import Delivery, RequestPacing
from desktop_oms.brokers.paper.depth import DepthBook
from desktop_oms.brokers.paper.exchange import PriceDeriver, SimulatedExchange, opening_event
from desktop_oms.brokers.paper.matching import MatchingRules
from desktop_oms.brokers.paper.state import PaperState
from desktop_oms.brokers.paper.store import PaperStore
from desktop_oms.brokers.port import (
    BrokerUpdate,
    InstrumentCatalog,
    SessionExpiredListener,
    StreamState,
    StreamStateListener,
    StreamStatus,
    TickListener,
    UpdateListener,
)
from desktop_oms.domain import (
    Instrument,
    MarketQuote,
    Order,
    OrderReport,
    OrderType,
    PositionReport,
    Product,
    TradeReport,
    Variety,
)
from desktop_oms.domain.catalog import InstrumentStore, parse_instruments
from desktop_oms.domain.gtt import Gtt, GttRequest
from desktop_oms.domain.market import Funds
from desktop_oms.infra.resources import resource_path

__all__ = ["PaperBroker"]

_CONNECTED = StreamStatus(StreamState.CONNECTED)
PAPER_INSTRUMENTS_FILE = "instruments_paper.csv"  # resources/: what paper mode lists


def bundled_instruments() -> InstrumentStore:
    """The instruments the paper exchange lists unless told otherwise (Kite's CSV format)."""
    path = resource_path(PAPER_INSTRUMENTS_FILE)
    with path.open(encoding="utf-8-sig", newline="") as stream:
        parsed = parse_instruments(stream, str(path))
    return InstrumentStore(parsed.instruments, parsed.last_prices)


class PaperBroker:
    """A simulated exchange behind `desktop_oms.brokers.port.Broker`."""

    name = "paper"

    def __init__(
        self,
        state_path: Path | str | None = None,
        instruments: InstrumentCatalog | None = None,
        config: PaperConfig | None = None,
        derivatives: PriceDeriver | None = None,
        **settings: Any,
    ) -> None:
        """
        state_path: JSON-lines journal of the book (None: in memory only).
        instruments: what can be traded (default: the bundled paper-mode file).
        config: the market model, the account and the journal's tuning (PaperConfig()).
        derivatives: prices index futures and options from their index (marketdata's
            PaperDerivatives over the same `instruments`); None: none are derived.
        settings: PaperConfig fields by name (slippage_bps=, latency_s=,
            max_fill_quantity=, funds=, seed=, requests_per_second=, ...), over `config`.
        """
        self.config = replace(config or PaperConfig(), **settings)
        config = self.config
        catalog = instruments if instruments is not None else bundled_instruments()
        self.state_path = Path(state_path) if state_path is not None else None
        self.subscribed: set[tuple[str, str]] = set()
        self._pacing = RequestPacing(
            config.latency_s,
            config.requests_per_second,
            config.order_rate_limits,
            config.order_wait_limit_s,
        )
        lock = threading.RLock()  # the book's: the exchange's requests, the store's rewrites
        state = PaperState()
        self._store = PaperStore(state, self.state_path, config, lock)
        self._store.load(lambda: opening_event(config.funds, config.seed, config.clock()))
        self._exchange = SimulatedExchange(
            catalog,
            state,
            self._store,
            rules=MatchingRules(
                slippage_bps=config.slippage_bps,
                max_fill_quantity=config.max_fill_quantity,
                market_protection_pct=config.market_protection_pct,
            ),
            clock=config.clock,
            lock=lock,
            deriver=derivatives,
            book=DepthBook(config.depth_levels, config.seed) if config.depth_levels else None,
            book_fills=config.book_fills,
            price_band_pct=config.price_band_pct,
            mis_cutoffs=config.mis_cutoffs,
        )
        self._delivery = Delivery(self._store)
        self._faults = FaultInjector()

    @property
    def instrument_store(self) -> InstrumentCatalog:
        """The instruments the exchange lists."""
        return self._exchange.instruments

    # ====================================================================================
    # Broker port: lifecycle and requests
    # ====================================================================================

    async def start(self) -> None:
        self._delivery.bind_loop()

    async def close(self) -> None:
        self._store.close()

    async def place_order(self, order: Order) -> str:
        await self._enter(order_request=True)
        updates: list[BrokerUpdate] = []
        try:
            fault = self._faults.next()
            if fault is not None and fault.kind == "reject":
                raise BrokerRejected(fault.message)
            if fault is not None and fault.kind == "unavailable":
                raise BrokerUnavailable(fault.message)
            if fault is not None and not fault.accept:
                raise BrokerOutcomeUnknown(fault.message)
            try:
                broker_order_id, updates = self._exchange.accept(order)
            except BrokerRejected:
                if fault is not None:  # the response (a rejection) was lost
                    raise BrokerOutcomeUnknown(fault.message) from None
                raise
            await self._store.wait_durable()
            if fault is not None:
                if not fault.push_updates:
                    updates = []
                raise BrokerOutcomeUnknown(fault.message)
            await self._pacing.after()
            return broker_order_id
        finally:
            self._delivery.publish((), updates)

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
        await self._enter(order_request=True, kind="modify")
        updates: list[BrokerUpdate] = []
        try:
            updates = self._exchange.modify(
                broker_order_id, quantity, price, trigger_price, order_type
            )
            await self._store.wait_durable()
            await self._pacing.after()
        finally:
            self._delivery.publish((), updates)

    async def cancel_order(
        self, broker_order_id: str, *, variety: Variety = Variety.REGULAR
    ) -> None:
        await self._enter(order_request=True, kind="cancel")
        updates: list[BrokerUpdate] = []
        try:
            updates = self._exchange.cancel(broker_order_id)
            await self._store.wait_durable()
            await self._pacing.after()
        finally:
            self._delivery.publish((), updates)

    async def place_gtt(self, request: GttRequest) -> int:
        """A GTT resting at the paper exchange (journaled; fired by its price passes)."""
        await self._enter(order_request=True)
        gtt_id = self._exchange.place_gtt(request)
        await self._store.wait_durable()
        return gtt_id

    async def modify_gtt(self, gtt_id: int, request: GttRequest) -> None:
        await self._enter(order_request=True)
        self._exchange.modify_gtt(gtt_id, request)
        await self._store.wait_durable()

    async def delete_gtt(self, gtt_id: int) -> None:
        await self._enter(order_request=True)
        self._exchange.delete_gtt(gtt_id)
        await self._store.wait_durable()

    async def gtts(self) -> list[Gtt]:
        await self._enter()
        await self._store.wait_durable()
        return self._exchange.gtts()

    async def settle(self) -> None:
        """Return once every order update made so far has reached the listeners."""
        await self._delivery.settle()

    async def _enter(self, order_request: bool = False, kind: str = "place") -> None:
        self._delivery.bind_loop()
        await self._pacing.before(order_request, kind=kind)

    # ====================================================================================
    # Broker port: the book and the account
    # ====================================================================================

    async def orders(self) -> list[OrderReport]:
        await self._enter()
        await self._store.wait_durable()
        return self._exchange.order_reports()

    async def trades(self) -> list[TradeReport]:
        await self._enter()
        await self._store.wait_durable()
        return self._exchange.trades()

    async def positions(self) -> list[PositionReport]:
        await self._enter()
        await self._store.wait_durable()
        return self._exchange.position_reports()

    async def instruments(self) -> list[Instrument]:
        return list(self.instrument_store)

    async def funds(self, exchange: str | None = None) -> Funds:
        """One account for every exchange (the paper broker has no segments)."""
        await self._enter()
        return self._exchange.funds()

    async def order_margins(self, order: Order) -> Decimal | None:
        """What the exchange would block for the order now (domain/margin.py's model, as
        its own funds check), or None without a price to value it at."""
        await self._enter()
        return self._exchange.order_margin(order)

    # ====================================================================================
    # Broker port: listeners and market data
    # ====================================================================================

    def add_update_listener(self, listener: UpdateListener) -> None:
        self._delivery.hub.update_listeners.append(listener)

    def remove_update_listener(self, listener: UpdateListener) -> None:
        if listener in self._delivery.hub.update_listeners:
            self._delivery.hub.update_listeners.remove(listener)

    def add_tick_listener(self, listener: TickListener) -> None:
        self._delivery.hub.tick_listeners.append(listener)

    def remove_tick_listener(self, listener: TickListener) -> None:
        if listener in self._delivery.hub.tick_listeners:
            self._delivery.hub.tick_listeners.remove(listener)

    # The paper exchange runs in-process: its connection is always up and its session
    # never expires, so these listeners are never called.

    @property
    def stream_status(self) -> StreamStatus:
        return _CONNECTED

    def add_stream_state_listener(self, listener: StreamStateListener) -> None:
        """Never called: the connection never changes state."""

    @property
    def session_expired(self) -> bool:
        return False

    def add_session_expired_listener(self, listener: SessionExpiredListener) -> None:
        """Never called: the session never expires."""

    def subscribe(self, instruments: Sequence[tuple[str, str]], *, depth: bool = False) -> None:
        """The paper broker streams ticks of every instrument it prices (with the best
        bid and ask); with `depth`, these instruments' ticks carry their book's five
        levels from now on (Kite's full mode), and a tick of each already priced comes
        at once."""
        self.subscribed.update((str(e).upper(), str(s).upper()) for e, s in instruments)
        if depth:
            ticks = self._exchange.stream_depth(instruments)
            if ticks:
                self._delivery.publish(ticks, ())

    def last_price(self, exchange: str, symbol: str) -> Decimal | None:
        return self._exchange.last_price(exchange, symbol)

    def circuit_limits(self, exchange: str, symbol: str) -> tuple[Decimal, Decimal] | None:
        """The paper exchange's circuit limits (lower, upper) now, or None: what it
        refuses prices outside of (PaperConfig.price_band_pct around the last price)."""
        return self._exchange.circuit_limits(exchange, symbol)

    def last_prices(self) -> dict[tuple[str, str], Decimal]:
        return self._exchange.last_prices()

    def quote(self, exchange: str, symbol: str) -> MarketQuote | None:
        """The last quote (bid/ask, volume, open interest) of an index derivative priced
        from its index; None for anything else."""
        return self._exchange.quote(exchange, symbol)

    def set_last_price(
        self, exchange: str, symbol: str, price: Decimal | int | str
    ) -> list[TradeReport]:
        """Set one instrument's last price and match its orders. Returns the new trades."""
        return self.set_last_prices({(exchange, symbol): price})

    def set_last_prices(
        self,
        prices: Mapping[tuple[str, str] | str, Decimal | int | str],
        *,
        coalesce: bool = False,
    ) -> list[TradeReport]:
        """Set last prices (keys (exchange, symbol) or "EXCHANGE:SYMBOL"), match, push ticks.
        An index's price prices its futures and options too (all of them; with `coalesce`,
        a continuous feed's, far expiries follow in turn: see PaperDerivatives.derive).

        Unknown instruments raise UnknownInstrument (a KeyError); a price that is not a
        positive number raises ValueError. Nothing changes unless every entry is valid.
        """
        ticks, updates = self._exchange.set_prices(prices, coalesce=coalesce)
        self._delivery.publish(ticks, updates)
        return [trade for update in updates for trade in update.trades]

    def match(self, exchange: str, symbol: str) -> list[TradeReport]:
        """Run matching for one instrument again without a price change (partial fills)."""
        updates = self._exchange.match(exchange, symbol)
        self._delivery.publish((), updates)
        return [trade for update in updates for trade in update.trades]

    # ====================================================================================
    # The journal
    # ====================================================================================

    def compact(self) -> None:
        """Rewrite the journal as one snapshot record (done on load when it is large)."""
        self._store.compact()

    # ====================================================================================
    # Operator controls (tests and demos)
    # ====================================================================================

    def inject_rejection(
        self, message: str = "Order rejected by RMS (paper broker, injected)", count: int = 1
    ) -> None:
        """The next `count` place_order calls raise BrokerRejected(message); nothing is accepted."""
        self._faults.inject_rejection(message, count)

    def inject_outcome_unknown(
        self,
        accept: bool = True,
        count: int = 1,
        message: str = "Timed out waiting for the paper broker's response (injected)",
        push_updates: bool = True,
    ) -> None:
        """The next `count` place_order calls raise BrokerOutcomeUnknown (see FaultInjector)."""
        self._faults.inject_outcome_unknown(accept, count, message, push_updates)

    def inject_unavailable(
        self, count: int = 1, message: str = "Paper broker unavailable (injected)"
    ) -> None:
        """The next `count` place_order calls raise BrokerUnavailable; nothing is accepted."""
        self._faults.inject_unavailable(count, message)

    def clear_faults(self) -> None:
        self._faults.clear()

    def fill(
        self,
        broker_order_id: str,
        quantity: int | None = None,
        price: Decimal | int | str | None = None,
    ) -> TradeReport:
        """Fill an open order now (default: all of what is pending, at its limit or the last price)."""
        updates = self._exchange.fill(broker_order_id, quantity, price)
        self._delivery.publish((), updates)
        return updates[-1].trades[0]

    def reject_open_order(
        self, broker_order_id: str, message: str = "Rejected by the exchange (paper broker)"
    ) -> None:
        """The exchange rejects an open order that has no fills yet."""
        self._delivery.publish((), self._exchange.reject(broker_order_id, message))

    def set_position(
        self,
        exchange: str,
        symbol: str,
        product: Product | str,
        quantity: int,
        average_price: Decimal | int | str,
    ) -> None:
        """Make the broker report this net position (signed quantity), whatever was traded."""
        self._exchange.set_position(exchange, symbol, product, quantity, average_price)

    def clear_position(self, exchange: str, symbol: str, product: Product | str) -> None:
        """Make the broker report this position flat."""
        self.set_position(exchange, symbol, product, 0, Decimal(0))

    def set_funds(self, amount: Decimal | int | str) -> None:
        """Set the account's opening cash (realized PnL is added on top)."""
        self._exchange.set_funds(amount)
