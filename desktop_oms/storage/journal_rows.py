"""The journal's rows: record types read back, the statements (built once), and the
mappings between domain objects and rows, including the buffer of a group commit.

Used by `journal.OrderJournal`; nothing here touches a connection.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from json.encoder import encode_basestring_ascii as _json_text
from operator import attrgetter
from sys import intern

from sqlalchemy import bindparam
from sqlalchemy.exc import IntegrityError

from desktop_oms.domain import (
    Fill,
    Order,
    OrderSide,
    OrderStatus,
    OrderType,
    Position,
    Product,
    Validity,
    Variety,
)
from desktop_oms.domain.history import TradeRecord
from desktop_oms.infra.clock import utcnow
from desktop_oms.storage.tables import order_events, orders, trades
from desktop_oms.storage.types import decimal_text, utc_text

_MUTABLE = (
    "broker_order_id",
    "status",
    "status_message",
    "filled_quantity",
    "average_price",
    "quantity",
    "price",
    "trigger_price",
    "order_type",
    "modification_count",
    "protected_from",
    "updated_at",
)
_INSERTED = tuple(n for n in Order.__slots__ if n != "id")

# Statements built once. A statement built per call (`.values(**row)`) made SQLAlchemy
# regenerate its cache key on every order, most of the order path's CPU time.
_INSERT_ORDER = orders.insert()
_UPDATE_ORDER = (
    orders.update()
    .where(orders.c.id == bindparam("b_id"))
    .values({name: bindparam("b_" + name) for name in _MUTABLE})
)
# What a fill changes of its order; the rest of _MUTABLE is the order's terms.
_FILLED = ("filled_quantity", "average_price", "status", "updated_at")
_UPDATE_FILLED = (
    orders.update()
    .where(orders.c.id == bindparam("b_id"))
    .values({name: bindparam("b_" + name) for name in _FILLED})
)
_terms = attrgetter(*(name for name in _MUTABLE if name not in _FILLED))
_INSERT_EVENT = order_events.insert()
_INSERT_TRADE = trades.insert()
_EVENT_COLUMNS = ("order_id", "at", "event_type", "old_status", "new_status", "reason", "details")
_TRADE_COLUMNS = tuple(c.name for c in trades.columns if c.name != "id")


def _shared(text: str | None) -> str | None:
    """Texts many rows repeat (symbol, exchange, source, strategy) as one object each:
    ~54 bytes a field saved per row held (a blotter of 100,000 orders)."""
    return None if text is None else intern(text)


def order_from_row(row) -> Order:
    return Order(
        id=row.id,
        client_order_id=row.client_order_id,
        broker_order_id=row.broker_order_id,
        symbol=_shared(row.symbol),
        exchange=_shared(row.exchange),
        side=OrderSide(row.side),
        order_type=OrderType(row.order_type),
        product=Product(row.product),
        validity=Validity(row.validity),
        variety=Variety(row.variety),
        quantity=row.quantity,
        filled_quantity=row.filled_quantity,
        price=row.price,
        trigger_price=row.trigger_price,
        average_price=row.average_price,
        stop_loss=row.stop_loss,
        take_profit=row.take_profit,
        status=OrderStatus(row.status),
        status_message=row.status_message,
        strategy_id=_shared(row.strategy_id),
        parent_order_id=row.parent_order_id,
        source=_shared(row.source),
        modification_count=row.modification_count,
        slice_group=row.slice_group,
        protected_from=OrderType(row.protected_from) if row.protected_from else None,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _trade_from_row(r) -> TradeRecord:
    return TradeRecord(
        trade_id=r.trade_id,
        order_id=r.order_id,
        broker_order_id=r.broker_order_id,
        symbol=_shared(r.symbol),
        exchange=_shared(r.exchange),
        product=Product(r.product),
        side=OrderSide(r.side),
        quantity=r.quantity,
        price=r.price,
        multiplier=r.multiplier,
        realized_pnl=r.realized_pnl,
        timestamp=r.timestamp,
        charges=r.charges,
    )


def _plain(value):
    """Enum members as their stored value (StrEnum), everything else as it is."""
    return value.value if hasattr(value, "value") and not isinstance(value, Decimal) else value


def _order_values(order: Order, names: Iterable[str]) -> dict:
    return {name: _plain(getattr(order, name)) for name in names}


def _update_params(order: Order) -> dict:
    """Parameters of _UPDATE_ORDER (spelled out: this runs for every fill)."""
    return {
        "b_broker_order_id": order.broker_order_id,
        "b_status": order.status.value,
        "b_status_message": order.status_message,
        "b_filled_quantity": order.filled_quantity,
        "b_average_price": order.average_price,
        "b_quantity": order.quantity,
        "b_price": order.price,
        "b_trigger_price": order.trigger_price,
        "b_order_type": order.order_type.value,
        "b_modification_count": order.modification_count,
        "b_protected_from": order.protected_from.value if order.protected_from else None,
        "b_updated_at": order.updated_at,
        "b_id": order.id,
    }


# ---------------------------------------------------------------- group commit rows
# A group commit's rows go to the driver as tuples (storage.driver), built here straight
# from the domain objects: a dict per row, then a tuple taken from it and converted, was
# a sixth of the time of applying a fill. Each builder gives its statement's parameters
# in the compiled order (OrderJournal checks the names when it builds the statements),
# converted as the columns' types convert them (the tests compare every column with the
# generic mapping above).
TRADE_ROW = (
    "trade_id",
    "order_id",
    "broker_order_id",
    "symbol",
    "exchange",
    "product",
    "side",
    "quantity",
    "price",
    "multiplier",
    "realized_pnl",
    "timestamp",
    "recorded_at",
    "charges",
)
UPDATE_ROW = tuple(
    "b_" + name
    for name in (
        "broker_order_id",
        "order_type",
        "quantity",
        "filled_quantity",
        "price",
        "trigger_price",
        "average_price",
        "status",
        "status_message",
        "modification_count",
        "protected_from",
        "updated_at",
        "id",
    )
)
EVENT_ROW = _EVENT_COLUMNS
FILLED_ROW = tuple("b_" + name for name in (*_FILLED, "id"))


def _trade_row(fill: Fill, realized_pnl: Decimal, charges: Decimal, recorded_at) -> tuple:
    """_trade_values as the driver gets it (TRADE_ROW)."""
    return (
        fill.trade_id,
        fill.order_id,
        fill.broker_order_id,
        fill.symbol,
        fill.exchange,
        fill.product.value,
        fill.side.value,
        fill.quantity,
        decimal_text(fill.price),
        decimal_text(fill.multiplier),
        decimal_text(realized_pnl),
        utc_text(fill.timestamp),
        utc_text(recorded_at),
        decimal_text(charges),
    )


def _update_row(order: Order) -> tuple:
    """_update_params as the driver gets it (UPDATE_ROW)."""
    protected = order.protected_from
    return (
        order.broker_order_id,
        order.order_type.value,
        order.quantity,
        order.filled_quantity,
        decimal_text(order.price),
        decimal_text(order.trigger_price),
        decimal_text(order.average_price),
        order.status.value,
        order.status_message,
        order.modification_count,
        protected.value if protected is not None else None,
        utc_text(order.updated_at),
        order.id,
    )


def _filled_row(order: Order) -> tuple:
    """The columns a fill changes (FILLED_ROW), for an order whose terms the journal
    already has: updating every mutable column rewrote index entries of columns a fill
    leaves alone (the broker order id's unique index), a third of the UPDATE's time."""
    return (
        order.filled_quantity,
        decimal_text(order.average_price),
        order.status.value,
        utc_text(order.updated_at),
        order.id,
    )


def _event_row(order_id, event_type, old, new, reason, details_json, at) -> tuple:
    """_event_values as the driver gets it (EVENT_ROW); `details_json` already JSON."""
    return (
        order_id,
        utc_text(at or utcnow()),
        event_type,
        old.value if old is not None else None,
        new.value if new is not None else None,
        reason,
        details_json,
    )


def _trade_values(
    fill: Fill, realized_pnl: Decimal, charges: Decimal, recorded_at: datetime
) -> dict:
    return {
        "trade_id": fill.trade_id,
        "order_id": fill.order_id,
        "broker_order_id": fill.broker_order_id,
        "symbol": fill.symbol,
        "exchange": fill.exchange,
        "product": fill.product.value,
        "side": fill.side.value,
        "quantity": fill.quantity,
        "price": fill.price,
        "multiplier": fill.multiplier,
        "realized_pnl": realized_pnl,
        "charges": charges,
        "timestamp": fill.timestamp,
        "recorded_at": recorded_at,
    }


def _fill_event(fill: Fill) -> tuple[str, str]:
    """Reason and details (already JSON, as _details_json would write them) of a FILL event.
    Spelled out: json.dumps with options was a tenth of the time of applying a fill."""
    details = (
        f'{{"price": {_json_text(str(fill.price))}, "quantity": {int(fill.quantity)}, '
        f'"trade_id": {_json_text(fill.trade_id)}}}'
    )
    return f"filled {fill.quantity} @ {fill.price} (trade {fill.trade_id})", details


def _details_json(details: dict | str | None) -> str | None:
    """Event details as stored: JSON with sorted keys (non-JSON values as their text)."""
    if isinstance(details, str):
        return details
    return json.dumps(details, default=str, sort_keys=True) if details else None


def _is_duplicate_trade(exc: IntegrityError) -> bool:
    text = str(exc)
    return "uq_trades_exchange_trade_id" in text or "trades.exchange, trades.trade_id" in text


@dataclass(slots=True)
class _Batch:
    """Writes buffered by `OrderJournal.batch()`: the latest state of each order and
    position (one UPDATE / upsert each), every event and trade row in order (as the
    driver gets them: EVENT_ROW, TRADE_ROW). `changed_terms`: the orders changed other
    than by fills (every mutable column is written; for the others, the fill's)."""

    orders: dict[int, Order] = field(default_factory=dict)
    changed_terms: set[int] = field(default_factory=set)
    events: list[tuple] = field(default_factory=list)
    trades: list[tuple] = field(default_factory=list)
    positions: dict[tuple, Position] = field(default_factory=dict)

    def find(self, **match) -> Order | None:
        ((name, value),) = match.items()
        for order in self.orders.values():
            if getattr(order, name) == value:
                return order
        return None


def _event_values(order_id, event_type, old, new, reason, details, at) -> dict:
    return {
        "order_id": order_id,
        "at": at or utcnow(),
        "event_type": event_type,
        "old_status": old.value if old is not None else None,
        "new_status": new.value if new is not None else None,
        "reason": reason,
        "details": _details_json(details),
    }
