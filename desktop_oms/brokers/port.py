"""The Broker port. Paper and Kite adapters implement it; the OMS depends only on this.

Broker data enters the OMS only as reports (OrderReport, TradeReport, PositionReport).
Pushed updates (paper fills, Kite WebSocket order updates) are delivered to listeners on
the event loop thread as a BrokerUpdate batch; the OMS still polls `orders()`/`trades()`
as a fallback.

The port is complete: every adapter has every member, so callers never probe with
hasattr/getattr. Where an adapter has nothing to say it answers plainly: the paper
broker's connection is always up and its session never expires; Kite settles at once
(its pushes arrive on their own) and knows the last prices it has streamed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Protocol, runtime_checkable

from desktop_oms.domain import (
    Gtt,
    GttRequest,
    Instrument,
    Order,
    OrderReport,
    OrderType,
    PositionReport,
    TradeReport,
    Variety,
)
from desktop_oms.domain.market import Funds, Tick


@dataclass(frozen=True, slots=True)
class BrokerUpdate:
    """A batch of pushed facts. Listeners run on the event loop thread."""

    orders: tuple[OrderReport, ...] = ()
    trades: tuple[TradeReport, ...] = ()


class StreamState(StrEnum):
    """A broker's live connection (Kite's WebSocket; the paper broker is always CONNECTED)."""

    IDLE = "idle"
    CONNECTING = "connecting"
    CONNECTED = "connected"
    RECONNECTING = "reconnecting"
    STOPPED = "stopped"
    EXPIRED = "expired"  # 401/403: the token is no longer valid; no more attempts


@dataclass(frozen=True, slots=True)
class StreamStatus:
    state: StreamState
    last_tick_at: datetime | None = None
    last_message_at: datetime | None = None
    connection_attempts: int = 0
    reconnects: int = 0
    error: str | None = None


UpdateListener = Callable[[BrokerUpdate], None]
TickListener = Callable[[Sequence[Tick]], None]
StreamStateListener = Callable[[StreamStatus], None]
SessionExpiredListener = Callable[[str], None]


@runtime_checkable
class InstrumentCatalog(Protocol):
    """The instruments a broker lists, by (exchange, symbol) (domain.catalog.InstrumentStore)."""

    def get(self, exchange: str, symbol: str) -> Instrument | None: ...

    def require(self, exchange: str, symbol: str) -> Instrument:
        """The instrument, or a KeyError (UnknownInstrument) naming it."""

    def __iter__(self) -> Iterator[Instrument]: ...

    def last_prices(self) -> dict[tuple[str, str], Decimal]:
        """Last prices the listing quoted (the previous close), where it quoted one."""

    def set_multiplier(self, exchange: str, symbol: str, multiplier: Decimal) -> Instrument | None:
        """The instrument takes this contract multiplier (Kite's positions show it); None
        if it is not listed."""


@runtime_checkable
class Broker(Protocol):
    name: str

    @property
    def instrument_store(self) -> InstrumentCatalog | None:
        """The instruments the broker lists (Kite: None until the app has read its dump)."""

    async def start(self) -> None:
        """Connect (sessions, streams). Idempotent."""

    async def close(self) -> None:
        """Release connections and threads. Idempotent."""

    async def place_order(self, order: Order) -> str:
        """Send the journaled order; return the broker order id.

        The order's client_order_id travels as the broker tag. Raises BrokerRejected when the
        broker refused it, BrokerOutcomeUnknown when the request may have reached the broker
        (find it by tag, never resend), BrokerUnavailable when it certainly did not.
        """

    async def modify_order(
        self,
        broker_order_id: str,
        *,
        quantity: int | None = None,
        price: Decimal | None = None,
        trigger_price: Decimal | None = None,
        order_type: OrderType | None = None,
        variety: Variety = Variety.REGULAR,
    ) -> None: ...

    async def cancel_order(
        self, broker_order_id: str, *, variety: Variety = Variety.REGULAR
    ) -> None: ...

    async def orders(self) -> list[OrderReport]: ...

    async def trades(self) -> list[TradeReport]: ...

    async def positions(self) -> list[PositionReport]: ...

    async def instruments(self) -> list[Instrument]: ...

    async def place_gtt(self, request: GttRequest) -> int:
        """Make a GTT rest at the broker; return its id (Kite's trigger id). Raises
        BrokerRejected when refused. Never resent: a lost answer is BrokerOutcomeUnknown
        (list the GTTs to see whether it exists)."""

    async def modify_gtt(self, gtt_id: int, request: GttRequest) -> None:
        """Replace an active GTT's triggers and legs (BrokerRejected if it is not active)."""

    async def delete_gtt(self, gtt_id: int) -> None:
        """Delete an active GTT (OrderNotFoundAtBroker if the broker has no such GTT)."""

    async def gtts(self) -> list[Gtt]:
        """The account's GTTs (active and recently finished), as the broker reports them."""

    async def funds(self, exchange: str | None = None) -> Funds | None:
        """Available margin of the segment an order on `exchange` draws on (Kite: MCX is
        its commodity segment), or None where the broker cannot say."""

    async def order_margins(self, order: Order) -> Decimal | None:
        """Margin the order would block now (given positions and orders), or None where
        the broker cannot say (the paper broker: without a price to value it at)."""

    async def settle(self) -> None:
        """Return once every order update the broker has made so far has reached the
        update listeners (the paper broker holds them until they are on its disk)."""

    def add_update_listener(self, listener: UpdateListener) -> None: ...

    def add_tick_listener(self, listener: TickListener) -> None: ...

    def subscribe(self, instruments: Sequence[tuple[str, str]], *, depth: bool = False) -> None:
        """Ask for ticks of these (exchange, symbol) pairs (no-op where all are streamed);
        with `depth`, ticks carrying the five best levels each side (Kite's full mode)."""

    def last_prices(self) -> dict[tuple[str, str], Decimal]:
        """The last price of each instrument the broker has seen a price of ({}: none)."""

    @property
    def stream_status(self) -> StreamStatus | None:
        """The live connection's state (Kite: None until its stream exists)."""

    def add_stream_state_listener(self, listener: StreamStateListener) -> None:
        """Told each new StreamStatus (any thread: store only)."""

    @property
    def session_expired(self) -> bool:
        """True once the broker refuses the session (log in again); cleared by a new one."""

    def add_session_expired_listener(self, listener: SessionExpiredListener) -> None:
        """Told once, with the reason, when the session is found expired."""
