"""The paper broker: a small simulated exchange behind the same `Broker` port as Kite.

    broker = PaperBroker(state_path=None)                      # in memory
    broker = PaperBroker(state_path=data_dir / "paper.jsonl")  # survives restarts
    broker.set_last_price("NSE", "RELIANCE", Decimal("2450"))  # drives matching

Defaults: no slippage, no latency, unlimited liquidity at the last price. A MARKET order
and a marketable LIMIT (buy at or above the last price, sell at or below) fill at once,
in full, at the last price.

Layout: this module holds `PaperBroker` itself (construction, the Broker protocol,
listeners) and its settings; the rest are mixins - `paper_requests` (accepting and
modifying orders), `paper_market` (prices, matching passes, ticks), `paper_persistence`
(start-up, commits, compaction) and `paper_controls` (test hooks). The matching rules
are in `paper_matching`, exchange checks and margins in `paper_rules`, the book in
`paper_state` (its records in `paper_records`), durability in `paper_journal`.

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
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from desktop_oms.brokers.errors import BrokerOutcomeUnknown, BrokerRejected, BrokerUnavailable
from desktop_oms.brokers.paper.controls import Fault, PaperControls
from desktop_oms.brokers.paper.delivery import ListenerHub, RateLimiter
from desktop_oms.brokers.paper.journal import PaperJournal, PaperJournalCorrupt
from desktop_oms.brokers.paper.market import PaperMarketMixin
from desktop_oms.brokers.paper.matching import MatchingRules
from desktop_oms.brokers.paper.persistence import PaperPersistenceMixin
from desktop_oms.brokers.paper.requests import PaperRequestsMixin
from desktop_oms.brokers.paper.rules import used_margin
from desktop_oms.brokers.paper.state import PaperState
from desktop_oms.brokers.port import BrokerUpdate, TickListener, UpdateListener
from desktop_oms.domain import (
    Instrument,
    Order,
    OrderReport,
    OrderStatus,
    OrderType,
    PositionReport,
    TradeReport,
    Variety,
)
from desktop_oms.domain.market import Funds, Tick
from desktop_oms.domain.money import to_decimal
from desktop_oms.infra.clock import IST
from desktop_oms.marketdata.instruments import InstrumentStore, load_bundled_instruments

__all__ = ["PaperBroker", "PaperJournalCorrupt"]

log = logging.getLogger(__name__)

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


# The mixins come before PaperControls, whose stand-ins (_commit, _trade_event) they define.
class PaperBroker(PaperRequestsMixin, PaperMarketMixin, PaperPersistenceMixin, PaperControls):
    """Simulated exchange implementing `desktop_oms.brokers.port.Broker`."""

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
        self._held: list[BrokerUpdate] | None = None  # updates waiting for the disk
        self._held_mark = 0
        self._prices_saved_at = time.monotonic()
        self.subscribed: set[tuple[str, str]] = set()
        self._load(to_decimal(funds, "funds"))

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
            await self._durable()
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
            await self._durable()
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
            await self._durable()
            await self._after_request()
        finally:
            self._publish((), updates)

    async def settle(self) -> None:
        """Return once every order update made so far has reached the listeners (they
        wait for the journal's disk flush, then the hub's next loop turn)."""
        journal = self._journal
        while journal is not None and (
            self._held is not None or not journal.is_durable(journal.mark)
        ):
            try:
                await journal.durable(journal.mark)
            except OSError:
                break  # _deliver_held reported it and delivered what was held
            await asyncio.sleep(0)
        await asyncio.sleep(0)

    async def orders(self) -> list[OrderReport]:
        await self._before_request()
        await self._durable()
        with self._lock:
            return self._state.order_reports()  # built once per order change, not per call

    async def trades(self) -> list[TradeReport]:
        await self._before_request()
        await self._durable()
        with self._lock:
            return list(self._state.trades)

    async def positions(self) -> list[PositionReport]:
        await self._before_request()
        await self._durable()
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

    # -- funds -----------------------------------------------------------------------------------

    def _cash(self) -> Decimal:
        return self._state.funds + self._state.realized_pnl()

    def _used_margin(self) -> Decimal:
        return used_margin(self._state, self.instrument_store.get)

    def _publish(self, ticks: Sequence[Tick], updates: Sequence[BrokerUpdate]) -> None:
        """Ticks at once; order updates once the exchange's record of them is on disk.
        Updates made while earlier ones wait for the disk join them: they are delivered
        together, in order, as one batch (as a burst of fills would arrive)."""
        mark = self._journal.mark if self._journal is not None else 0
        if not updates or (not mark and self._held is None):
            self._hub.publish(ticks, updates)
            return
        self._hub.publish(ticks, ())
        if self._held is not None:
            self._held.extend(updates)
            self._held_mark = mark
            return
        self._held, self._held_mark = list(updates), mark
        self._journal.when_durable(mark, self._deliver_held)

    def _deliver_held(self, failure: OSError | None) -> None:
        if failure is None and not self._journal.is_durable(self._held_mark):
            # More joined while the disk worked: wait for theirs too.
            self._journal.when_durable(self._held_mark, self._deliver_held)
            return
        held, self._held = self._held or [], None
        if failure is not None:
            self._journal_failed(failure)  # applied in memory already: still reported
        self._hub.publish((), held)
