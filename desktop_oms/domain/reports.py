"""Broker data enters the OMS only as these reports (what the broker says is true)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from desktop_oms.domain.enums import OrderSide, OrderStatus, OrderType, Product


@dataclass(frozen=True, slots=True)
class OrderReport:
    broker_order_id: str
    client_order_id: str | None
    symbol: str
    exchange: str
    side: OrderSide
    order_type: OrderType
    product: Product
    quantity: int
    filled_quantity: int
    pending_quantity: int
    price: Decimal | None
    trigger_price: Decimal | None
    average_price: Decimal | None
    status: OrderStatus
    status_message: str | None
    timestamp: datetime
    # The broker's status was an interim one (Kite's UPDATE, MODIFY PENDING, CANCEL
    # PENDING, ...): the order is still working, but whether a stop has triggered is not
    # said. `status` is a guess for an order seen for the first time; a working order
    # keeps the status it has.
    interim: bool = False
    # Kite's market protection turned this MARKET / SL-M order into a LIMIT at the
    # protection price (tags "mktp", "mktp:2.00"): the percent, when the broker says it.
    protected: bool = False
    protection_pct: Decimal | None = None


@dataclass(frozen=True, slots=True)
class TradeReport:
    trade_id: str
    broker_order_id: str
    symbol: str
    exchange: str
    side: OrderSide
    quantity: int
    price: Decimal
    timestamp: datetime
    product: Product | None = None


@dataclass(frozen=True, slots=True)
class PositionReport:
    symbol: str
    exchange: str
    product: Product
    quantity: int
    average_price: Decimal
    multiplier: Decimal
    last_price: Decimal | None
