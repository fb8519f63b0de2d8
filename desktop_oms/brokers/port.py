"""The Broker port. Paper and Kite adapters implement it; the OMS depends only on this.

Broker data enters the OMS only as reports (OrderReport, TradeReport, PositionReport).
Pushed updates (paper fills, Kite WebSocket order updates) are delivered to listeners on
the event loop thread as a BrokerUpdate batch; the OMS still polls `orders()`/`trades()`
as a fallback.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol, runtime_checkable

from desktop_oms.domain import (
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


UpdateListener = Callable[[BrokerUpdate], None]
TickListener = Callable[[Sequence[Tick]], None]


@runtime_checkable
class InstrumentCatalog(Protocol):
    """The instruments a broker lists, by (exchange, symbol) (marketdata's InstrumentStore)."""

    def get(self, exchange: str, symbol: str) -> Instrument | None: ...

    def require(self, exchange: str, symbol: str) -> Instrument:
        """The instrument, or a KeyError (UnknownInstrument) naming it."""

    def __iter__(self) -> Iterator[Instrument]: ...

    def last_prices(self) -> dict[tuple[str, str], Decimal]:
        """Last prices the listing quoted (the previous close), where it quoted one."""


@runtime_checkable
class Broker(Protocol):
    name: str

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

    async def funds(self) -> Funds | None:
        """Available margin, or None where the broker cannot say."""

    def add_update_listener(self, listener: UpdateListener) -> None: ...

    def add_tick_listener(self, listener: TickListener) -> None: ...

    def subscribe(self, instruments: Sequence[tuple[str, str]]) -> None:
        """Ask for ticks of these (exchange, symbol) pairs (no-op where all are streamed)."""
