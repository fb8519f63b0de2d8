"""The paper exchange's operator console: fault injection and broker-side changes for tests.

Mixed into PaperBroker. Everything here is public and meant for tests and demos:

- inject_rejection / inject_outcome_unknown / inject_unavailable: what the next
  `place_order` calls (one per injected count, first in, first out) do instead of the
  normal path;
- fill / reject_open_order: the exchange acts on an open order by itself;
- set_position / clear_position / set_funds: the broker's truth changes without any
  order (reconciliation mismatches).
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from desktop_oms.brokers.errors import BrokerRejected, OrderNotFoundAtBroker
from desktop_oms.brokers.paper.state import PaperOrder, PaperState
from desktop_oms.brokers.port import BrokerUpdate
from desktop_oms.domain import Product, TradeReport
from desktop_oms.domain.market import Tick
from desktop_oms.domain.money import to_decimal

if TYPE_CHECKING:
    from desktop_oms.marketdata.instruments import InstrumentStore


@dataclass(frozen=True, slots=True)
class Fault:
    kind: str  # reject | unknown | unavailable
    message: str
    accept: bool = False
    push_updates: bool = True


class PaperControls:
    # Provided by PaperBroker.
    _lock: threading.RLock
    _faults: deque[Fault]
    _state: PaperState
    instrument_store: InstrumentStore

    def _commit(self, events: list[dict], durable: bool = True) -> list[BrokerUpdate]:
        raise NotImplementedError

    def _publish(self, ticks: tuple[Tick, ...], updates: list[BrokerUpdate]) -> None:
        raise NotImplementedError

    def _trade_event(
        self, order: PaperOrder, quantity: int, price: Decimal, multiplier: Decimal, at: str
    ) -> dict:
        raise NotImplementedError

    # -- faults for the next place_order calls ----------------------------------------------

    def inject_rejection(
        self, message: str = "Order rejected by RMS (paper broker, injected)", count: int = 1
    ) -> None:
        """The next `count` place_order calls raise BrokerRejected(message); nothing is accepted."""
        self._add_fault(Fault("reject", message), count)

    def inject_outcome_unknown(
        self,
        accept: bool = True,
        count: int = 1,
        message: str = "Timed out waiting for the paper broker's response (injected)",
        push_updates: bool = True,
    ) -> None:
        """The next `count` place_order calls raise BrokerOutcomeUnknown.

        accept=True: the order is accepted (and matched) first, as if only the response
        was lost; its pushed updates are still delivered unless push_updates=False (as
        Kite's WebSocket would still report it). accept=False: nothing is accepted.
        """
        self._add_fault(Fault("unknown", message, accept=accept, push_updates=push_updates), count)

    def inject_unavailable(
        self, count: int = 1, message: str = "Paper broker unavailable (injected)"
    ) -> None:
        """The next `count` place_order calls raise BrokerUnavailable; nothing is accepted."""
        self._add_fault(Fault("unavailable", message), count)

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def _add_fault(self, fault: Fault, count: int) -> None:
        if isinstance(count, bool) or not isinstance(count, int) or count < 1:
            raise ValueError("count must be a positive whole number")
        with self._lock:
            self._faults.extend([fault] * count)

    # -- the exchange acting by itself ----------------------------------------------------------

    def _active_order(self, broker_order_id: str) -> PaperOrder:
        order = self._state.orders.get(str(broker_order_id))
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
    ) -> TradeReport:
        """Fill an open order now (default: all of what is pending, at its limit or the last price)."""
        with self._lock:
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
                price = (
                    order.price if order.price is not None else self._state.prices.get(order.key)
                )
                if price is None:
                    raise ValueError(
                        f"no price to fill order {broker_order_id} at: give one or set a last price"
                    )
            price = to_decimal(price, "fill price")
            if price <= 0:
                raise ValueError(f"fill price must be positive, got {price}")
            instrument = self.instrument_store.get(order.exchange, order.symbol)
            multiplier = instrument.multiplier if instrument is not None else Decimal(1)
            at = datetime.now(UTC).isoformat()
            events = []
            if order.order_type.needs_trigger and not order.triggered:
                events.append({"type": "triggered", "order_id": order.broker_order_id, "at": at})
            events.append(self._trade_event(order, quantity, price, multiplier, at))
            updates = self._commit(events)
        self._publish((), updates)
        return updates[-1].trades[0]

    def reject_open_order(
        self, broker_order_id: str, message: str = "Rejected by the exchange (paper broker)"
    ) -> None:
        """The exchange rejects an open order that has no fills yet."""
        with self._lock:
            order = self._active_order(broker_order_id)
            if order.filled_quantity:
                raise ValueError(
                    f"order {broker_order_id} has fills; a partly filled order cannot be rejected"
                )
            at = datetime.now(UTC).isoformat()
            updates = self._commit(
                [
                    {
                        "type": "rejected",
                        "order_id": order.broker_order_id,
                        "message": message,
                        "at": at,
                    }
                ]
            )
        self._publish((), updates)

    # -- broker-side truth changed without orders -------------------------------------------------

    def set_position(
        self,
        exchange: str,
        symbol: str,
        product: Product | str,
        quantity: int,
        average_price: Decimal | int | str,
    ) -> None:
        """Make the broker report this net position (signed quantity), whatever was traded."""
        product = Product(product.upper() if isinstance(product, str) else product)
        if isinstance(quantity, bool) or not isinstance(quantity, int):
            raise ValueError(f"quantity must be a whole number, got {quantity!r}")
        average = to_decimal(average_price, "average price")
        if average < 0 or (quantity and average == 0):
            raise ValueError(f"average price must be positive for an open position, got {average}")
        exchange, symbol = exchange.strip().upper(), symbol.strip().upper()
        instrument = self.instrument_store.get(exchange, symbol)
        multiplier = instrument.multiplier if instrument is not None else Decimal(1)
        event = {
            "type": "position_set",
            "exchange": exchange,
            "symbol": symbol,
            "product": product.value,
            "quantity": quantity,
            "average_price": str(average),
            "multiplier": str(multiplier),
            "at": datetime.now(UTC).isoformat(),
        }
        with self._lock:
            self._commit([event])

    def clear_position(self, exchange: str, symbol: str, product: Product | str) -> None:
        """Make the broker report this position flat."""
        self.set_position(exchange, symbol, product, 0, Decimal(0))

    def set_funds(self, amount: Decimal | int | str) -> None:
        """Set the account's opening cash (realized PnL is added on top)."""
        value = to_decimal(amount, "funds")
        with self._lock:
            self._commit([{"type": "funds", "amount": str(value)}])
