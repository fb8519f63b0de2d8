"""What the journal keeps and reads back, as plain values: an order's audit event, a
trade as recorded (with its charges and realized PnL), a reconciliation mismatch and the
action taken, a PnL snapshot. Storage reads and writes them; exports and the window show
them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from desktop_oms.domain.enums import OrderSide, OrderStatus, Product


@dataclass(frozen=True, slots=True)
class ReconciliationRecord:
    at: datetime
    kind: str
    symbol: str
    exchange: str
    product: str
    local_quantity: int
    broker_quantity: int
    action: str


@dataclass(frozen=True, slots=True)
class PnlSnapshot:
    at: datetime
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    total_pnl: Decimal
    charges: Decimal
    net_pnl: Decimal
    open_positions: int


@dataclass(frozen=True, slots=True)
class OrderEventRecord:
    id: int
    order_id: int
    at: datetime
    event_type: str
    old_status: OrderStatus | None
    new_status: OrderStatus | None
    reason: str | None
    details: dict | None


@dataclass(frozen=True, slots=True)
class TradeRecord:
    trade_id: str
    order_id: int
    broker_order_id: str | None
    symbol: str
    exchange: str
    product: Product
    side: OrderSide
    quantity: int
    price: Decimal
    multiplier: Decimal
    realized_pnl: Decimal
    timestamp: datetime
    charges: Decimal = Decimal(0)
