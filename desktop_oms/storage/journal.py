"""The order journal: orders, their append-only events, and trades (fills)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from json.encoder import encode_basestring_ascii as _json_text
from typing import TYPE_CHECKING

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.exc import IntegrityError

from ..domain import (
    ACTIVE_STATUSES,
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
from .driver import DriverStatement
from .position_store import POSITION_COLUMNS, position_row, upsert_statement
from .tables import order_events, orders, trades
from .types import utcnow

if TYPE_CHECKING:
    from .database import Database


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
_INSERT_EVENT = order_events.insert()
_INSERT_TRADE = trades.insert()
_EVENT_COLUMNS = ("order_id", "at", "event_type", "old_status", "new_status", "reason", "details")
_TRADE_COLUMNS = tuple(c.name for c in trades.columns if c.name != "id")


def order_from_row(row) -> Order:
    return Order(
        id=row.id,
        client_order_id=row.client_order_id,
        broker_order_id=row.broker_order_id,
        symbol=row.symbol,
        exchange=row.exchange,
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
        strategy_id=row.strategy_id,
        parent_order_id=row.parent_order_id,
        source=row.source,
        modification_count=row.modification_count,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def _trade_from_row(r) -> TradeRecord:
    return TradeRecord(
        trade_id=r.trade_id,
        order_id=r.order_id,
        broker_order_id=r.broker_order_id,
        symbol=r.symbol,
        exchange=r.exchange,
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
        "b_updated_at": order.updated_at,
        "b_id": order.id,
    }


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
    position (one UPDATE / upsert each), every event and trade row in order."""

    orders: dict[int, Order] = field(default_factory=dict)
    events: list[dict] = field(default_factory=list)
    trades: list[dict] = field(default_factory=list)
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


class OrderJournal:
    def __init__(self, db: Database) -> None:
        self._db = db
        self._batch: _Batch | None = None
        self._statements: dict[str, DriverStatement] | None = None

    # -------------------------------------------------------------- group commit
    @contextmanager
    def batch(self) -> Iterator[None]:
        """Group commit: order changes, events and fills recorded inside are buffered and
        written in one transaction when the block ends (all or none; an exception inside
        the block writes nothing). Reads by id see the buffered orders. For bursts of
        broker updates: one fsync for the burst instead of one per fill."""
        if self._batch is not None:
            raise RuntimeError("journal batches do not nest")
        self._batch = batch = _Batch()
        try:
            yield
        finally:
            self._batch = None
        self._flush(batch)

    def _flush(self, batch: _Batch) -> None:
        if not (batch.orders or batch.events or batch.trades or batch.positions):
            return
        statements = self._driver_statements()
        with self._db.write() as conn:
            statements["trades"].executemany(conn, batch.trades)
            statements["orders"].executemany(conn, map(_update_params, batch.orders.values()))
            statements["events"].executemany(conn, batch.events)
            statements["positions"].executemany(conn, map(position_row, batch.positions.values()))

    def _driver_statements(self) -> dict[str, DriverStatement]:
        if self._statements is None:
            dialect = self._db.engine.dialect
            self._statements = {
                "trades": DriverStatement(_INSERT_TRADE, dialect, list(_TRADE_COLUMNS)),
                "orders": DriverStatement(_UPDATE_ORDER, dialect),
                "events": DriverStatement(_INSERT_EVENT, dialect, list(_EVENT_COLUMNS)),
                "positions": DriverStatement(upsert_statement(), dialect, list(POSITION_COLUMNS)),
            }
        return self._statements

    @property
    def batching(self) -> bool:
        return self._batch is not None

    # -------------------------------------------------------------- writes
    def insert_pending(self, draft: Order, reason: str = "journaled before sending") -> Order:
        """Write a new PENDING order and its first event in one durable transaction."""
        if self._batch is not None:
            raise RuntimeError("new orders are never buffered: insert_pending inside a batch")
        values = _order_values(draft, _INSERTED)
        with self._db.write() as conn:
            order_id = conn.execute(_INSERT_ORDER, values).inserted_primary_key[0]
            conn.execute(
                _INSERT_EVENT,
                _event_values(
                    order_id, "CREATED", None, draft.status, reason, None, draft.created_at
                ),
            )
        return draft.copy(id=order_id)

    def save(
        self,
        before: Order,
        after: Order,
        event_type: str,
        reason: str | None = None,
        details: dict | None = None,
        conn: Connection | None = None,
    ) -> None:
        """Persist an order change and its audit event atomically."""
        if self._batch is not None and conn is None:
            self._buffer_save(self._batch, before, after, event_type, reason, details)
        elif conn is None:
            with self._db.write() as own:
                self._save(own, before, after, event_type, reason, details)
        else:
            self._save(conn, before, after, event_type, reason, details)

    @staticmethod
    def _buffer_save(batch: _Batch, before, after, event_type, reason, details) -> None:
        batch.orders[after.id] = after
        batch.events.append(
            _event_values(
                after.id, event_type, before.status, after.status, reason, details, after.updated_at
            )
        )

    def _save(self, conn, before, after, event_type, reason, details) -> None:
        conn.execute(_UPDATE_ORDER, _update_params(after))
        conn.execute(
            _INSERT_EVENT,
            _event_values(
                after.id, event_type, before.status, after.status, reason, details, after.updated_at
            ),
        )

    def add_event(
        self,
        order_id: int,
        event_type: str,
        reason: str | None,
        status: OrderStatus | None = None,
        details: dict | None = None,
    ) -> None:
        values = _event_values(order_id, event_type, status, status, reason, details, None)
        if self._batch is not None:
            self._batch.events.append(values)
            return
        with self._db.write() as conn:
            conn.execute(_INSERT_EVENT, values)

    def record_fill(
        self,
        fill: Fill,
        before: Order,
        after: Order,
        position: Position,
        realized_pnl: Decimal,
        charges: Decimal = Decimal(0),
    ) -> bool:
        """Trade row + order change + position in one transaction. False if the trade id is known.

        Inside `batch()` the rows are buffered (the caller dedups by trade id in memory; a
        duplicate reaching the database fails the whole batch, which writes nothing)."""
        trade_row = _trade_values(fill, realized_pnl, charges, after.updated_at or utcnow())
        reason, details = _fill_event(fill)
        if self._batch is not None:
            self._batch.trades.append(trade_row)
            self._buffer_save(self._batch, before, after, "FILL", reason, details)
            self._batch.positions[position.key] = position
            return True
        try:
            with self._db.write() as conn:
                conn.execute(_INSERT_TRADE, trade_row)
                self._save(conn, before, after, "FILL", reason, details)
                self._db.positions.upsert(position, conn=conn)
        except IntegrityError as exc:
            if _is_duplicate_trade(exc):
                return False
            raise
        return True

    # -------------------------------------------------------------- reads
    def get(self, order_id: int) -> Order | None:
        if self._batch is not None and order_id in self._batch.orders:
            return self._batch.orders[order_id]
        with self._db.read() as conn:
            row = conn.execute(orders.select().where(orders.c.id == order_id)).first()
        return None if row is None else order_from_row(row)

    def get_by_client_id(self, client_order_id: str) -> Order | None:
        if self._batch is not None and (found := self._batch.find(client_order_id=client_order_id)):
            return found
        with self._db.read() as conn:
            row = conn.execute(
                orders.select().where(orders.c.client_order_id == client_order_id)
            ).first()
        return None if row is None else order_from_row(row)

    def get_by_broker_id(self, broker_order_id: str) -> Order | None:
        if self._batch is not None and (found := self._batch.find(broker_order_id=broker_order_id)):
            return found
        with self._db.read() as conn:
            row = conn.execute(
                orders.select().where(orders.c.broker_order_id == broker_order_id)
            ).first()
        return None if row is None else order_from_row(row)

    def list_orders(
        self,
        *,
        active_only: bool = False,
        statuses: Iterable[OrderStatus] | None = None,
        strategy_id: str | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> list[Order]:
        query = orders.select()
        if active_only:
            statuses = ACTIVE_STATUSES
        if statuses is not None:
            query = query.where(orders.c.status.in_([s.value for s in statuses]))
        if strategy_id is not None:
            query = query.where(orders.c.strategy_id == str(strategy_id))
        if since is not None:
            query = query.where(orders.c.created_at >= since)
        query = query.order_by(orders.c.id)
        if limit is not None:
            query = query.order_by(None).order_by(orders.c.id.desc()).limit(limit)
        with self._db.read() as conn:
            # Streamed: fetching 100,000 rows at once held every raw row and its Order together.
            rows = conn.execution_options(yield_per=2_000).execute(query)
            result = [order_from_row(r) for r in rows]
        if limit is not None:
            result.reverse()
        return result

    def events(self, order_id: int) -> list[OrderEventRecord]:
        with self._db.read() as conn:
            rows = conn.execute(
                order_events.select()
                .where(order_events.c.order_id == order_id)
                .order_by(order_events.c.id)
            ).all()
        return [
            OrderEventRecord(
                id=r.id,
                order_id=r.order_id,
                at=r.at,
                event_type=r.event_type,
                old_status=OrderStatus(r.old_status) if r.old_status else None,
                new_status=OrderStatus(r.new_status) if r.new_status else None,
                reason=r.reason,
                details=json.loads(r.details) if r.details else None,
            )
            for r in rows
        ]

    def trades(
        self, *, order_id: int | None = None, since: datetime | None = None
    ) -> list[TradeRecord]:
        query = trades.select().order_by(trades.c.id)
        if order_id is not None:
            query = query.where(trades.c.order_id == order_id)
        if since is not None:
            query = query.where(trades.c.timestamp >= since)
        with self._db.read() as conn:
            rows = conn.execute(query).all()
        return [_trade_from_row(r) for r in rows]

    def last_client_order_id(self, prefix: str) -> str | None:
        """Highest client order id with this prefix (ids are fixed-width and time-first)."""
        with self._db.read() as conn:
            return conn.execute(
                select(func.max(orders.c.client_order_id)).where(
                    orders.c.client_order_id.like(prefix + "%")
                )
            ).scalar()

    def trade_keys(self, since: datetime | None = None) -> set[tuple[str, str]]:
        """(exchange, trade id) of the trades recorded (executed at or after `since`)."""
        query = select(trades.c.exchange, trades.c.trade_id)
        if since is not None:
            query = query.where(trades.c.timestamp >= since)
        with self._db.read() as conn:
            return {(r.exchange, r.trade_id) for r in conn.execute(query)}

    def filled_by_trades(self, order_id: int) -> int:
        with self._db.read() as conn:
            return int(
                conn.execute(
                    select(func.coalesce(func.sum(trades.c.quantity), 0)).where(
                        trades.c.order_id == order_id
                    )
                ).scalar()
            )

    def realized_since(self, since: datetime) -> Decimal:
        total = Decimal(0)
        for t in self.trades(since=since):
            total += t.realized_pnl
        return total
