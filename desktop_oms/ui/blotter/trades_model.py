"""The trades tab's model: one row per execution, keyed by the broker's trade id."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from PySide6.QtCore import QObject

from desktop_oms.domain import Fill, OrderSide, Product
from desktop_oms.ui.common import (
    CENTER,
    Column,
    KeyedTableModel,
    enum_column,
    num_column,
    side_column,
    text_column,
    time_column,
)
from desktop_oms.ui.common import format as fmt


@dataclass(frozen=True, slots=True)
class TradeRow:
    trade_id: str
    order_id: int | None
    broker_order_id: str | None
    symbol: str
    exchange: str
    side: OrderSide
    quantity: int
    price: Decimal
    timestamp: datetime
    product: Product | None = None

    @property
    def value(self) -> Decimal:
        return self.price * self.quantity

    @classmethod
    def from_fill(cls, fill: Fill) -> TradeRow:
        return cls(
            trade_id=fill.trade_id,
            order_id=fill.order_id,
            broker_order_id=fill.broker_order_id,
            symbol=fill.symbol,
            exchange=fill.exchange,
            side=fill.side,
            quantity=fill.quantity,
            price=fill.price,
            timestamp=fill.timestamp,
            product=fill.product,
        )


TRADE_COLUMNS: tuple[Column, ...] = (
    time_column(
        "time", "Time", lambda t: t.timestamp, tooltip=lambda t: fmt.ist_datetime(t.timestamp)
    ),
    text_column("trade_id", "Trade ID", lambda t: t.trade_id),
    num_column(
        "order_id", "Order #", lambda t: t.order_id, display=lambda v: "" if v is None else str(v)
    ),
    text_column("broker_id", "Broker ID", lambda t: t.broker_order_id),
    text_column("symbol", "Symbol", lambda t: t.symbol),
    Column("exchange", "Exch", lambda t: t.exchange, sort=fmt.text_key, align=CENTER),
    side_column(lambda t: t.side),
    num_column("quantity", "Qty", lambda t: t.quantity, display=fmt.quantity),
    num_column("price", "Price", lambda t: t.price, display=fmt.price),
    num_column("value", "Value", lambda t: t.value, display=fmt.money),
    enum_column("product", "Product", lambda t: t.product),
)


class TradesModel(KeyedTableModel):
    """Executions keyed by trade id (a replayed fill updates its row, never duplicates it)."""

    def __init__(self, *, flush_interval_ms: int = 150, parent: QObject | None = None) -> None:
        super().__init__(
            TRADE_COLUMNS, lambda t: t.trade_id, flush_interval_ms=flush_interval_ms, parent=parent
        )
