"""The order blotter's model: domain `Order` rows keyed by order id."""

from __future__ import annotations

from enum import StrEnum

from PySide6.QtCore import QObject

from desktop_oms.domain import Order, OrderStatus

from . import format as fmt
from . import theme
from .columns import CENTER, Column, KeyedTableModel, num_column, text_column, time_column


class OrderFilter(StrEnum):
    """Blotter filter. OPEN: not terminal. EXECUTED: anything with a fill (incl. partial)."""

    ALL = "All"
    OPEN = "Open"
    EXECUTED = "Executed"
    REJECTED = "Rejected"

    @classmethod
    def parse(cls, value: OrderFilter | str) -> OrderFilter:
        if isinstance(value, OrderFilter):
            return value
        text = str(value).strip().lower()
        for member in cls:
            if text in (member.value.lower(), member.name.lower()):
                return member
        raise ValueError(f"unknown order filter {value!r}")

    def accepts(self, order: Order) -> bool:
        if self is OrderFilter.OPEN:
            return order.status.is_active
        if self is OrderFilter.EXECUTED:
            return order.filled_quantity > 0
        if self is OrderFilter.REJECTED:
            return order.status is OrderStatus.REJECTED
        return True


def _status_tip(order: Order) -> str:
    parts = [fmt.enum_text(order.status)]
    if order.status_message:
        parts.append(order.status_message)
    parts.append(f"updated {fmt.local_datetime(order.updated_at)}")
    return " \u2014 ".join(parts)


ORDER_COLUMNS: tuple[Column, ...] = (
    time_column(
        "time", "Time", lambda o: o.created_at, tooltip=lambda o: fmt.local_datetime(o.created_at)
    ),
    text_column("client_id", "Client ID", lambda o: o.client_order_id),
    text_column("broker_id", "Broker ID", lambda o: o.broker_order_id),
    text_column(
        "symbol", "Symbol", lambda o: o.symbol, tooltip=lambda o: f"{o.exchange}:{o.symbol}"
    ),
    Column(
        "side",
        "Side",
        lambda o: o.side,
        display=fmt.enum_text,
        sort=fmt.text_key,
        align=CENTER,
        colour=lambda o: theme.side_colour(o.side),
    ),
    Column(
        "type",
        "Type",
        lambda o: o.order_type,
        display=fmt.enum_text,
        sort=fmt.text_key,
        align=CENTER,
    ),
    num_column("quantity", "Qty", lambda o: o.quantity, display=fmt.quantity),
    num_column("filled", "Filled", lambda o: o.filled_quantity, display=fmt.quantity),
    num_column("price", "Price", lambda o: o.price, display=fmt.price),
    num_column("trigger", "Trigger", lambda o: o.trigger_price, display=fmt.price),
    num_column("avg_price", "Avg price", lambda o: o.average_price, display=fmt.price),
    Column(
        "status",
        "Status",
        lambda o: o.status,
        display=fmt.enum_text,
        sort=fmt.text_key,
        align=CENTER,
        colour=lambda o: theme.status_colour(o.status),
        tooltip=_status_tip,
    ),
    text_column(
        "message", "Message", lambda o: o.status_message, tooltip=lambda o: o.status_message or None
    ),
    Column(
        "product",
        "Product",
        lambda o: o.product,
        display=fmt.enum_text,
        sort=fmt.text_key,
        align=CENTER,
    ),
    text_column("strategy", "Strategy", lambda o: o.strategy_id),
)


class OrdersModel(KeyedTableModel):
    """Orders keyed by `order.id`. Feed with queue_upsert(order) from OMS events.

    View: QTableView.setModel(model); setSortingEnabled(True) sorts numerically in the
    model; set_status_filter("Open") filters.
    """

    def __init__(self, *, flush_interval_ms: int = 150, parent: QObject | None = None) -> None:
        super().__init__(
            ORDER_COLUMNS, lambda o: o.id, flush_interval_ms=flush_interval_ms, parent=parent
        )
        self._status_filter = OrderFilter.ALL

    @property
    def status_filter(self) -> OrderFilter:
        return self._status_filter

    def set_status_filter(self, value: OrderFilter | str) -> None:
        """All / Open / Executed / Rejected (enum or its text, case-insensitive)."""
        value = OrderFilter.parse(value)
        if value is self._status_filter:
            return
        self._status_filter = value
        self.set_filter(None if value is OrderFilter.ALL else value.accepts)

    def open_orders(self) -> list[Order]:
        """Orders not yet terminal, filtered out or not (for "cancel all open")."""
        return [o for o in self._items if o.status.is_active]
